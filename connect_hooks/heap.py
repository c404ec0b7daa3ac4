"""The process's heap: one setting of glibc's malloc that every network command wants."""

from __future__ import annotations

#: A block freed once, bigger than asyncio's 256 KiB read buffer: see ``settle_malloc``.
SETTLE_BLOCK = 1024 * 1024


def settle_malloc() -> None:
    """Have glibc's malloc serve asyncio's read buffers from its heap, not from fresh mmaps.

    asyncio reads a socket into a new 256 KiB buffer, then shrinks it to what arrived. glibc maps a
    block that big with mmap until its mmap threshold has grown, which happens when a mapped block
    above the threshold is freed; until then every read costs mmap, mremap, munmap and a page
    fault. Whether a process got there depends on what it happened to free before: a bare uvicorn
    app had, ``listen`` had not (1.9 page faults and 1.5 syscalls per request more, a fifth of its
    throughput); a bare httpx script had (loading the CA certificates), ``send`` to a plain-http
    URL, which loads none, had not (three syscalls per answer read). Freeing one mapped block of
    1 MiB moves the threshold past the read buffer for good. With another malloc, this is one
    allocation and nothing more. Called by ``server.serving`` and ``transport.make_client``.
    """
    block = bytes(SETTLE_BLOCK)  # calloc: mapped, and not written to
    del block
