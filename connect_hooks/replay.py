"""``replay``: read what ``send --log`` or ``listen --log`` recorded, and build it again to send.

A send log holds one ``notification`` record per notification (its exact body and headers) and,
once it ended, one ``outcome`` record. A listen log holds one ``request`` record per request the
receiver read (headers as received, the body, the status it answered). Both become ``Recorded``
items: one per notification (a listen log's retries of one gtrid are one notification, judged by
the last answer the receiver gave it).

By default a replay is exact: the same body bytes, ``x-wx-gtrid`` and ``x-hub-signature``, so a
receiver's idempotency is tested. ``new_gtrid`` gives each a fresh gtrid; ``resign`` signs again
with the current secret. Headers that belong to one hop (Host, Content-Length, Connection, ...)
and credentials (``Authorization``, ``Cookie``, ``X-Api-Key``, ...: applied afresh per attempt by
the sender, never re-sent from a log) are dropped.

No Click, no Rich: the command renders what ``prepare_replay`` returns.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import fnmatch
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from connect_hooks import signing
from connect_hooks.delivery import Notification
from connect_hooks.errors import BadInput
from connect_hooks.inputs import read_input
from connect_hooks.policy import Policy
from connect_hooks.redaction import has_redacted_password, redact_url
from connect_hooks.sending import TABLES_UP_TO, check_run
from connect_hooks.urls import parse_send_url

#: Headers never replayed: they belong to one connection or are recomputed by the client, and
#: credentials (Authorization and the like) are applied afresh by the sender, never re-sent.
DROPPED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        # Credentials: applied afresh by the sender (-H, or its auth), never re-sent from a log,
        # where they may also have been redacted (the inspector's NDJSON download redacts these).
        "authorization",
        "cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-amz-security-token",
        # The response's encoding is negotiated by the client that sends (and must decode) it.
        "accept-encoding",
    }
)

OUTCOMES = ("delivered", "failed", "dropped", "interrupted")
SEND_TYPES = frozenset({"notification", "attempt", "outcome", "summary"})

Kind = Literal["send", "listen"]


def header_value(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (any case), or None."""
    lowered = name.lower()
    return next((value for key, value in headers if key.lower() == lowered), None)


@dataclass(frozen=True)
class Problem:
    """A log line that was skipped, and why."""

    line: int
    why: str

    def describe(self, source: str) -> str:
        return f"{source}:{self.line}: {self.why}; skipped"


@dataclass(frozen=True)
class Recorded:
    """One notification as a log recorded it."""

    kind: Kind
    line: int  # where it was recorded (the notification record, or the last request of its gtrid)
    time: dt.datetime | None
    gtrid: str | None
    target: str  # send: the sample name or file; listen: what it is, e.g. "receipt/SMS/Delivered"
    url: str | None  # send logs: where it was sent
    headers: tuple[tuple[str, str], ...]
    body: bytes
    outcome: str | None = None  # send logs: how it ended (None: no outcome on record)
    status: int | None = None  # listen logs: the last status the receiver answered

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


@dataclass(frozen=True)
class ReplayLog:
    """What a log holds: the notifications it recorded, in order, and the lines skipped."""

    source: str
    records: tuple[Recorded, ...]
    problems: tuple[Problem, ...]

    @property
    def kinds(self) -> frozenset[Kind]:
        return frozenset(record.kind for record in self.records)


def _decode_body(record: dict[str, Any]) -> bytes | None:
    body = record.get("body")
    if isinstance(body, str):
        return body.encode("utf-8")
    encoded = record.get("body_base64")
    if isinstance(encoded, str):
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


def _header_pairs(value: Any) -> tuple[tuple[str, str], ...] | None:
    """Headers as a send log writes them ([[name, value], ...]) or a listen log does ({name: value})."""
    if isinstance(value, dict):
        items: Iterable[Any] = value.items()
    elif isinstance(value, list):
        items = value
    else:
        return None
    pairs: list[tuple[str, str]] = []
    for item in items:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            return None
        name, text = item
        if not (isinstance(name, str) and isinstance(text, str)):
            return None
        pairs.append((name, text))
    return tuple(pairs)


def _listen_target(record: dict[str, Any]) -> str:
    parts = [record.get(key) for key in ("kind", "channel", "what")]
    return "/".join(part for part in parts if isinstance(part, str) and part) or "unknown"


def read_log(source: str, stdin: Callable[[], bytes]) -> ReplayLog:
    """Parse a send or listen NDJSON log (``-`` for stdin); bad input when nothing in it is usable."""
    data = read_input(source, stdin, missing="does not exist: give a file written by 'send --log' or 'listen --log'")
    where = "stdin" if source == "-" else source
    lines = data.split(b"\n")
    ends_cut = bool(lines and lines[-1].strip())  # the last line has no newline: the writer may have been cut
    problems: list[Problem] = []
    sent: dict[str, Recorded] = {}  # gtrid -> notification (send logs)
    outcomes: dict[str, str] = {}
    heard: dict[str, Recorded] = {}  # gtrid or body hash -> last request (listen logs)
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, a number too long, nested too deep
            last = number == len(lines) and ends_cut
            problems.append(Problem(number, "a truncated last line" if last else "not a JSON record"))
            continue
        kind = record.get("type") if isinstance(record, dict) else None
        kind = kind if isinstance(kind, str) else None
        if kind == "outcome" and isinstance(record.get("gtrid"), str) and record.get("outcome") in OUTCOMES:
            outcomes[record["gtrid"]] = record["outcome"]
            continue
        if kind in SEND_TYPES and kind != "notification":
            continue  # attempts and summaries: nothing to send
        body = _decode_body(record) if isinstance(record, dict) else None
        headers = _header_pairs(record.get("headers")) if isinstance(record, dict) else None
        if kind == "notification" and body is not None and headers is not None and isinstance(record.get("gtrid"), str):
            # A log appended to by a later run (an exact replay keeps the gtrid) tells a new story:
            # an outcome recorded before this notification record is not its outcome.
            outcomes.pop(record["gtrid"], None)
            sent[record["gtrid"]] = Recorded(
                kind="send",
                line=number,
                time=_parse_time(record.get("time")),
                gtrid=record["gtrid"],
                target=str(record.get("target") or "-"),
                url=record.get("url") if isinstance(record.get("url"), str) else None,
                headers=headers,
                body=body,
            )
            continue
        if kind == "request" and headers is not None and isinstance(record.get("method"), str):
            if record["method"] != "POST":
                continue  # HEAD checks and stray methods carry no notification
            if body is None:
                problems.append(Problem(number, "a request record without its body"))
                continue
            size = record.get("size")
            if record.get("status") is None or (isinstance(size, int) and size != len(body)):
                # Refused as too large (413) or cut by a hang-up: the receiver did not keep the body.
                problems.append(Problem(number, "the receiver did not record this request's whole body"))
                continue
            gtrid = record.get("gtrid") if isinstance(record.get("gtrid"), str) else None
            key = gtrid or "sha256:" + hashlib.sha256(body).hexdigest()
            status = record.get("status")
            heard[key] = Recorded(
                kind="listen",
                line=number,
                time=_parse_time(record.get("time")),
                gtrid=gtrid,
                target=_listen_target(record),
                url=None,
                headers=headers,
                body=body,
                status=status if isinstance(status, int) else None,
            )
            continue
        problems.append(Problem(number, "not a record of 'send --log' or 'listen --log'"))
    # A notification with no outcome on record never finished (the send was killed): interrupted.
    records = [
        dataclasses.replace(item, outcome=outcomes.get(item.gtrid or "", "interrupted")) for item in sent.values()
    ]
    records.extend(heard.values())
    records.sort(key=lambda item: item.line)  # log order; a listen notification is where its last request is
    if not records:
        hint = f" ({len(problems)} line{'s' if len(problems) != 1 else ''} skipped)" if problems else ""
        raise BadInput(
            f"{where} holds no notification to replay{hint}: give a file written by 'send --log' or 'listen --log'"
        )
    return ReplayLog(source=where, records=tuple(records), problems=tuple(problems))


@dataclass(frozen=True)
class Filters:
    """Which recorded notifications to replay; every given filter must hold."""

    outcomes: tuple[str, ...] = ()  # send logs
    statuses: tuple[int, ...] = ()  # listen logs: the last status answered
    targets: tuple[str, ...] = ()  # globs over the target
    gtrids: tuple[str, ...] = ()
    since: dt.datetime | None = None

    def accepts(self, item: Recorded) -> bool:
        if self.outcomes and item.outcome not in self.outcomes:
            return False
        if self.statuses and item.status not in self.statuses:
            return False
        if self.targets and not any(fnmatch.fnmatch(item.target.lower(), glob.lower()) for glob in self.targets):
            return False
        if self.gtrids and item.gtrid not in self.gtrids:
            return False
        return self.since is None or (item.time is not None and item.time >= self.since)


def parse_outcomes(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in OUTCOMES]
    if unknown or not names:
        raise BadInput(f"--outcome {text!r}: use one or more of {','.join(OUTCOMES)}, comma-separated")
    return names


def parse_statuses(text: str) -> tuple[int, ...]:
    codes: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 100 <= int(part) <= 599:
            raise BadInput(f"--status {text!r}: {part!r} is not an HTTP status; write it like --status 500,503")
        codes.append(int(part))
    return tuple(codes)


def parse_since(text: str) -> dt.datetime:
    parsed = _parse_time(text.strip())
    if parsed is None:
        raise BadInput(f"--since {text!r} is not an ISO time: write it like 2026-11-30T09:00 or 2026-11-30T09:00:00Z")
    return parsed


@dataclass(frozen=True)
class ReplaySettings:
    """Everything ``replay`` needs (TLS and output aside): what to read and select, how to rebuild
    it, and how the run goes (the same fields as ``SendSettings``, read by ``sending.run``)."""

    log: str
    url: str | None = None
    filters: Filters = field(default_factory=Filters)
    new_gtrid: bool = False
    resign: bool = False
    secret: str | None = field(default=None, repr=False)
    algorithm: str = "sha256"
    signature_style: str = "prefixed"
    headers: tuple[tuple[str, str], ...] = ()  # extra headers (-H), win over recorded ones
    allow_http: bool = False
    policy: Policy = field(default_factory=Policy)
    concurrency: int = 10
    rate: float | None = None  # first attempts per simulated second; None: all due at T+0
    speed: float | None = None  # simulated seconds per real second; None: 1 (real time)
    fast: bool = False  # skip the waits
    log_path: str | None = None


@dataclass(frozen=True)
class Planned:
    """One notification to replay, and where."""

    url: str
    notification: Notification
    recorded: Recorded
    note: str | None = None  # about the URL (plain http to loopback, ...)

    @property
    def resigned(self) -> bool:
        return header_value(self.notification.headers, signing.HEADER) != self.recorded.header(signing.HEADER)

    def as_dict(self) -> dict[str, Any]:
        """A ``--dry-run`` row: what would be sent, never the secret."""
        return {
            "line": self.recorded.line,
            "url": redact_url(self.url),
            "gtrid": self.notification.gtrid,
            "original_gtrid": self.recorded.gtrid,
            "target": self.notification.target,
            "size": len(self.notification.body),
            "signature": header_value(self.notification.headers, signing.HEADER),
            "recorded_outcome": self.recorded.outcome,
            "recorded_status": self.recorded.status,
        }


@dataclass(frozen=True)
class ReplayPlan:
    """A checked replay: what the log holds, what is selected and rebuilt; ``sending.run`` runs it."""

    log: ReplayLog
    planned: tuple[Planned, ...]
    settings: ReplaySettings

    @property
    def total(self) -> int:
        return len(self.planned)

    @property
    def tables(self) -> bool:
        """Whether people get a table per notification (else only the summary), as for ``send``."""
        return self.total <= TABLES_UP_TO

    @property
    def single(self) -> bool:
        """Never: a replay's ``--json`` is always a list (whatever the filters select)."""
        return False

    @property
    def notes(self) -> tuple[str, ...]:
        """The remarks about the URLs (plain http to loopback, ...), each once."""
        return tuple(dict.fromkeys(item.note for item in self.planned if item.note is not None))

    def groups(self) -> Iterator[tuple[str, Iterator[Notification]]]:
        """The notifications by URL (first-seen order; log order within each), for ``sending.run``."""
        for url, notifications in by_url(self.planned).items():
            yield url, iter(notifications)

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(problem.describe(self.log.source) for problem in self.log.problems)


def _check_filters(log: ReplayLog, filters: Filters) -> None:
    if filters.outcomes and "send" not in log.kinds:
        raise BadInput(
            f"--outcome applies to 'send --log' files, and {log.source} is a 'listen --log' file: use --status"
        )
    if filters.statuses and "listen" not in log.kinds:
        raise BadInput(
            f"--status applies to 'listen --log' files, and {log.source} is a 'send --log' file: use --outcome"
        )


def rebuild(item: Recorded, settings: ReplaySettings) -> Notification:
    """The notification to send: the recorded bytes and headers, with the changes asked for."""
    headers: dict[str, tuple[str, str]] = {}
    for name, value in item.headers:
        if name.lower() not in DROPPED_HEADERS:
            headers[name.lower()] = (name, value)
    gtrid = item.gtrid or str(uuid.uuid4())
    if settings.new_gtrid or item.gtrid is None:
        gtrid = str(uuid.uuid4())
    headers["x-wx-gtrid"] = (headers.get("x-wx-gtrid", ("x-wx-gtrid", ""))[0], gtrid)
    algorithm: str | None = None
    recorded_signature = headers.get(signing.HEADER)
    if recorded_signature is not None:
        parsed = signing.parse_header(recorded_signature[1])
        algorithm = parsed[0] if parsed is not None else None
    if settings.resign:
        assert settings.secret is not None  # checked by prepare_replay
        name = recorded_signature[0] if recorded_signature is not None else signing.HEADER
        value = signing.sign(item.body, settings.secret, settings.algorithm, settings.signature_style)
        headers[signing.HEADER] = (name, value)
        algorithm = settings.algorithm
    for name, value in settings.headers:
        headers[name.lower()] = (name, value)
    return Notification(
        target=item.target,
        body=item.body,
        gtrid=gtrid,
        headers=tuple(headers.values()),
        algorithm=algorithm,
    )


def prepare_replay(settings: ReplaySettings, stdin: Callable[[], bytes]) -> ReplayPlan:
    """Read the log, select, check every URL and build the notifications; bad input before anything is sent."""
    if settings.resign and settings.secret is None:
        raise BadInput(
            "--resign signs again with the current hub secret, and none is given: "
            "set CONNECT_HOOKS_SECRET, --secret-file or --secret"
        )
    if settings.secret is not None and settings.secret == "":
        raise BadInput("the hub secret is empty: give a non-empty --secret, CONNECT_HOOKS_SECRET or --secret-file")
    if settings.algorithm not in signing.ALGORITHMS:
        raise BadInput(f"unknown algorithm {settings.algorithm!r}: use one of {', '.join(signing.ALGORITHMS)}")
    check_run(settings)
    log = read_log(settings.log, stdin)
    _check_filters(log, settings.filters)
    if settings.url is None and "listen" in log.kinds:
        raise BadInput(f"{log.source} is a 'listen --log' file, which records no URL to send to: give the URL")
    given = parse_send_url(settings.url, allow_http=settings.allow_http) if settings.url is not None else None
    planned: list[Planned] = []
    checked: dict[str, tuple[str, str | None]] = {}
    for item in log.records:
        if not settings.filters.accepts(item):
            continue
        if given is not None:
            url, note = given.url, given.note
        else:
            original = item.url
            if original is None:
                raise BadInput(f"{log.source}:{item.line}: the record has no URL: give the URL to replay to")
            if has_redacted_password(original):
                raise BadInput(f"{log.source}:{item.line}: the log keeps the URL's password redacted: give the URL")
            if original not in checked:
                target = parse_send_url(original, allow_http=settings.allow_http)
                checked[original] = (target.url, target.note)
            url, note = checked[original]
        planned.append(Planned(url=url, notification=rebuild(item, settings), recorded=item, note=note))
    return ReplayPlan(log=log, planned=tuple(planned), settings=settings)


def by_url(planned: Sequence[Planned]) -> dict[str, list[Notification]]:
    """The notifications grouped by the URL they go to, in log order within each URL."""
    groups: dict[str, list[Notification]] = {}
    for item in planned:
        groups.setdefault(item.url, []).append(item.notification)
    return groups
