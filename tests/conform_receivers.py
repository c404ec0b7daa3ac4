"""Receivers for the conformance tests: one correct, and one per flaw ``conform`` must name.

Each is a plain ASGI app. ``Receiver`` is correct (verifies the raw bytes, answers 200 to every
valid notification, 401 otherwise); each flawed one changes exactly one thing. ``served`` runs
any of them with uvicorn on 127.0.0.1 (OS-assigned port) in a thread, so that a CLI run in the
test's own thread can talk to it over a real socket.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connect_hooks import signing
from connect_hooks.catalogue import samples as catalogue

SECRET = "conform-test-hub-secret"


class Receiver:
    """A correct receiver."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.requests = 0
        self.stopping: asyncio.Event | None = None

    def stop(self) -> None:
        if self.stopping is not None:
            self.stopping.set()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self.stopping is None:
            self.stopping = asyncio.Event()
        self.requests += 1
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in scope["headers"]}
        status = await self.answer(scope["method"], body, headers)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def answer(self, method: str, body: bytes, headers: dict[str, str]) -> int:
        if method == "HEAD":
            return 200
        if method != "POST":
            return 405
        header = headers.get(signing.HEADER)
        if header is None:
            return await self.unsigned()
        if not self.verified(body, header):
            return 401
        try:
            document = json.loads(body)
        except ValueError:
            return 400
        return await self.accept(document, headers)

    async def unsigned(self) -> int:
        return 401

    def verified(self, body: bytes, header: str) -> bool:
        return signing.verify(body, header, self.secret)

    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        return 200


class VerifiesReserialized(Receiver):
    """Verifies ``json.dumps(json.loads(body))`` instead of the bytes received."""

    def verified(self, body: bytes, header: str) -> bool:
        again = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return signing.verify(again, header, self.secret)


class AcceptsUnsigned(Receiver):
    """Checks a signature when there is one, and lets notifications without one through."""

    async def unsigned(self) -> int:
        return 200


class Answers201(Receiver):
    """Answers 201 Created to every notification it stores."""

    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        return 201


class RejectsRedelivery(Receiver):
    """Answers 409 Conflict to a second delivery of the same x-wx-gtrid."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        gtrid = headers.get("x-wx-gtrid", "")
        if gtrid in self.seen:
            return 409
        self.seen.add(gtrid)
        return 200


class NeedsDeliveredBeforeRead(Receiver):
    """Answers 500 to a read receipt whose message has no delivered receipt yet (the order bug)."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: dict[str, set[str]] = {}

    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        info = document.get("deliveryInfoNotification") if isinstance(document, dict) else None
        if not isinstance(info, dict):
            return 200
        known = self.statuses.setdefault(str(info.get("transid")), set())
        status = str(info.get("deliveryInfo", {}).get("deliveryStatus"))
        if status == "Read" and "Delivered" not in known:
            return 500
        known.add(status)
        return 200


def _keys(document: Any) -> set[str]:
    if isinstance(document, dict):
        return set(document).union(*(_keys(v) for v in document.values()))
    if isinstance(document, list):
        return set().union(*(_keys(v) for v in document))
    return set()


class StrictSchema(Receiver):
    """Crashes (500) on a key it has not seen in any sample of the catalogue."""

    def __init__(self) -> None:
        super().__init__()
        self.known = set().union(*(_keys(catalogue.get(name).payload) for name in catalogue.names()))

    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        return 500 if _keys(document) - self.known else 200


class CrashesOnMalformedSignature(Receiver):
    """Parses x-hub-signature as 'algorithm=hex' and crashes (500) when the hex is not hex."""

    def verified(self, body: bytes, header: str) -> bool:
        bytes.fromhex(header.partition("=")[2])  # ValueError on garbage: the app below turns it into 500
        return super().verified(body, header)

    async def answer(self, method: str, body: bytes, headers: dict[str, str]) -> int:
        try:
            return await super().answer(method, body, headers)
        except ValueError:
            return 500


class StallsWhenUnsigned(Receiver):
    """Hangs (until stopped) on a notification without a signature, instead of refusing it."""

    async def unsigned(self) -> int:
        assert self.stopping is not None
        await self.stopping.wait()
        return 401


class BusyWith503(Receiver):
    """Four workers, 50 ms per notification; a notification arriving while all are busy gets 503."""

    WORKERS = 4

    def __init__(self) -> None:
        super().__init__()
        self.busy = 0

    async def answer(self, method: str, body: bytes, headers: dict[str, str]) -> int:
        if method != "POST":
            return await super().answer(method, body, headers)
        if self.busy >= self.WORKERS:
            return 503
        self.busy += 1
        try:
            await asyncio.sleep(0.05)
            return await super().answer(method, body, headers)
        finally:
            self.busy -= 1


@contextmanager
def served(app: Any, *, tls: Any = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    from connect_hooks.receiver.server import bind, serving

    ready = threading.Event()
    where: list[str] = []
    failure: list[BaseException] = []
    loop_box: list[asyncio.AbstractEventLoop] = []
    done: list[asyncio.Event] = []

    async def main() -> None:
        done.append(asyncio.Event())
        loop_box.append(asyncio.get_running_loop())
        async with serving(app, bind("127.0.0.1", 0), tls=tls, log_level="critical") as serving_at:
            where.append(serving_at.url.replace("127.0.0.1", "localhost") if tls else serving_at.url)
            ready.set()
            await done[0].wait()

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced in the test thread
            failure.append(exc)
            ready.set()

    thread = threading.Thread(target=thread_main, daemon=True)
    thread.start()
    ready.wait(10)
    if failure:
        raise failure[0]
    try:
        yield where[0]
    finally:
        loop_box[0].call_soon_threadsafe(done[0].set)
        thread.join(10)


class TrustsEverything(Receiver):
    """Never verifies anything, and records each POST's body and signature header."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[bytes, str | None]] = []

    async def answer(self, method: str, body: bytes, headers: dict[str, str]) -> int:
        if method == "POST":
            self.seen.append((body, headers.get(signing.HEADER)))
        return 200
