"""A scripted, fault-injecting HTTP server on 127.0.0.1 for end-to-end tests.

Each POST takes the next step of its script (the last step repeats); HEAD answers ``head_status``.
A step is a status code, or a fault: ``Stall()`` (no answer until the server stops) or ``Stall(seconds)``,
``"reset"``, ``"close"``, ``"garbage"``, ``Trickle(seconds_per_byte)``, ``"stall-body"``, ``"die"`` (stop listening).
``head_stall`` leaves every HEAD unanswered. The server records every request it read.

A stalled answer waits on an event that the server's exit sets: a client's timeout always trips (whatever the load),
and nothing outlives the test.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Stall:
    """Wait ``seconds`` before answering ``then``; with no seconds, never answer (until the server stops)."""

    seconds: float | None = None
    then: int = 200


@dataclass(frozen=True)
class Trickle:
    """Send the status line and headers one byte every ``interval`` seconds."""

    interval: float


Step = int | Stall | Trickle | str


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedServer:
    script: list[Step] = field(default_factory=lambda: [200])
    head_status: int = 200
    head_headers: dict[str, str] = field(default_factory=dict)
    head_stall: bool = False
    tls: ssl.SSLContext | None = None
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._posts = 0
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}/hooks"

    @property
    def posts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _die(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- one connection ------------------------------------------------------------------------

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(10)
        if self.tls is not None:
            try:
                sock = self.tls.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError):
                return
        try:
            while not self._stop.is_set():
                request = self._read_request(sock)
                if request is None:
                    return
                self.requests.append(request)
                if request.method == "HEAD":
                    if self.head_stall:
                        self._stop.wait()
                        return
                    extra = "".join(f"{k}: {v}\r\n" for k, v in self.head_headers.items())
                    sock.sendall(f"HTTP/1.1 {self.head_status} X\r\n{extra}Content-Length: 0\r\n\r\n".encode())
                    continue
                with self._lock:
                    step = self.script[min(self._posts, len(self.script) - 1)]
                    self._posts += 1
                if not self._act(sock, step):
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _read_request(self, sock: socket.socket) -> Request | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            body += chunk
        return Request(method, path, headers, body)

    def _respond(self, sock: socket.socket, status: int) -> None:
        sock.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode())

    def _act(self, sock: socket.socket, step: Step) -> bool:
        """Answer one POST; False when the connection is finished."""
        if isinstance(step, int):
            self._respond(sock, step)
            return True
        if isinstance(step, Stall):
            if self._stop.wait(step.seconds):
                return False
            self._respond(sock, step.then)
            return True
        if isinstance(step, Trickle):
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow: " + b"." * 200:
                if self._stop.wait(step.interval):
                    return False
                sock.sendall(bytes([byte]))
            return False
        if step == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if step == "close":
            return False
        if step == "garbage":
            sock.sendall(b"this is not HTTP at all\r\n\r\n")
            return False
        if step == "die":  # the receiver process dies: no answer, and nothing listens any more
            threading.Thread(target=self._die, daemon=True).start()
            return False
        if step == "stall-body":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            self._stop.wait()
            return False
        raise ValueError(f"unknown step {step!r}")
