"""Serving the receiver with uvicorn, inside the caller's event loop (``listen`` and ``demo``)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Protocol

from connect_hooks.errors import BadInput
from connect_hooks.heap import settle_malloc
from connect_hooks.receiver.app import Receive, Scope, Send
from connect_hooks.receiver.tls import LocalTLS

#: Seconds uvicorn waits for requests still in flight when stopping, before cancelling them.
GRACEFUL_SHUTDOWN = 1


class App(Protocol):
    """An ASGI app that can be told to stop (end stalled answers, event streams) when the server stops."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Serving:
    """Where the receiver listens."""

    host: str
    port: int
    tls: bool

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def loopback_only(self) -> bool:
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def bind(host: str, port: int, *, port_option: str = "--port") -> socket.socket:
    """A TCP socket bound to (host, port), not yet listening; port 0 lets the OS pick one."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BadInput(f"--host {host!r} is not an address to listen on ({reason}): give e.g. 127.0.0.1") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise BadInput(
                f"port {port} on {host} is already in use: pick another with {port_option}, or stop what is using it"
            ) from None
        if exc.errno == errno.EACCES:
            raise BadInput(
                f"no permission to listen on port {port}: pick a port above 1023 with {port_option}"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise BadInput(f"{host} is not an address of this machine: give e.g. 127.0.0.1 with --host") from None
        raise BadInput(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
    return sock


@contextlib.asynccontextmanager
async def serving(
    app: App,
    sock: socket.socket,
    *,
    tls: LocalTLS | None = None,
    log_level: str = "warning",
) -> AsyncIterator[Serving]:
    """Serve ``app`` on ``sock`` until the block ends; then stop within about a second.

    On the way out, pending delayed answers end at once (``app.stop()``), idle connections are
    closed, and requests still in flight get ``GRACEFUL_SHUTDOWN`` seconds.
    """
    import uvicorn

    settle_malloc()

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the caller owns the signals

    options = tls.uvicorn_options() if tls is not None else {}
    config = uvicorn.Config(
        app,
        http="h11",
        interface="asgi3",
        lifespan="off",
        access_log=False,
        log_level=log_level,
        server_header=False,
        proxy_headers=False,  # nothing here reads the client address or scheme: no X-Forwarded-* pass per request
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        **options,
    )
    server = Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                await task
                raise RuntimeError("the receiver stopped while starting")
            await asyncio.sleep(0.01)
        host, port = sock.getsockname()[:2]
        yield Serving(host=host, port=port, tls=tls is not None)
    finally:
        app.stop()
        server.should_exit = True
        await task
        sock.close()
