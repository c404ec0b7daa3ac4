"""``replay``: read what ``send --log`` or ``listen --log`` recorded, and build it again to send."""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import datetime as dt
import fnmatch
import functools
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Literal, NamedTuple

import httpx

from connect_hooks import signing, textsafe
from connect_hooks.errors import BadInput
from connect_hooks.policy import Policy
from connect_hooks.redaction import CREDENTIAL_HEADERS, has_redacted_password, redact_url
from connect_hooks.sender.delivery import Notification, build_notification, fixed_gtrid
from connect_hooks.sender.sending import TABLES_UP_TO, check_run
from connect_hooks.urls import parse_send_url

#: Headers never replayed: they belong to one connection or are recomputed by the client, and
#: credentials (Authorization and the like) are applied afresh by the sender, never re-sent.
DROPPED_HEADERS = (
    frozenset(
        {
            "host",
            "content-length",
            "connection",
            "keep-alive",
            "proxy-connection",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "expect",
            # The response's encoding is negotiated by the client that sends (and must decode) it.
            "accept-encoding",
        }
    )
    # Credentials (the one redaction rule's set): applied afresh by the sender (-H, or its auth), never
    # re-sent from a log, where they were redacted anyway.
    | CREDENTIAL_HEADERS
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


#: Why a line is skipped, for the reasons every log may give.
FOREIGN = "not a record of 'send --log' or 'listen --log'"
NOT_JSON = "not a JSON record"
TORN = "a truncated last line"


def header_problem(name: str, value: str) -> str | None:
    """Why header ``name: value`` cannot go on the wire as it is, or None (never quoting the value).

    ``textsafe.header_problem`` (a token name; Latin-1 text without control characters, sent as its
    bytes), and no space or tab at either end of the value, which HTTP/1.1 (h11) refuses to send.
    """
    problem = textsafe.header_problem(name, value)
    if problem is None and value != value.strip(" \t"):
        problem = f"the {name} value starts or ends with white space, which HTTP cannot send"
    return problem


@functools.lru_cache(maxsize=256)
def _url_problem(url: str) -> str | None:
    try:
        httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError) as exc:
        return f"its URL {url!r} cannot be sent ({exc}): give the URL to replay to"
    return None


def _printable(text: str) -> str:
    """``text``, with a lone surrogate (which no terminal or UTF-8 file takes) written as ``\\udxxx``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _base64_body(record: dict[str, Any]) -> bytes | None:
    encoded = record.get("body_base64")
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode_body(record: dict[str, Any]) -> bytes | str | None:
    """The body's bytes; None when the record has none; a reason (str) when its text stands for no bytes."""
    body = record.get("body")
    if not isinstance(body, str):
        return _base64_body(record)
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800"): only a hand-edited log has one
        raw = _base64_body(record)  # the exact bytes, when the record also has them
        if raw is not None:
            return raw
        char = body[exc.start]
        return f"its body holds a lone surrogate ({char!r}), which stands for no bytes: give the exact bytes as body_base64"


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
    return _printable("/".join(part for part in parts if isinstance(part, str) and part) or "unknown")


@dataclass(frozen=True)
class _Outcome:
    """A send log's ``outcome`` record: how the story of ``gtrid`` ended."""

    gtrid: str
    outcome: str


def parse_line(number: int, raw: bytes) -> Recorded | _Outcome | Problem | None:
    """One log line: a notification (outcome not yet known), an outcome, a reason to skip it, or None (nothing to send)."""
    if not raw.strip():
        return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # not UTF-8, not JSON, a number too long, nested too deep
        return Problem(number, NOT_JSON if raw.endswith(b"\n") else TORN)
    if not isinstance(record, dict):
        return Problem(number, FOREIGN)
    kind = record.get("type") if isinstance(record.get("type"), str) else None
    if kind == "outcome" and isinstance(record.get("gtrid"), str) and record.get("outcome") in OUTCOMES:
        return _Outcome(record["gtrid"], OUTCOMES[OUTCOMES.index(record["outcome"])])
    if kind in SEND_TYPES and kind != "notification":
        return None  # attempts and summaries: nothing to send
    body = _decode_body(record)
    headers = _header_pairs(record.get("headers"))
    if kind == "notification" and body is not None and headers is not None and isinstance(record.get("gtrid"), str):
        if isinstance(body, str):
            return Problem(number, body)
        return Recorded(
            kind="send",
            line=number,
            time=_parse_time(record.get("time")),
            gtrid=record["gtrid"],
            target=_printable(str(record.get("target") or "-")),
            url=record.get("url") if isinstance(record.get("url"), str) else None,
            headers=headers,
            body=body,
        )
    if kind == "request" and headers is not None and isinstance(record.get("method"), str):
        return _request(number, record, headers, body)
    return Problem(number, FOREIGN)


def _request(
    number: int, record: dict[str, Any], headers: tuple[tuple[str, str], ...], body: bytes | str | None
) -> Recorded | Problem | None:
    if record["method"] != "POST":
        return None  # HEAD checks and stray methods carry no notification
    if body is None:
        return Problem(number, "a request record without its body")
    if isinstance(body, str):
        return Problem(number, body)
    size = record.get("size")
    if record.get("status") is None or (isinstance(size, int) and size != len(body)):
        # Refused as too large (413) or cut by a hang-up: the receiver did not keep the body.
        return Problem(number, "the receiver did not record this request's whole body")
    status = record.get("status")
    return Recorded(
        kind="listen",
        line=number,
        time=_parse_time(record.get("time")),
        gtrid=record["gtrid"] if isinstance(record.get("gtrid"), str) else None,
        target=_listen_target(record),
        url=None,
        headers=headers,
        body=body,
        status=status if isinstance(status, int) else None,
    )


class Entry(NamedTuple):
    """A selected notification as the first reading keeps it: where it is and how it ended, no bytes."""

    line: int
    outcome: str | None  # send logs: how it ended ("interrupted": no outcome on record)
    url: str | None  # send logs: where it was sent


@dataclass(frozen=True)
class ReplayLog:
    """What a log holds: how many notifications, where the selected ones are, and the lines skipped.

    The bytes stay in the file (stdin: a temporary copy of it), read again one line at a time
    while the notifications are sent, so memory does not grow with the log.
    """

    source: str  # as the user knows it: the path, or "stdin"
    path: str  # the file read
    count: int  # the notifications it holds, selected or not
    kinds: frozenset[Kind]
    selected: tuple[Entry, ...]  # in log order
    problems: tuple[Problem, ...]

    def records(self, entries: Iterable[Entry] | None = None) -> Iterator[Recorded | Problem]:
        """The recorded notifications of ``entries`` (default: the selected ones), read again, in order.

        A line that no longer reads as it did (the file changed in between) comes as a Problem.
        """
        wanted = iter(self.selected if entries is None else entries)
        entry = next(wanted, None)
        if entry is None:
            return
        with _open(self.path, self.source) as file:
            for number, raw in enumerate(file, start=1):
                if number != entry.line:
                    continue
                parsed = parse_line(number, raw)
                if isinstance(parsed, Recorded):
                    yield dataclasses.replace(parsed, outcome=entry.outcome) if entry.outcome else parsed
                else:
                    yield Problem(number, "the line changed while the replay ran")
                entry = next(wanted, None)
                if entry is None:
                    return
        for gone in itertools.chain([entry], wanted):
            yield Problem(gone.line, "the line is gone: the log was cut while the replay ran")


def _open(path: str, where: str) -> IO[bytes]:
    shown = "stdin" if where == "stdin" else repr(where)
    try:
        return open(path, "rb")  # the caller closes it
    except IsADirectoryError:
        raise BadInput(f"{shown} is a directory: give a file, or - for stdin") from None
    except FileNotFoundError:
        raise BadInput(f"{shown} does not exist: give a file written by 'send --log' or 'listen --log'") from None
    except OSError as exc:
        raise BadInput(f"cannot read {shown}: {exc.strerror or exc}; check the path and its permissions") from None


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _spool(stdin: Callable[[], bytes] | IO[bytes]) -> str:
    """Copy stdin to a temporary file (it is read twice), without holding it in memory."""
    fd, path = tempfile.mkstemp(prefix="connect-hooks-replay-", suffix=".ndjson")
    try:
        with os.fdopen(fd, "wb") as out:
            if callable(stdin):
                out.write(stdin())
            else:
                shutil.copyfileobj(stdin, out, 1 << 20)
    except BaseException:
        _remove(path)
        raise
    return path


def read_log(source: str, stdin: Callable[[], bytes] | IO[bytes], settings: ReplaySettings | None = None) -> ReplayLog:
    """Read a send or listen NDJSON log (``-`` for stdin) once, keeping only where the notifications
    ``settings`` selects are; bad input when it holds none. The bytes are read again to send them."""
    settings = settings or ReplaySettings(log=source)
    if source != "-":
        return _scan(source, source, settings)
    path = _spool(stdin)
    try:
        log = _scan(path, "stdin", settings)
    except BaseException:
        _remove(path)
        raise
    weakref.finalize(log, _remove, path)
    return log


def _scan(path: str, where: str, settings: ReplaySettings) -> ReplayLog:
    """The first reading: every line parsed and checked, nothing of the bytes kept."""
    filters = settings.filters
    problems: list[Problem] = []
    sent: dict[str, tuple[int, str | None, bool]] = {}  # gtrid -> (line, URL, selected) of its notification
    outcomes: dict[str, str] = {}
    heard: dict[str, tuple[int, bool]] = {}  # gtrid or body hash -> (line, selected) of its last request
    urls: dict[str, str] = {}  # one string per URL
    kinds: set[Kind] = set()
    with _open(path, where) as file:
        for number, raw in enumerate(file, start=1):
            parsed = parse_line(number, raw)
            if isinstance(parsed, Recorded):
                why = unsendable(parsed, settings)
                parsed = parsed if why is None else Problem(number, why)
            if isinstance(parsed, Problem):
                problems.append(parsed)
            elif isinstance(parsed, _Outcome):
                outcomes[parsed.gtrid] = parsed.outcome
            elif parsed is not None:
                kinds.add(parsed.kind)
                if parsed.kind == "send":
                    assert parsed.gtrid is not None
                    # A log appended to by a later run (an exact replay keeps the gtrid) tells a new
                    # story: an outcome recorded before this notification record is not its outcome.
                    outcomes.pop(parsed.gtrid, None)
                    url = urls.setdefault(parsed.url, parsed.url) if parsed.url is not None else None
                    sent[parsed.gtrid] = (number, url, filters.accepts(parsed))
                else:
                    key = parsed.gtrid or "sha256:" + hashlib.sha256(parsed.body).hexdigest()
                    heard[key] = (number, filters.accepts(parsed))
    if not sent and not heard:
        first = f"; the first, line {problems[0].line}: {problems[0].why}" if problems else ""
        hint = f" ({len(problems)} line{'s' if len(problems) != 1 else ''} skipped{first})" if problems else ""
        raise BadInput(
            f"{where} holds no notification to replay{hint}: give a file written by 'send --log' or 'listen --log'"
        )
    selected = [Entry(line, None, None) for line, chosen in heard.values() if chosen]
    for gtrid, (line, url, chosen) in sent.items():
        # A notification with no outcome on record never finished (the send was killed): interrupted.
        outcome = outcomes.get(gtrid, "interrupted")
        if chosen and (not filters.outcomes or outcome in filters.outcomes):
            selected.append(Entry(line, outcome, url))
    selected.sort()  # log order; a listen notification is where its last request is
    return ReplayLog(where, path, len(sent) + len(heard), frozenset(kinds), tuple(selected), tuple(problems))


@dataclass(frozen=True)
class Filters:
    """Which recorded notifications to replay; every given filter must hold."""

    outcomes: tuple[str, ...] = ()  # send logs
    statuses: tuple[int, ...] = ()  # listen logs: the last status answered
    targets: tuple[str, ...] = ()  # globs over the target
    gtrids: tuple[str, ...] = ()
    since: dt.datetime | None = None

    def accepts(self, item: Recorded) -> bool:
        """Whether every filter but ``outcomes`` holds (how a notification ended is further on in its log)."""
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
    """A checked replay: what the log holds, what is selected, where it goes; ``sending.run`` runs it.

    The notifications are rebuilt from the log as they are sent (``groups``), one line at a time.
    """

    log: ReplayLog
    settings: ReplaySettings
    #: each recorded URL of the selection (None: every one, when a URL is given) -> (URL to send to, note)
    targets: dict[str | None, tuple[str, str | None]]
    #: lines that no longer read as they did when the replay was planned (the file changed meanwhile)
    late: list[Problem] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.log.selected)

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
        return tuple(dict.fromkeys(note for _, note in self.targets.values() if note is not None))

    @property
    def urls(self) -> tuple[str, ...]:
        """Where the notifications go, each URL once."""
        return tuple(dict.fromkeys(url for url, _ in self.targets.values()))

    def items(self, entries: Iterable[Entry] | None = None) -> Iterator[Planned]:
        """The notifications of ``entries`` (default: every selected one), rebuilt from the log as they are needed."""
        for recorded in self.log.records(entries):
            if isinstance(recorded, Recorded):
                notification = rebuild(recorded, self.settings)
                why = _headers_problem(notification)
                if why is None:
                    url, note = self.targets[None if self.settings.url is not None else recorded.url]
                    yield Planned(url=url, notification=notification, recorded=recorded, note=note)
                    continue
                recorded = Problem(recorded.line, why)
            self.late.append(recorded)

    @functools.cached_property
    def planned(self) -> tuple[Planned, ...]:
        """Every notification at once (``--dry-run``, and a library user's look at a small log)."""
        return tuple(self.items())

    def groups(self) -> Iterator[tuple[str, Iterator[Notification]]]:
        """The notifications by URL (first-seen order; log order within each), for ``sending.run``."""
        groups: dict[str, list[Entry]] = {}
        for entry in self.log.selected:
            url, _ = self.targets[None if self.settings.url is not None else entry.url]
            groups.setdefault(url, []).append(entry)
        for url, entries in groups.items():
            yield url, (planned.notification for planned in self.items(entries))

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


def _check_fixed_gtrid(settings: ReplaySettings, selected: int) -> None:
    """-H 'x-wx-gtrid: G' is the gtrid of one notification: not with --new-gtrid, nor for several."""
    fixed = fixed_gtrid(settings.headers)
    if fixed is not None and settings.new_gtrid:
        raise BadInput(f"--new-gtrid and -H 'x-wx-gtrid: {fixed}' contradict each other: give one of them")
    if fixed is not None and selected > 1:
        raise BadInput(
            f"-H 'x-wx-gtrid: {fixed}' would give {selected} different notifications one gtrid, and "
            "Webex Connect gives each its own: select one with --gtrid ID"
        )


def _headers_problem(notification: Notification) -> str | None:
    for name, value in notification.headers:
        why = header_problem(name, value)
        if why is not None:
            return why
    return None


def unsendable(item: Recorded, settings: ReplaySettings) -> str | None:
    """Why ``item``, rebuilt as ``settings`` asks, cannot go on the wire, or None."""
    if settings.url is None and item.url is not None:
        why = _url_problem(item.url)
        if why is not None:
            return why
    return _headers_problem(rebuild(item, settings))


def rebuild(item: Recorded, settings: ReplaySettings) -> Notification:
    """The notification to send: the recorded bytes and headers, with the changes asked for."""
    gtrid = None if settings.new_gtrid else item.gtrid  # None: a fresh one
    if settings.resign:
        assert settings.secret is not None  # checked by prepare_replay
    return build_notification(
        item.target,
        item.body,
        secret=settings.secret if settings.resign else None,
        algorithm=settings.algorithm,
        style=settings.signature_style,
        headers=settings.headers,
        gtrid=gtrid,
        base=[(name, value) for name, value in item.headers if name.lower() not in DROPPED_HEADERS],
    )


def _check_settings(settings: ReplaySettings) -> None:
    if settings.resign and settings.secret is None:
        raise BadInput(
            "--resign signs again with the current hub secret, and none is given: "
            "set CONNECT_HOOKS_SECRET, --secret-file or --secret"
        )
    signing.check_settings(settings.secret, settings.algorithm)
    if settings.url is not None and _url_problem(settings.url) is not None:
        raise BadInput(f"{settings.url!r} is not a URL httpx can send to: give one like https://example.test/hooks")
    check_run(settings)


def prepare_replay(settings: ReplaySettings, stdin: Callable[[], bytes] | IO[bytes]) -> ReplayPlan:
    """Read the log once, select, and check every URL; bad input before anything is sent.

    The notifications are rebuilt from the log as they are sent: ``ReplayPlan.groups``.
    """
    _check_settings(settings)
    log = read_log(settings.log, stdin, settings)
    _check_filters(log, settings.filters)
    _check_fixed_gtrid(settings, len(log.selected))
    if settings.url is None and "listen" in log.kinds:
        raise BadInput(f"{log.source} is a 'listen --log' file, which records no URL to send to: give the URL")
    targets: dict[str | None, tuple[str, str | None]] = {}
    if settings.url is not None:
        given = parse_send_url(settings.url, allow_http=settings.allow_http)
        targets[None] = (given.url, given.note)
    else:
        for entry in log.selected:
            if entry.url is None:
                raise BadInput(f"{log.source}:{entry.line}: the record has no URL: give the URL to replay to")
            if has_redacted_password(entry.url):
                raise BadInput(f"{log.source}:{entry.line}: the log keeps the URL's password redacted: give the URL")
            if entry.url not in targets:
                target = parse_send_url(entry.url, allow_http=settings.allow_http)
                targets[entry.url] = (target.url, target.note)
    return ReplayPlan(log=log, settings=settings, targets=targets)
