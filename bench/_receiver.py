"""A bare uvicorn app on 127.0.0.1 (OS-assigned port) for the benchmarks; prints its port, then serves.

Usage: python bench/_receiver.py STATUS [DELAY_SECONDS]
Answers every POST with STATUS (after DELAY_SECONDS); HEAD with 200. Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import uvicorn


def main() -> None:
    status = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        if delay:
            await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    # IPPROTO_TCP, as uvicorn's own bind (getaddrinfo) gives: asyncio switches Nagle off (TCP_NODELAY)
    # only for sockets whose proto says TCP. With proto 0 the body, written after the headers, waited
    # for the client's delayed ACK: 40 ms per answer, most of what bench/speed measured.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, http="h11", lifespan="off", access_log=False, log_level="error", backlog=4096)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
