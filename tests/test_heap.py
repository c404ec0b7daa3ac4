"""heap.py: what the receiver (before serving) and the sender (making its client) do to malloc."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

# In a fresh interpreter (whatever the test process has freed so far does not count): how many mapped
# blocks one 300 KiB allocation adds, the size of asyncio's read buffer plus some, after ``settle_malloc``.
MAPPED_BY_A_READ_BUFFER = """
import ctypes
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
{settle}
before = libc.mallinfo2().hblks
block = bytes(300 * 1024)
print(libc.mallinfo2().hblks - before)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="how glibc's malloc maps large blocks")
@pytest.mark.parametrize(
    "settle",
    [
        "from connect_hooks.heap import settle_malloc; settle_malloc()",
        # send, check, conform, replay: the sender's client is made there (a plain-http URL loads no CA
        # certificates, whose loading had settled malloc by chance in a bare httpx script)
        "from connect_hooks.client.transport import make_client; make_client(tls=False)",
    ],
)
def test_after_settling_a_read_buffer_comes_from_the_heap_not_a_fresh_mapping(settle: str) -> None:
    # Unsettled, listen and send mapped (and unmapped) asyncio's 256 KiB buffer on every read.
    script = MAPPED_BY_A_READ_BUFFER.replace("{settle}", settle)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == "0\n"
