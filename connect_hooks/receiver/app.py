"""The other side: a webhook receiver as a small ASGI app, for ``listen``, ``demo`` and tests."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import enum
import functools
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from connect_hooks import signing
from connect_hooks.diagnose import diagnose
from connect_hooks.errors import BadInput
from connect_hooks.logfile import body_fields, iso_milliseconds
from connect_hooks.receiver.auth import (
    CREDENTIAL_HEADERS,
    AuthRequest,
    AuthVerdict,
    TokenAnswer,
    Verifier,
    redact_headers,
)
from connect_hooks.receiver.relay import Hop

MAX_BODY = 1024 * 1024  # 1 MiB
GTRID_HEADER = "x-wx-gtrid"
#: How many notifications the receiver remembers to count their attempts.
REMEMBERED = 10_000
#: Bodies up to this size get a diagnosis when their signature does not verify.
DIAGNOSE_UP_TO = 256 * 1024
#: At most this many header names are kept decoded (every request repeats a few; a sender can invent any number).
NAMES_KEPT = 256
_NAMES: dict[bytes, str] = {}
#: The reason a signature verifies, per algorithm.
_VERIFIES = {algorithm: f"{signing.HEADER} verifies ({algorithm})" for algorithm in signing.ALGORITHMS}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
WallClock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class Script:
    """How to answer deliveries: the n-th delivery of a notification gets ``codes[n-1]`` (last repeats)."""

    codes: tuple[int, ...] = (200,)
    delay: float = 0.0  # seconds to stall before answering a POST

    def code_for(self, attempt: int) -> int:
        return self.codes[min(attempt, len(self.codes)) - 1]

    def describe(self) -> str:
        codes = ", ".join(str(c) for c in self.codes)
        text = f"answers {codes}" + (" (the last one repeats)" if len(self.codes) > 1 else "")
        return text + (f", after {self.delay:g} s" if self.delay else "")


@dataclass(frozen=True)
class ReceiverSettings:
    """What the receiver checks and how it answers. ``paths`` gives some paths their own script."""

    secret: str | None = field(default=None, repr=False)
    script: Script = field(default_factory=Script)
    paths: tuple[tuple[str, Script], ...] = ()
    max_body: int = MAX_BODY
    auth: Verifier | None = None  # listen --require-auth: every request must carry valid credentials

    def script_for(self, path: str) -> Script:
        for prefix, script in self.paths:
            if path == prefix:
                return script
        return self.script


def parse_respond(text: str) -> tuple[int, ...]:
    """``'503,503,200'`` -> (503, 503, 200); bad input unless every item is a status from 200 to 599."""
    codes: list[int] = []
    for item in text.split(","):
        item = item.strip()
        if not item.isdigit() or not 200 <= int(item) <= 599:
            raise BadInput(
                f"--respond {text!r}: {item!r} is not a status code from 200 to 599; "
                "write it like --respond 503,503,200"
            )
        codes.append(int(item))
    return tuple(codes)


class Signature(enum.StrEnum):
    """What the receiver made of ``x-hub-signature``."""

    VALID = "valid"
    MISMATCH = "mismatch"  # a well-formed signature of something else
    MALFORMED = "malformed"  # not sha256=<hex>, sha512=<hex> or bare hex
    MISSING = "missing"  # a secret is set but the header is absent
    UNCHECKED = "unchecked"  # no secret set: nothing to check against
    NOT_READ = "not-read"  # the request was refused before the body was read
    SKIPPED = "skipped"  # refused for its credentials first, or a token request: not checked

    # Hashed as the text it equals (Enum hashes its name, in Python): the live view looks it up per request.
    __hash__ = str.__hash__


#: Each verdict's text (``str()`` of an Enum runs Python code; a record is written per request).
_SIGNATURE_TEXT = {signature: str(signature) for signature in Signature}


@dataclass(frozen=True)
class Classification:
    """What a payload is: a delivery receipt or an inbound message/event, its channel and status or event."""

    kind: str  # "receipt", "inbound" or "unknown"
    channel: str | None
    what: str | None  # the receipt's deliveryStatus, or the inbound event
    label: str = field(init=False, repr=False, compare=False)  # how the live view names it

    def __post_init__(self) -> None:
        label = (
            "JSON, not a Webex Connect notification"
            if self.kind == "unknown"
            else " ".join(part for part in (self.kind, self.channel, self.what) if part)
        )
        object.__setattr__(self, "label", label)


def classify(payload: Any) -> Classification:
    """Recognise a Webex Connect notification by its shape; never raises."""
    if not isinstance(payload, dict):
        return _classification("unknown", None, None)
    envelope = payload.get("deliveryInfoNotification")
    if isinstance(envelope, dict):
        info = envelope.get("deliveryInfo")
        info = info if isinstance(info, dict) else {}
        return _classification("receipt", _text(info.get("deliveryChannel")), _text(info.get("deliveryStatus")))
    channel = payload.get("channel", payload.get("Channel"))
    if isinstance(channel, str):
        event = _text(payload.get("event")) or "MO"  # an SMS to a number carries no event: it is an MO
        return _classification("inbound", _shown(channel), event)
    return _classification("unknown", None, None)


#: One Classification per kind of notification, shared: a burst repeats a few, and each is frozen.
_classification = functools.lru_cache(maxsize=1024)(Classification)


def _parse_json(body: bytes) -> tuple[Any, str | None]:
    """(document, None), or (None, why it is not JSON)."""
    try:
        return orjson.loads(body), None  # five times as fast as the standard library, on every request
    except orjson.JSONDecodeError:
        pass  # orjson is strict: the standard library has the last word (UTF-16, NaN, a lone surrogate) and the why
    try:
        return json.loads(body), None
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return None, f"the body is not JSON ({exc})"


def _text(value: Any) -> str | None:
    return _shown(value) if isinstance(value, str) and value else None


def _shown(text: str) -> str:
    if text.isascii():
        return text
    # JSON can carry a lone surrogate ("\\ud800"), which no UTF-8 output (a line, a log) can: show it escaped
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True, init=False)
class Received:
    """One request and the receiver's answer to it."""

    time: dt.datetime
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    size: int  # bytes read (or declared, when refused up front as too large)
    gtrid: str | None
    attempt: int | None  # the n-th POST of this notification; None when not a POST
    classification: Classification | None
    signature: Signature
    algorithm: str | None
    status: int | None  # the answer; None when the sender hung up (or the receiver stopped) first
    reason: str  # one line: why this answer
    auth: AuthVerdict | None = None  # the credentials' verdict, when the receiver requires auth
    forward: Hop | None = None  # the hop to the app, when relaying (listen --forward-to)

    def __init__(
        self,
        time: dt.datetime,
        method: str,
        path: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        size: int,
        gtrid: str | None,
        attempt: int | None,
        classification: Classification | None,
        signature: Signature,
        algorithm: str | None,
        status: int | None,
        reason: str,
        auth: AuthVerdict | None = None,
        forward: Hop | None = None,
    ) -> None:
        # The dataclass's own __init__ would set each field through object.__setattr__ (it is frozen):
        # fifteen calls on every request the receiver answers. One update of __dict__ costs a fifth.
        self.__dict__.update(
            time=time,
            method=method,
            path=path,
            headers=headers,
            body=body,
            size=size,
            gtrid=gtrid,
            attempt=attempt,
            classification=classification,
            signature=signature,
            algorithm=algorithm,
            status=status,
            reason=reason,
            auth=auth,
            forward=forward,
        )

    def as_dict(self) -> dict[str, Any]:
        """The NDJSON/--json record. Headers and body as received; never the secret."""
        what = self.classification
        record: dict[str, Any] = {
            "time": iso_milliseconds(self.time),
            "method": self.method,
            "path": self.path,
            "headers": _headers_dict(self.headers),
            "gtrid": self.gtrid,
            "attempt": self.attempt,
            "kind": None if what is None else what.kind,
            "channel": None if what is None else what.channel,
            "what": None if what is None else what.what,
            "signature": _SIGNATURE_TEXT[self.signature],
            "algorithm": self.algorithm,
            "status": self.status,
            "reason": self.reason,
            "auth": None if self.auth is None else self.auth.as_dict(),
            "size": self.size,
            **body_fields(self.body),
        }
        if self.forward is not None:
            record["forward"] = self.forward.as_dict()
        return record


def _headers_dict(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    out = dict(headers)
    if len(out) == len(headers):  # the usual case: no name given twice
        return out
    out = {}
    for name, value in headers:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


Observer = Callable[[Received], None]
#: Passes a request (headers, body) on to the app and returns the hop: ``relay.Relay.forward``.
Forward = Callable[[tuple[tuple[str, str], ...], bytes], Awaitable[Hop]]
#: The signature verdicts that refuse a delivery (401) before anything else is looked at.
_REFUSED = frozenset({Signature.MISMATCH, Signature.MALFORMED, Signature.MISSING})


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _Gone(Exception):
    """The sender disconnected before the answer."""


#: What was made of a request's body, the part of its record between the request line and the answer:
#: (body, size, attempt, classification, signature, algorithm). A plain tuple: one is made per request.
_Read = tuple[bytes, int, int | None, Classification | None, Signature, str | None]
_UNREAD: _Read = (b"", 0, None, None, Signature.NOT_READ, None)


def _unjudged(body: bytes, size: int, signature: Signature = Signature.SKIPPED) -> _Read:
    """A body that was not judged: refused for its credentials or its size, or a token request (not kept)."""
    return body, size, None, None, signature, None


def decode_headers(raw: Any) -> tuple[tuple[tuple[str, str], ...], dict[str, str]]:
    """ASGI's raw header pairs as (name in lower case, value) text, and each name's first value."""
    names = _NAMES
    headers = []
    first: dict[str, str] = {}  # a name given twice is looked up by its first value
    for raw_name, raw_value in raw:
        name = names.get(raw_name)
        if name is None:
            name = raw_name.decode("latin-1").lower()
            if len(names) < NAMES_KEPT and len(raw_name) <= 64:
                names[raw_name] = name
        value = raw_value.decode("latin-1")
        headers.append((name, value))
        if name not in first:
            first[name] = value
    return tuple(headers), first


def judge_signature(
    keyed: signing.Keyed | None, secret: str | None, header: str | None, body: bytes
) -> tuple[Signature, str | None, str]:
    """What ``x-hub-signature`` says of ``body`` under ``secret`` (``keyed``: the same, keyed once): the verdict,
    the algorithm and a one-line reason."""
    if keyed is not None and header is not None:
        algorithm = keyed.verifies(body, header)
        if algorithm is not None:
            return Signature.VALID, algorithm, _VERIFIES[algorithm]
    parsed = signing.parse_header(header) if header is not None else None
    if secret is None:
        return (
            Signature.UNCHECKED,
            parsed[0] if parsed is not None else None,
            "no hub secret set: signature not checked",
        )
    if header is None:
        return Signature.MISSING, None, f"no {signing.HEADER} header, but a hub secret is set"
    return _not_verified(body, header, secret, parsed)


def _not_verified(
    body: bytes, header: str, secret: str, parsed: tuple[str, str] | None
) -> tuple[Signature, str | None, str]:
    """A signature that does not verify: what it matches with (a diagnosis), or why it is wrong."""
    state = Signature.MISMATCH if parsed is not None else Signature.MALFORMED
    diagnosis = diagnose(body, header, secret) if len(body) <= DIAGNOSE_UP_TO else None
    if diagnosis is not None and diagnosis.cause is not None:
        return (
            state,
            diagnosis.algorithm,
            f"{signing.HEADER} does not verify; it matches with {diagnosis.cause.description}",
        )
    if parsed is None:
        expected = "expected sha256=<64 hex>, sha512=<128 hex> or the bare hex digest"
        return state, None, f"{signing.HEADER} is malformed: {expected}"
    why = "wrong hub secret, or the body is not the one signed"
    return state, parsed[0], f"{signing.HEADER} does not verify ({parsed[0]}): {why}"


def _scripted(script: Script, attempt: int) -> tuple[int, str]:
    """The scripted answer to a notification's ``attempt``-th delivery, and its reason."""
    status = script.code_for(attempt)
    return status, f"scripted: delivery {attempt} gets {status}" if script.codes != (200,) else "accepted"


async def _read_body(receive: Receive, declared: str | None, limit: int) -> bytes | int:
    """The body, or the size that made it too large (judged first by Content-Length); raises _Gone on a disconnect."""
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        return int(declared)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return size
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _stall(sleep: Sleep, stopping: asyncio.Event, receive: Receive, seconds: float) -> str | None:
    """Wait ``seconds`` unless the sender hangs up or the receiver stops; say which ended it early."""
    sleeping = asyncio.ensure_future(sleep(seconds))
    gone = asyncio.ensure_future(_wait_disconnect(receive))
    stopped = asyncio.ensure_future(stopping.wait())
    try:
        done, _ = await asyncio.wait({sleeping, gone, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeping, gone, stopped):
            task.cancel()
        await asyncio.gather(sleeping, gone, stopped, return_exceptions=True)
    if sleeping in done:
        return None
    if gone in done:
        return f"the sender hung up during the {seconds:g} s delay"
    return "the receiver stopped during the delay"


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def _token_headers(token: TokenAnswer) -> tuple[tuple[bytes, bytes], ...]:
    """A token answer's headers: never cached, its challenges, and Allow on a 405."""
    extra = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
    extra += [(b"www-authenticate", c.encode("latin-1")) for c in token.challenges]
    if token.status == 405:
        extra.append((b"allow", b"POST"))
    return tuple(extra)


class ReceiverApp:
    """The ASGI app. ``sleep`` and ``clock`` are injectable so tests never wait."""

    def __init__(
        self,
        settings: ReceiverSettings,
        observer: Observer | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: WallClock = _utc_now,
        forward: Forward | None = None,
    ) -> None:
        self.settings = settings
        self.keyed = signing.Keyed(settings.secret) if settings.secret is not None else None
        self.observer = observer
        self.forward = forward
        self._sleep = sleep
        self._clock = clock
        self._attempts: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Stop stalling: delayed answers still pending end at once, unanswered."""
        self._stopping.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # servers run it with lifespan off; nothing else is spoken
            return
        await _Request(self, scope, receive, send).handle()

    def count(self, key: str) -> int:
        number = self._attempts.pop(key, 0) + 1
        self._attempts[key] = number
        while len(self._attempts) > REMEMBERED:
            self._attempts.popitem(last=False)
        return number

    def notify(self, record: Received) -> None:
        if self.observer is not None:
            self.observer(record)


class _Request:
    """One HTTP exchange: read, judge, answer, report (the judging lives in the functions above)."""

    def __init__(self, app: ReceiverApp, scope: Scope, receive: Receive, send: Send) -> None:
        self.app = app
        self.settings = app.settings
        self.receive = receive
        self.send = send
        self.time = app._clock()
        self.verdict: AuthVerdict | None = None  # the credentials' verdict, once the auth gate judged them
        self.method = str(scope.get("method", "")).upper()
        self.path = str(scope.get("path", "/"))
        self.scope = scope
        self.headers, self._first = decode_headers(scope.get("headers", ()))
        self.gtrid = self._first.get(GTRID_HEADER)

    def header(self, name: str) -> str | None:
        return self._first.get(name)

    def record(self, status: int | None, reason: str, read: _Read = _UNREAD, forward: Hop | None = None) -> Received:
        body, size, attempt, classification, signature, algorithm = read
        headers = self.redacted_headers()
        return Received(
            self.time, self.method, self.path, headers, body, size, self.gtrid, attempt, classification,
            signature, algorithm, status, reason, self.verdict, forward,
        )  # fmt: skip

    def redacted_headers(self) -> tuple[tuple[str, str], ...]:
        """Records never carry credentials: Authorization (and the API key header) are redacted."""
        if self.settings.auth is not None:
            return self.settings.auth.redact(self.headers)
        if CREDENTIAL_HEADERS.isdisjoint(self._first):  # the usual case: nothing to redact
            return self.headers
        return redact_headers(self.headers)

    def auth_request(self, body: bytes = b"") -> AuthRequest:
        raw_path = bytes(self.scope.get("raw_path") or self.path.encode("utf-8")).decode("latin-1")
        query = bytes(self.scope.get("query_string", b"")).decode("latin-1")
        return AuthRequest(self.method, raw_path, query, self.headers, body)

    async def answer(
        self,
        status: int,
        text: str = "",
        extra: tuple[tuple[bytes, bytes], ...] = (),
        content_type: bytes = b"text/plain; charset=utf-8",
    ) -> None:
        body = b"" if self.method == "HEAD" or not text else (text + "\n").encode("utf-8")
        headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(body)), *extra]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})

    async def handle(self) -> None:
        gate = self.settings.auth
        if gate is not None and gate.token_path is not None and self.path == gate.token_path:
            await self.handle_token(gate)
        elif self.method == "POST":
            await self.handle_post()
        elif not await self.admitted():
            return
        elif self.method == "HEAD":
            await self.answer(200)
            self.app.notify(self.record(200, "HEAD: the test call Webex Connect makes"))
        else:
            reason = f"{self.method} is not how Webex Connect delivers: only POST (and HEAD)"
            await self.answer(405, reason, ((b"allow", b"HEAD, POST"),))
            self.app.notify(self.record(405, reason))

    async def admitted(self, body: bytes = b"") -> bool:
        """The auth gate (``listen --require-auth``): True when no credentials are required or they verify;
        otherwise the request is refused (a refused POST is not counted as a delivery)."""
        gate = self.settings.auth
        if gate is None:
            return True
        self.verdict = verdict = gate.verify(self.auth_request(body))
        if verdict.ok:
            return True
        challenges = tuple((b"www-authenticate", c.encode("latin-1")) for c in verdict.challenges)
        await self.answer(401, verdict.reason, challenges)
        read = _unjudged(body, len(body)) if self.method == "POST" else _UNREAD
        self.app.notify(self.record(401, verdict.reason, read))
        return False

    async def handle_token(self, gate: Verifier) -> None:
        """The OAuth 2.0 token endpoint (bearer): the body holds the client secret, so it is not recorded."""
        body = await self.read_or_refuse("token request", "the token request")
        if body is None:
            return
        token = gate.token(self.auth_request(body))
        self.verdict = token.verdict
        text = json.dumps(token.document, separators=(",", ":"))
        await self.answer(token.status, text, _token_headers(token), content_type=b"application/json")
        self.app.notify(self.record(token.status, token.verdict.reason, _unjudged(b"", len(body))))

    async def read_or_refuse(self, sent: str, subject: str, *, show_size: bool = False) -> bytes | None:
        """The body; or None once a sender that hung up is recorded, or a body over the limit got 413."""
        try:
            body = await _read_body(self.receive, self.header("content-length"), self.settings.max_body)
        except _Gone:
            self.app.notify(self.record(None, f"the sender hung up while sending the {sent}"))
            return None
        if isinstance(body, int):
            reason = f"{subject} is over {self.settings.max_body} bytes"
            reason += f" ({body} bytes or more)" if show_size else ""
            await self.answer(413, reason, ((b"connection", b"close"),))
            self.app.notify(self.record(413, reason, _unjudged(b"", body, Signature.NOT_READ)))
            return None
        return body

    async def handle_post(self) -> None:
        body = await self.read_or_refuse("body", "the body", show_size=True)
        if body is None or (self.settings.auth is not None and not await self.admitted(body)):
            return
        gtrid = self.gtrid  # a retry repeats the exact bytes: without the header, the body's hash tells it
        attempt = self.app.count(gtrid if gtrid else "sha256:" + hashlib.sha256(body).hexdigest())
        signature, algorithm, signature_reason = judge_signature(
            self.app.keyed, self.settings.secret, self.header(signing.HEADER), body
        )
        payload, json_error = _parse_json(body)
        classification = None if json_error is not None else classify(payload)
        read: _Read = (body, len(body), attempt, classification, signature, algorithm)
        script = self.settings.script_for(self.path)
        if signature in _REFUSED:
            status, reason = 401, signature_reason
        elif self.app.forward is not None:
            await self.relay(self.app.forward, read)
            return
        elif json_error is not None:
            status, reason = 400, json_error
        else:
            status, reason = _scripted(script, attempt)
        if script.delay > 0:
            await self.answer_late(status, reason, script.delay, read)
            return
        await self.answer(status, reason if status != 200 else "")
        self.app.notify(self.record(status, reason, read))

    async def answer_late(self, status: int, reason: str, delay: float, read: _Read) -> None:
        """Answer after the script's delay, unless the sender hangs up or the receiver stops first; and report."""
        outcome = await _stall(self.app._sleep, self.app._stopping, self.receive, delay)
        if outcome is not None:
            self.app.notify(self.record(None, f"{outcome} (it would have got {status})", read))
            return
        await self.answer(status, reason if status != 200 else "")
        self.app.notify(self.record(status, reason, read))

    async def relay(self, forward: Forward, read: _Read) -> None:
        """Pass the request on to the app; answer with its status, headers and body (502 without one)."""
        try:
            hop = await forward(self.headers, read[0])
        except Exception as exc:  # a fault of the relay itself: still an answer (502) and a record, never a 500
            hop = Hop("the app", None, (), b"", 0.0, f"the relay failed ({type(exc).__name__}: {exc})")
        if hop.status is None:
            reason = f"relay to {hop.url}: {hop.error}"
            await self.answer(502, reason)
            self.app.notify(self.record(502, reason, read, hop))
            return
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in hop.headers]
        headers.append((b"content-length", str(len(hop.body)).encode()))
        await self.send({"type": "http.response.start", "status": hop.status, "headers": headers})
        await self.send({"type": "http.response.body", "body": hop.body})
        reason = f"relayed to {hop.url}: the app answered {hop.status} in {hop.elapsed_ms:.0f} ms"
        self.app.notify(self.record(hop.status, reason, read, hop))
