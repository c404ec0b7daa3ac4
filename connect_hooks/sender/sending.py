"""``send`` as core functions: settings in, a checked plan, deliveries streamed out, a summary.

Everything the user gave is checked in ``plan`` (and ``prepare``) before anything is sent: a bad
target, URL, header, secret or contradictory option sends nothing. ``run`` owns the send's
lifecycle: the event loop, SIGTERM treated like Ctrl-C, the ``--log`` file, a reader of stdout
that went away, and exactly one terminal record per notification.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import functools
import heapq
import itertools
import json
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import httpx

from connect_hooks import signing
from connect_hooks.catalogue import samples as catalogue
from connect_hooks.catalogue import stories
from connect_hooks.errors import BadInput
from connect_hooks.inputs import read_input
from connect_hooks.logfile import NdjsonLog
from connect_hooks.policy import Outcome, Policy
from connect_hooks.redaction import redact_lists, redact_url
from connect_hooks.sender.clock import FAST, Clock, Monotonic, Sleep
from connect_hooks.sender.delivery import (
    Attempt,
    Delivery,
    Interrupted,
    Notification,
    Observer,
    build_notification,
    fixed_gtrid,
)
from connect_hooks.sender.scheduler import MAX_CONCURRENCY, At, Lazy, deliver_all, made, then
from connect_hooks.sender.summary import Summary, SummaryCounter
from connect_hooks.urls import TargetURL, parse_send_url, parse_url

if TYPE_CHECKING:
    from connect_hooks.client.clientcert import ClientCert
    from connect_hooks.client.credentials import AuthSettings

EXAMPLE = "e.g. connect-hooks send receipt/sms/delivered https://example.test/hooks"
#: Above this many notifications, people get the summary instead of a table per notification.
TABLES_UP_TO = 20


@dataclass(frozen=True)
class SendSettings:
    """Everything ``send`` needs, parsed and checked by the CLI (or built by a library user)."""

    url: str
    targets: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)
    algorithm: str = "sha256"
    signature_style: str = "prefixed"
    headers: tuple[tuple[str, str], ...] = ()
    policy: Policy = field(default_factory=Policy)
    allow_http: bool = False
    seed: int | None = None
    sets: tuple[str, ...] = ()
    auth: AuthSettings | None = None  # applied by the client (transport.make_client), not the engine
    client_cert: ClientCert | None = None
    # How the send runs: copies, the clock, the concurrency bound, the arrival schedule, the log.
    count: int = 1
    concurrency: int = 10
    rate: float | None = None  # first attempts per simulated second; None: all due at T+0
    speed: float | None = None  # --speed: simulated seconds per real second; not given: real time
    fast: bool = False  # --fast: skip the waits (``make_clock`` turns these two into the run's Clock)
    log_path: str | None = None
    out_of_order: bool = False  # --out-of-order: each story's steps delivered last first


def parse_header_option(text: str) -> tuple[str, str]:
    """``'Name: value'`` -> (name, value); bad input otherwise (send, conform, replay: one check).

    The value may hold latin-1 characters (sent as those bytes) but no control character; the
    message never quotes the value (it may be a credential).
    """
    from connect_hooks.textsafe import header_problem

    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip(" \t")
    if not sep or not name or any(c in name for c in " \t\r\n"):
        shown = repr(text) if text.isprintable() else "with control characters"
        raise BadInput(f"--header {shown} is not 'Name: value': write it like --header 'Authorization: Bearer abc'")
    problem = header_problem(name, value)
    if problem is not None:
        raise BadInput(f"-H {name + ': ...' if name.isprintable() else 'NAME: ...'!r}: {problem}")
    return name, value


def load_payload(target: str, stdin: Callable[[], bytes]) -> bytes:
    """The exact bytes of a JSON file or stdin, checked to parse as JSON."""
    body = read_input(target, stdin, missing="is neither a file nor a sample name: run 'connect-hooks samples list'")
    where = "stdin" if target == "-" else repr(target)
    if not body.strip():
        raise BadInput(f"{where} is empty: a notification needs a JSON body")
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{where} is not valid JSON ({exc}): fix the file or pick a sample") from None
    return body


def bodies(settings: SendSettings, stdin: Callable[[], bytes]) -> list[tuple[str, bytes]]:
    """(target name, body bytes) for every notification the targets stand for, in order."""
    out: list[tuple[str, bytes]] = []
    for target in settings.targets:
        if _is_story(target):
            continue  # a story's steps are rendered afresh for each copy (``SendPlan.stories``)
        if _is_file(target):
            if settings.sets:
                where = "stdin" if target == "-" else repr(target)
                raise BadInput(f"--set changes samples only: {where} is sent byte for byte, so edit it instead")
            out.append((target, load_payload(target, stdin)))
            continue
        for name in catalogue.match(target):
            out.append((name, catalogue.render(name, seed=settings.seed, sets=settings.sets)))
    return out


def make_notification(
    target: str,
    body: bytes,
    settings: SendSettings,
    gtrid: str | None = None,
) -> Notification:
    """``build_notification`` with a send's signing settings and headers."""
    return build_notification(
        target,
        body,
        secret=settings.secret,
        algorithm=settings.algorithm,
        style=settings.signature_style,
        headers=settings.headers,
        gtrid=gtrid,
    )


def check_send(settings: SendSettings) -> None:
    """Every check on the settings alone; BadInput (one line: what, and how to fix it) otherwise."""
    url, targets = settings.url, settings.targets
    if not targets:
        raise BadInput(f"send needs a TARGET and then a URL, and got only {redact_url(url)!r}: {EXAMPLE}")
    if not url.lower().startswith(("http://", "https://")) and any(
        t.lower().startswith(("http://", "https://")) for t in targets
    ):
        raise BadInput(f"the URL goes last, after the TARGETs: {EXAMPLE}")
    check_run(settings)
    if settings.count < 1:
        raise BadInput(f"--count {settings.count} sends nothing: give 1 or more")
    signing.check_settings(settings.secret, settings.algorithm)


class RunSettings(Protocol):
    """What ``run`` reads from settings: the policy, the clock, the concurrency bound, the arrival
    schedule and the log (``SendSettings`` has them, and so has a replay's settings)."""

    @property
    def policy(self) -> Policy: ...
    @property
    def concurrency(self) -> int: ...
    @property
    def rate(self) -> float | None: ...
    @property
    def speed(self) -> float | None: ...
    @property
    def fast(self) -> bool: ...
    @property
    def log_path(self) -> str | None: ...


class Runnable(Protocol):
    """What ``run`` delivers: settings, and the notifications grouped by URL (a ``SendPlan`` has one
    group; a replay of a send log has one per original URL). Groups run one after another. A group
    may hold recipes (see ``scheduler.Lazy``): each is made only when its first attempt starts."""

    @property
    def settings(self) -> RunSettings: ...
    @property
    def total(self) -> int: ...  # how many notifications the groups hold (to count those never started)
    def groups(self) -> Iterator[tuple[str, Iterator[Lazy]]]: ...


def check_run(settings: RunSettings) -> None:
    """The checks on how a run goes (time, concurrency, rate); BadInput otherwise."""
    if settings.fast and settings.speed is not None:
        raise BadInput("--fast and --speed contradict each other: give one of them")
    if settings.speed is not None and not settings.speed > 0:
        raise BadInput(f"--speed {settings.speed:g} is not positive: give e.g. --speed 60 (a minute a second)")
    if not 1 <= settings.concurrency <= MAX_CONCURRENCY:
        raise BadInput(f"--concurrency {settings.concurrency} is out of range: give 1 to {MAX_CONCURRENCY}")
    if settings.rate is not None and not settings.rate > 0:
        raise BadInput(f"--rate {settings.rate:g} is not positive: give notifications per second, e.g. --rate 50")


def make_clock(settings: RunSettings, sleep: Sleep = asyncio.sleep, now: Monotonic = time.monotonic) -> Clock:
    """The run's clock: real time (no ``--speed``), ``--speed`` S, or ``--fast``."""
    return Clock(speed=FAST if settings.fast else (settings.speed or 1.0), sleep=sleep, now=now)


@dataclass(frozen=True)
class SendPlan:
    """A checked send: where to, and the notifications it stands for (made lazily, copy by copy)."""

    settings: SendSettings
    target: TargetURL
    #: (target name, the first copy's bytes, rendered from a sample) for each target, in order
    sources: tuple[tuple[str, bytes, bool], ...]
    #: the stories among the targets (each copy is a new message: its own ids)
    stories: tuple[str, ...] = ()
    #: the stories' first timestamp (None with --seed: the fixed epoch), and the unseeded copies' seed base
    started: dt.datetime | None = None
    story_seed: int = 0

    @property
    def total(self) -> int:
        steps = sum(len(stories.get(name).steps) for name in self.stories)
        return (len(self.sources) + steps) * self.settings.count

    @property
    def tables(self) -> bool:
        """Whether people get a table per notification (else only the summary)."""
        return self.total <= TABLES_UP_TO

    @property
    def single(self) -> bool:
        """One notification from one plain target: --json prints an object, not a list."""
        targets = self.settings.targets
        return self.total == 1 and len(targets) == 1 and not any(c in targets[0] for c in "*?[") and not self.stories

    def notifications(self) -> Iterator[Notification]:
        """Every notification, copy after copy; samples are rendered afresh for each copy, except
        under a fixed gtrid (-H 'x-wx-gtrid: G'): then every copy is the same notification again."""
        return (made(recipe) for recipe in self.recipes())

    def recipes(self) -> Iterator[Lazy]:
        """A recipe per notification, in order: calling it renders and signs that copy (nothing before).

        With stories, each step is due at its offset (each copy's, on ``--rate``'s schedule), all in time order.
        """
        if self.stories:
            return heapq.merge(*self._streams(), key=lambda item: item.at)
        return (
            functools.partial(self._make, copy, name, body, sample)
            for copy in range(self.settings.count)
            for name, body, sample in self.sources
        )

    def _start(self, copy: int) -> float:
        """When copy ``copy`` begins, in simulated seconds (``--rate`` spaces the copies)."""
        rate = self.settings.rate
        return copy / rate if rate is not None else 0.0

    def _streams(self) -> list[Iterator[At]]:
        """One time-ordered stream per sample and per story step, over the copies."""
        streams = [
            self._stream(0.0, functools.partial(self._make, name=n, body=b, sample=s)) for n, b, s in self.sources
        ]
        for name in self.stories:
            offsets = stories.get(name).offsets(out_of_order=self.settings.out_of_order)
            for number, at in sorted(enumerate(offsets), key=lambda pair: pair[1]):
                streams.append(self._stream(at, functools.partial(self._make_step, name=name, number=number)))
        return streams

    def _stream(self, at: float, make: Callable[[int], Notification]) -> Iterator[At]:
        """``make(copy)`` for every copy, each due ``at`` seconds after its copy begins."""
        return (At(self._start(copy) + at, functools.partial(make, copy)) for copy in range(self.settings.count))

    def _make_step(self, copy: int, name: str, number: int) -> Notification:
        """Step ``number`` of copy ``copy`` of story ``name``: the copy's ids, its steps' rising times."""
        base = self.story_seed if self.settings.seed is None else self.settings.seed
        step = stories.render(name, seed=base * 1_000_003 + copy, now=self.started)[number]
        return make_notification(step.sample, step.body, self.settings)

    def _make(self, copy: int, name: str, body: bytes, sample: bool) -> Notification:
        settings = self.settings
        if copy and sample and fixed_gtrid(settings.headers) is None:
            seed = None if settings.seed is None else settings.seed * 1_000_003 + copy
            body = catalogue.render(name, seed=seed, sets=settings.sets)
        return make_notification(name, body, settings)

    def groups(self) -> Iterator[tuple[str, Iterator[Lazy]]]:
        """One group: every notification (as a recipe, made when its first attempt starts), to the one URL."""
        yield self.target.url, self.recipes()

    def clock(self, sleep: Sleep = asyncio.sleep, now: Monotonic = time.monotonic) -> Clock:
        return make_clock(self.settings, sleep, now)


def plan(settings: SendSettings, stdin: Callable[[], bytes]) -> SendPlan:
    """Check everything and render the first copy of each target; raises BadInput before anything is sent."""
    check_send(settings)
    target = parse_send_url(settings.url, allow_http=settings.allow_http)
    sources = tuple((name, body, not _is_file(name)) for name, body in bodies(settings, stdin))
    told = tuple(name for t in settings.targets if _is_story(t) for name in stories.match(t))
    if told and settings.sets:
        raise BadInput("--set changes samples only: a story's steps carry their own values (send a step's sample)")
    if settings.out_of_order and not told:
        raise BadInput("--out-of-order reverses a story's steps: give a story target, e.g. story/whatsapp/read")
    fixed = fixed_gtrid(settings.headers)
    if fixed is not None and (told or len({(name, body) for name, body, _ in sources}) > 1):
        many = len(sources) + sum(len(stories.get(name).steps) for name in told)
        raise BadInput(
            f"-H 'x-wx-gtrid: {fixed}' would give {many} different notifications one gtrid, and "
            "Webex Connect gives each its own: send one TARGET (--count N delivers it N times)"
        )
    started = None if settings.seed is not None else dt.datetime.now(dt.UTC).astimezone()
    return SendPlan(settings, target, sources, told, started, random.getrandbits(48))


def _is_story(target: str) -> bool:
    """A story name or glob (``story/...``), unless a file of that name exists."""
    return stories.is_story(target) and not _is_file(target)


def _is_file(target: str) -> bool:
    return target == "-" or Path(target).exists() or target.endswith(".json")


def prepare(settings: SendSettings, stdin: Callable[[], bytes]) -> tuple[TargetURL, list[Notification]]:
    """Check everything and build every notification; raises BadInput before anything is sent."""
    checked = plan(settings, stdin)
    return checked.target, list(checked.notifications())


class SendLog(Observer):
    """The NDJSON story of a send (``--log``): each notification (its exact body and headers) just
    before its first attempt, each attempt as it is answered, one outcome per notification, and a
    closing summary. Replay reads the same records. One writer, whole lines: never interleaved.
    ``url`` is the URL of the group being run (``run`` sets it before each group).
    Credentials never reach the log: header values by the one rule of ``redaction.py`` (replay
    drops those headers anyway), and a password in the URL is redacted."""

    def __init__(self, log: NdjsonLog, url: str) -> None:
        self.log = log
        self.url = url

    def notification(self, notification: Notification) -> None:
        document = notification.as_dict()
        document["headers"] = redact_lists(document["headers"])
        self.log.write({"type": "notification", "url": redact_url(self.url), **document})

    def attempt(self, target: str, attempt: Attempt) -> None:
        self.log.write(
            {
                "type": "attempt",
                "url": redact_url(self.url),
                "target": target,
                "gtrid": attempt.gtrid,
                **attempt.as_dict(),
            }
        )

    def outcome(self, delivery: Delivery) -> None:
        self.log.write({"type": "outcome", **delivery.as_dict()})

    def summary(self, summary: Summary) -> None:
        self.log.write({"type": "summary", **summary.as_dict()})

    started = notification
    attempted = attempt
    finished = outcome


@dataclass(frozen=True)
class SendResult:
    """How a send ended: the summary always; every record (in order) only when asked to keep them."""

    url: str
    summary: Summary
    deliveries: tuple[Delivery, ...] = field(default=())
    interrupted: bool = False

    @property
    def all_delivered(self) -> bool:
        return (
            not self.interrupted and self.summary.outcomes.get(str(Outcome.DELIVERED), 0) == self.summary.notifications
        )


F = TypeVar("F", bound=Callable[..., None])


def quiet_when_stdout_goes(func: F) -> F:
    """Wrap a printing callback: when the reader of stdout goes away (``| head``), further output
    goes to /dev/null and the send carries on, on record in its log."""

    def call(*args: Any) -> None:
        try:
            func(*args)
        except BrokenPipeError:
            stdout_gone()

    return call  # type: ignore[return-value]


def stdout_gone() -> None:
    """Point stdout at /dev/null (after a broken pipe), so later writes and the final flush succeed."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class Callbacks(Observer):
    """Plain callbacks as an observer, each surviving a reader of stdout that went away."""

    def __init__(
        self,
        on_begin: Callable[[], None] | None = None,
        on_start: Callable[[Notification], None] | None = None,
        on_attempt: Callable[[str, Attempt], None] | None = None,
        on_finish: Callable[[Delivery], None] | None = None,
    ) -> None:
        if on_begin is not None:
            self.begun = on_begin  # type: ignore[method-assign]
        if on_start is not None:
            self.started = quiet_when_stdout_goes(on_start)  # type: ignore[method-assign,assignment]
        if on_attempt is not None:
            self.attempted = quiet_when_stdout_goes(on_attempt)  # type: ignore[method-assign,assignment]
        if on_finish is not None:
            self.finished = quiet_when_stdout_goes(on_finish)  # type: ignore[method-assign,assignment]


class _Books:
    """One run's bookkeeping: the stories under way, the summary, the records kept, the observers fed."""

    def __init__(self, clock: Clock, observers: Sequence[Observer], keep: bool) -> None:
        self.clock = clock
        self.counter = SummaryCounter()
        self.observers = (self.counter, *observers)
        # gtrid -> (index, target) of the stories under way, oldest first (a fixed gtrid is shared)
        self.active: dict[str, collections.deque[tuple[int, str]]] = {}
        self.kept: list[tuple[int, Delivery]] | None = [] if keep else None
        self.numbering = itertools.count()
        self.began = self.ended = clock.now()

    def lazily(self, items: Iterator[Lazy]) -> Iterator[Lazy]:
        return (then(item, self.begin) for item in items)

    def begin(self, notification: Notification) -> Notification:
        """Put a notification on record as its first attempt starts (it is made only then)."""
        self.active.setdefault(notification.gtrid, collections.deque()).append(
            (next(self.numbering), notification.target)
        )
        for observer in self.observers:
            observer.started(notification)
        return notification

    def attempted(self, attempt: Attempt) -> None:
        target = self.active[attempt.gtrid][0][1]
        for observer in self.observers:
            observer.attempted(target, attempt)

    def finished(self, delivery: Delivery) -> None:
        stories = self.active[delivery.gtrid]
        index, _ = stories.popleft()
        if not stories:
            del self.active[delivery.gtrid]
        self.ended = self.clock.now()
        if self.kept is not None:
            self.kept.append((index, delivery))
        for observer in self.observers:
            observer.finished(delivery)

    def summary(self, total: int, stopped: bool) -> Summary:
        # Those never started are counted, never made: the numbering counts every one made.
        never_started = max(total - next(self.numbering), 0) if stopped else 0
        return self.counter.summary(max(self.ended - self.began, 0.0), never_started)

    def deliveries(self) -> tuple[Delivery, ...]:
        return tuple(d for _, d in sorted(self.kept or (), key=lambda pair: pair[0]))


async def arun(
    plan: Runnable,
    *,
    client: httpx.AsyncClient,
    clock: Clock | None = None,
    observers: Sequence[Observer] = (),
    keep: bool = True,
) -> SendResult:
    """Run a planned send (or a replay) to its end on the running event loop: the awaitable core.

    Opens and closes the ``--log`` file (an observer like the others, fed first), closes
    ``client``, and feeds every record to ``observers`` in order. ``keep`` keeps every record for
    the result (``--json`` lists, tables); without it memory stays flat. Groups (URLs) run one
    after another. If the task is cancelled, every notification sent and not ended ends
    ``interrupted``, on record; the notifications never started (in this group or later ones) are
    counted in the summary's ``never_started``, never made; the result says ``interrupted``.
    """
    settings = plan.settings
    log = SendLog(NdjsonLog(settings.log_path), "") if settings.log_path else None
    clock = clock or make_clock(settings)
    books = _Books(clock, ([log] if log is not None else []) + list(observers), keep)
    urls: list[str] = []
    stopped = False
    try:
        for observer in books.observers:
            observer.begun()
        async with client:
            for url, items in plan.groups():
                urls.append(url)
                if log is not None:
                    log.url = url
                await deliver_all(
                    books.lazily(items),
                    url,
                    settings.policy,
                    client=client,
                    clock=clock,
                    concurrency=settings.concurrency,
                    rate=settings.rate,
                    on_attempt=books.attempted,
                    on_finish=books.finished,
                )
    except Interrupted:
        stopped = True
    finally:
        summary = books.summary(plan.total, stopped)
        if log is not None:
            log.summary(summary)
            log.log.close()
    return SendResult(urls[0] if urls else "", summary, books.deliveries(), stopped)


T = TypeVar("T")


async def until_sigterm(core: Coroutine[Any, Any, T]) -> T:
    """Await ``core`` with SIGTERM (a CI job cancelled, a container stopped) cancelling it like Ctrl-C."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not the main thread
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await core
    finally:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):
            loop.remove_signal_handler(signal.SIGTERM)


def run(
    plan: Runnable,
    *,
    client: httpx.AsyncClient,
    clock: Clock | None = None,
    on_begin: Callable[[], None] | None = None,
    on_start: Callable[[Notification], None] | None = None,
    on_attempt: Callable[[str, Attempt], None] | None = None,
    on_finish: Callable[[Delivery], None] | None = None,
    keep: bool = True,
    observers: Sequence[Observer] = (),
) -> SendResult:
    """``arun`` in its own event loop, SIGTERM treated like Ctrl-C: the command line's entry point.

    The callbacks are an observer (after ``observers``) that survives a reader of stdout that
    went away: ``on_begin`` once the log is open, ``on_start`` per notification made,
    ``on_attempt`` with (target, attempt), ``on_finish`` per terminal record.
    """
    given = (on_begin, on_start, on_attempt, on_finish)
    callbacks = [Callbacks(*given)] if any(c is not None for c in given) else []  # none: no call per record
    core = arun(plan, client=client, clock=clock, observers=[*observers, *callbacks], keep=keep)
    return asyncio.run(until_sigterm(core))


async def adeliver(
    notifications: Iterable[Lazy],
    url: str,
    *,
    policy: Policy | None = None,
    clock: Clock | None = None,
    client: httpx.AsyncClient | None = None,
    concurrency: int = 10,
    rate: float | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
    on_finish: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Deliver ``notifications`` to ``url`` as Webex Connect would, each with its own retry story: the library's entry point.

    Runs on the engine every command uses (``scheduler.deliver_all``), on ``clock`` (real time
    unless given: ``Clock.fast()`` skips the waits; records keep Webex Connect's timeline) under
    ``policy`` (Webex Connect's unless given). Without ``client``, one like ``send``'s is made
    (verifies TLS, never follows redirects) and closed; a given client is left open. Returns one
    ``Delivery`` per notification, in the order given. If cut (a cancelled task, Ctrl-C), raises
    ``Interrupted`` carrying the records of the notifications started and not ended.
    """
    target = parse_url(url).url  # BadInput on anything but an http(s) URL with a host
    records: list[Delivery | None] = []
    places: dict[str, collections.deque[int]] = {}  # gtrid -> indexes started and not ended, in order

    def recipe(notification: Notification) -> Notification:
        places.setdefault(notification.gtrid, collections.deque()).append(len(records))
        records.append(None)
        return notification

    def finished(delivery: Delivery) -> None:
        records[places[delivery.gtrid].popleft()] = delivery
        if on_finish is not None:
            on_finish(delivery)

    if client is None:
        from connect_hooks.client.transport import make_client

        client = make_client(tls=target.lower().startswith("https:"))
        closing: contextlib.AbstractAsyncContextManager[Any] = client
    else:
        closing = contextlib.nullcontext()
    async with closing:
        await deliver_all(
            (then(item, recipe) for item in notifications),
            target,
            policy if policy is not None else Policy(),
            client=client,
            clock=clock,
            concurrency=concurrency,
            rate=rate,
            on_attempt=on_attempt,
            on_finish=finished,
        )
    return [record for record in records if record is not None]


def deliver(
    notifications: Iterable[Lazy],
    url: str,
    *,
    policy: Policy | None = None,
    clock: Clock | None = None,
    client: httpx.AsyncClient | None = None,
    concurrency: int = 10,
    rate: float | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
    on_finish: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """``adeliver`` from synchronous code, in its own event loop.

    A given ``client`` serves this one call and is closed at its end (an ``httpx.AsyncClient``
    cannot outlive the event loop it was used in); without one, one like ``send``'s is made.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("deliver() runs its own event loop: in async code, use 'await adeliver(...)'")

    async def main() -> list[Delivery]:
        async with contextlib.nullcontext() if client is None else client:
            return await adeliver(
                notifications,
                url,
                policy=policy,
                clock=clock,
                client=client,
                concurrency=concurrency,
                rate=rate,
                on_attempt=on_attempt,
                on_finish=on_finish,
            )

    return asyncio.run(main())
