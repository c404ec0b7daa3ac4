"""The floor of bench/burst: a minimal stdlib asyncio receiver, and the simplest competent burst sender.

    python bench/_floor.py serve                        prints its port (127.0.0.1), then answers 200
    python bench/_floor.py send URL BODIES.json SECRET  POSTs every body once; prints how many got 200

``serve``: an ``asyncio.Protocol`` speaking just enough HTTP/1.1 (keep-alive, Content-Length bodies):
every request gets ``200`` and a 2-byte body in one write, Nagle off. No framework, so the receiver
takes as little of the shared CPUs as a receiver can.

``send``: the same job as ``connect-hooks send TARGET URL --count N --fast``, done the textbook way.
A fixed pool of CONCURRENCY workers pulls from one iterator over the bodies (no task per request, no
semaphore) and shares one ``httpx.AsyncClient``; per notification a worker makes a fresh gtrid
(uuid4), signs the exact body bytes with HMAC-SHA256 keyed with the hub secret, sends the Webex
Connect headers (Content-Type, User-Agent, x-wx-gtrid, x-hub-signature), reads the answer and counts
a 200. The bodies are those connect-hooks rendered (read from its --log), so both sides send the
same bytes. Left out, as the floor of any sender: retries (the receiver answers 200), records,
logging, output. The client is set up as a competent author would for a plain-http loopback URL
(no CA bundle loaded, no proxy lookup from the environment, the URL parsed once, one whole-request
deadline of 10 s), and httpx is imported without its command-line module (see ``send``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

CONCURRENCY = 10
ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


class Answer(asyncio.Protocol):
    """One connection: answers each complete request with ANSWER."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""
        self.body_left = -1  # -1: reading a head
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        while True:
            if self.body_left < 0:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    break
                self.body_left = _content_length(buffer[:end])
                buffer = buffer[end + 4 :]
            if len(buffer) < self.body_left:
                self.body_left -= len(buffer)
                buffer = b""
                break
            buffer = buffer[self.body_left :]
            self.body_left = -1
            self.transport.write(ANSWER)
        self.buffer = buffer


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Answer, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


async def send(url: str, bodies: list[bytes], secret: bytes) -> int:
    # Without httpx's command-line extra (as a venv holding only httpx has it): with click and rich
    # installed (connect-hooks needs them), `import httpx` loads them for its CLI, 90 ms of CPU.
    # connect-hooks skips it the same way (cli/main.py).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    import httpx

    target = httpx.URL(url)  # parsed once, as connect-hooks does, not once per request
    jobs: Iterator[bytes] = iter(bodies)
    delivered = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal delivered
        for body in jobs:
            gtrid = str(uuid.uuid4())
            signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "bench-floor/1.0",
                "x-wx-gtrid": gtrid,
                "x-hub-signature": signature,
            }
            try:
                async with asyncio.timeout(10):
                    response = await client.post(target, content=body, headers=headers)
            except (TimeoutError, httpx.TransportError):
                continue
            delivered += response.status_code == 200

    async with httpx.AsyncClient(verify=False, trust_env=False, timeout=None) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return delivered


def main() -> None:
    if sys.argv[1:2] == ["serve"]:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
        return
    url, path, secret = sys.argv[2:5]
    bodies = [body.encode() for body in json.loads(Path(path).read_text(encoding="utf-8"))]
    print(asyncio.run(send(url, bodies, secret.encode())))


if __name__ == "__main__":
    main()
