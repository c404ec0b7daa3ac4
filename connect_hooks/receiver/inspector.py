"""The inspector of ``listen --inspect``: a small ASGI app that shows the receiver's request records in a browser."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import json
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from connect_hooks import redaction
from connect_hooks.logfile import json_text, ndjson_line
from connect_hooks.receiver.app import Message, Receive, Received, Scope, Send
from connect_hooks.urls import is_loopback

#: Records the inspector keeps (and downloads): the last KEPT, and bodies of at most KEPT_BYTES in all.
KEPT = 5000
KEPT_BYTES = 64 * 1024 * 1024
DEFAULT_PORT = 4040
#: The header the page sends with a replay (a cross-site form cannot).
ACTION_HEADER = "x-connect-hooks-inspector"
#: Request headers whose values are credentials, and their shown value: the one rule of ``redaction.py``.
CREDENTIAL_HEADERS = redaction.CREDENTIAL_HEADERS
REDACTED = redaction.REDACTED
ASSETS = {
    "inspector.js": "text/javascript; charset=utf-8",
    "inspector.css": "text/css; charset=utf-8",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

#: Replays a request to "receiver" or "app"; returns what the page shows (status, error, elapsed_ms, body).
Replayer = Callable[[Received, str], Awaitable[dict[str, Any]]]


def redact(headers: dict[str, str]) -> dict[str, str]:
    """Credential headers keep their scheme (``Basic``, ``Bearer``...) and lose their value."""
    return redaction.redact_mapping(headers)


def shared_record(record: Received) -> dict[str, Any]:
    """The ``listen --log`` record as the inspector shares it: credentials redacted."""
    document: dict[str, Any] = {"type": "request", **record.as_dict()}
    document["headers"] = redact(document["headers"])
    return document


@dataclass(frozen=True)
class Entry:
    id: int
    record: Received

    def page(self) -> dict[str, Any]:
        document = shared_record(self.record)
        document["id"] = self.id
        classification = self.record.classification
        document["label"] = classification.label if classification is not None else None
        return document


class Inspector:
    """The inspector's ASGI app and its feed of records."""

    def __init__(
        self,
        *,
        kept: int = KEPT,
        kept_bytes: int = KEPT_BYTES,
        loopback_only: bool = True,
        allowed_hosts: tuple[str, ...] = (),
    ) -> None:
        self.entries: collections.deque[Entry] = collections.deque()
        self.kept = kept
        self.kept_bytes = kept_bytes
        self._bytes = 0
        self.loopback_only = loopback_only  # bound to a loopback address: only loopback Hosts are answered
        self.allowed_hosts = frozenset(name.lower() for name in allowed_hosts)  # listen --allow-host NAME
        self.config: dict[str, Any] = {}
        self.run = secrets.token_hex(4)  # event ids are RUN-N: a page left open across restarts starts afresh
        self.replayer: Replayer | None = None
        self._next_id = 1
        self._subscribers: set[asyncio.Queue[Entry | None]] = set()
        self._stopping = False

    # -- the feed ------------------------------------------------------------------------------

    def observe(self, record: Received) -> None:
        entry = Entry(self._next_id, record)
        self._next_id += 1
        self.entries.append(entry)
        self._bytes += len(record.body)
        while len(self.entries) > 1 and (len(self.entries) > self.kept or self._bytes > self.kept_bytes):
            self._bytes -= len(self.entries.popleft().record.body)
        for queue in self._subscribers:
            queue.put_nowait(entry)

    def stop(self) -> None:
        """End every event stream, so the server stops at once."""
        self._stopping = True
        for queue in self._subscribers:
            queue.put_nowait(None)

    def find(self, entry_id: int) -> Entry | None:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        return None

    # -- HTTP ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        method = str(scope.get("method", "GET")).upper()
        path = str(scope.get("path", "/"))
        headers = {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]}
        if not self.host_allowed(headers.get("host", "")):
            await _answer(send, 421, self.refused_host().encode())
            return
        if method == "GET" and path == "/":
            await _answer(send, 200, _asset("index.html"), "text/html; charset=utf-8")
        elif method == "GET" and path.startswith("/assets/") and path[len("/assets/") :] in ASSETS:
            name = path[len("/assets/") :]
            await _answer(send, 200, _asset(name), ASSETS[name])
        elif method == "GET" and path == "/events":
            await self.events(headers, receive, send)
        elif method == "GET" and path == "/requests.ndjson":
            body = "".join(ndjson_line(shared_record(entry.record)) for entry in list(self.entries))
            await _answer(
                send,
                200,
                body.encode("utf-8"),
                "application/x-ndjson; charset=utf-8",
                ((b"content-disposition", b'attachment; filename="listen.ndjson"'),),
            )
        elif method == "POST" and path.startswith("/requests/") and path.endswith("/replay"):
            await self.replay(path, headers, receive, send)
        else:
            await _answer(send, 404, b"not found\n")

    def host_allowed(self, host: str) -> bool:
        """Whether to answer a request for ``host`` (the Host header).

        A name that is not loopback could be one a web page rebound to this address (DNS
        rebinding): only names the user allowed are answered. Widened (not bound to loopback),
        any IP literal is answered too: no page can make a browser send another site's name that way.
        """
        name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
        if not name:
            return False
        if is_loopback(name) or name.lower() in self.allowed_hosts:
            return True
        if self.loopback_only:
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True

    def refused_host(self) -> str:
        where = "127.0.0.1, localhost or [::1]" if self.loopback_only else "an IP address or localhost"
        return f"the inspector answers only on {where}: open it so, or start listen with --allow-host NAME\n"

    async def events(self, headers: dict[str, str], receive: Receive, send: Send) -> None:
        run, _, number = headers.get("last-event-id", "").partition("-")
        last = int(number) if run == self.run and number.isdigit() else 0  # another run's page: everything
        queue: asyncio.Queue[Entry | None] = asyncio.Queue()
        for entry in list(self.entries):
            if entry.id > last:
                queue.put_nowait(entry)
        if self._stopping:
            queue.put_nowait(None)
        self._subscribers.add(queue)

        async def until_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            queue.put_nowait(None)

        watcher = asyncio.ensure_future(until_gone())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-content-type-options", b"nosniff"),
                    ],
                }
            )
            hello = json.dumps({**self.config, "run": self.run}, separators=(",", ":"))
            await send(
                {"type": "http.response.body", "body": f"event: hello\ndata: {hello}\n\n".encode(), "more_body": True}
            )
            while (item := await queue.get()) is not None:
                data = json_text(item.page())
                chunk = f"id: {self.run}-{item.id}\ndata: {data}\n\n".encode()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b""})
        finally:
            self._subscribers.discard(queue)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def replay(self, path: str, headers: dict[str, str], receive: Receive, send: Send) -> None:
        if headers.get(ACTION_HEADER) != "1":
            await _answer(send, 403, f"a replay needs the {ACTION_HEADER} header the page sends\n".encode())
            return
        body = await _read_body(receive)
        try:
            entry_id = int(urllib.parse.unquote(path)[len("/requests/") : -len("/replay")])
            to = json.loads(body or b"{}").get("to", "receiver")
        except (ValueError, AttributeError):
            await _answer(send, 400, b'give {"to": "receiver"} or {"to": "app"}\n')
            return
        entry = self.find(entry_id)
        if entry is None or entry.record.method != "POST":
            await _answer(send, 404, b"no such POST among the kept requests\n")
            return
        if to not in ("receiver", "app") or (to == "app" and not self.config.get("forward_to")):
            await _answer(send, 400, b'give {"to": "receiver"}, or {"to": "app"} when relaying\n')
            return
        if self.replayer is None:
            await _answer(send, 503, b"not serving yet\n")
            return
        result = await self.replayer(entry.record, to)
        await _answer(send, 200, json.dumps(result).encode(), "application/json")


def _asset(name: str) -> bytes:
    return resources.files("connect_hooks.receiver").joinpath("inspector_assets", name).read_bytes()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False) or sum(map(len, chunks)) > 65536:
            return b"".join(chunks)


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", CSP.encode()),
        (b"referrer-policy", b"no-referrer"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
