"""Many notifications at once: every one its own retry story, all on ONE virtual clock.

``delivery.deliver`` tells one notification's story. ``deliver_all`` runs many of them the way
Webex Connect does: each notification is delivered on its own (a receiver that is down sees a
wave of first attempts, then their retries 60 s later, interleaved with new arrivals).

The design is a discrete-event simulation. Every attempt that is owed is an event on a heap,
keyed by (simulated time, notification index, attempt number). Events start strictly in key
order, so the receiver sees attempts in simulated-time order whatever the speed:

- **Simulated time.** First attempts are due at T+0 (or ``index / rate`` with a rate). A retry is
  due at its attempt's time + the attempt's charged duration (``delivery.charged_seconds``:
  a timeout costs the whole deadline, anything else its real duration in whole seconds, rounded
  down) + the policy's wait.
- **Look-ahead.** An attempt made at T is answered by T + timeout (simulated) and can cause a
  retry no earlier than T + its wait. While it is unanswered, only events due before the sooner
  of the two may start. So with ``--fast`` every attempt due at T+0 is made and answered before
  any retry due at T+60 starts, while the T+0 attempts (and arrivals close together) run side
  by side.
- **Real time.** ``Clock.speed`` S: an event due at simulated T starts at real ``t0 + T / S``
  (anchored to the start, so sleeps do not drift). ``speed=None`` (fast): no waiting at all,
  except that an arrival schedule (``rate``) keeps its real pace: first attempt i starts at real
  ``t0 + i / rate``, and until the last arrival every event keeps its place on that real clock.
  Timeouts are never scaled.
- **Concurrency.** At most ``concurrency`` attempts are in flight; a notification waiting for
  its next attempt holds no slot.
- **Latency** (``Attempt.latency_ms``) runs from an attempt's intended start (where the schedule
  put it in real time; with ``--fast`` and no schedule left, for a retry, the moment its previous
  attempt was answered) to its answer, so queueing behind a slow receiver or the concurrency
  bound is not hidden (no coordinated omission).

Notifications are pulled from the iterable one ahead of their first attempt; an item may be a
recipe (a callable that makes the notification), called only when the first attempt starts, so a
plan of any size costs nothing until it is sent. Results stream to ``on_attempt`` and
``on_finish`` as frozen records: nothing is kept per notification once its story has ended, so
memory stays flat however many are sent.

Time is injected (``Clock.sleep``/``Clock.now``), so tests assert the order, the bound and the
schedule without waiting.
"""

from __future__ import annotations

import asyncio
import collections
import heapq
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx

from connect_hooks.delivery import Attempt, Delivery, Interrupted, Notification, Now, interrupted, make_attempt
from connect_hooks.policy import Outcome, Policy

RealSleep = Callable[[float], Awaitable[None]]
#: What ``deliver_all`` takes: a notification, or a recipe called when its first attempt starts.
Lazy = Notification | Callable[[], Notification]

#: The largest ``concurrency`` accepted (more only costs memory, not speed).
MAX_CONCURRENCY = 10_000


@dataclass(frozen=True)
class Clock:
    """How simulated time maps onto real time.

    ``speed``: simulated seconds per real second (1 = real time, 60 = a minute a second), or
    ``None`` for fast (no waits). ``sleep(seconds)`` waits *real* seconds; ``now()`` reads the real
    clock both use. Tests pass a fake pair that advances without waiting.
    """

    speed: float | None = 1.0
    sleep: RealSleep = field(default=asyncio.sleep)
    now: Now = field(default=time.monotonic)

    @property
    def fast(self) -> bool:
        return self.speed is None


@dataclass
class _Story:
    """A notification whose story has started and not ended."""

    index: int
    notification: Notification
    attempts: list[Attempt] = field(default_factory=list)


# (simulated due time, notification index, attempt number): unique, and the order attempts start in.
_Key = tuple[float, int, int]
_NEVER: _Key = (math.inf, 0, 0)


async def deliver_all(
    notifications: Iterable[Lazy],
    url: str,
    policy: Policy,
    *,
    client: httpx.AsyncClient,
    clock: Clock | None = None,
    concurrency: int = 10,
    rate: float | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
    on_finish: Callable[[Delivery], None] | None = None,
) -> int:
    """Deliver every notification, each with its own retry story, on one virtual clock.

    ``concurrency`` (at least 1) bounds the attempts in flight; ``rate`` (per simulated second)
    spaces the first attempts (open model: the schedule is fixed in advance, whatever the
    receiver does); without it every first attempt is due at T+0. ``on_attempt`` gets each
    attempt as it is answered, ``on_finish`` each notification's record as its story ends.
    Returns how many notifications' stories ended (delivered, failed or dropped).

    If the task is cancelled (Ctrl-C, SIGTERM), the attempts in flight are cut, every notification
    whose story had started and not ended (in flight or waiting for a retry) goes to ``on_finish``
    as ``interrupted`` (in the order given), and ``Interrupted`` is raised carrying those records.
    Notifications not started yet are left in the iterable, never made (the caller counts them).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if rate is not None and not rate > 0:
        raise ValueError("rate must be positive")
    clock = clock or Clock()
    target = httpx.URL(url)  # parsed once, not once per attempt
    pending: Iterator[tuple[int, Lazy]] = enumerate(notifications)
    next_arrival: tuple[int, Lazy] | None = next(pending, None)
    heap: list[tuple[float, int, int, float, _Story]] = []  # key..., real time its attempt was answered, story
    in_flight: dict[asyncio.Task[tuple[Attempt, float]], tuple[_Story, float]] = {}  # task -> (story, sim start)
    flying: set[tuple[int, int]] = set()  # (notification index, attempt number) of the attempts in flight
    done: collections.deque[asyncio.Task[tuple[Attempt, float]]] = collections.deque()
    wake = asyncio.Event()
    sleeper: tuple[asyncio.Task[None], float] | None = None
    finished = 0
    t0 = clock.now()

    def arrival_due(index: int) -> float:
        return index / rate if rate is not None else 0.0

    def real_due(due: float, arrival: bool) -> float:
        """When an event due at simulated ``due`` may start in real time (-inf: at once)."""
        if clock.speed is not None:
            return t0 + due / clock.speed
        if rate is not None and (arrival or next_arrival is not None):
            return t0 + due  # fast, but the arrival schedule still pins the clock to real time
        return -math.inf

    def bound(story: _Story, start: float) -> _Key:
        """How far the clock may run while an attempt made at simulated ``start`` is unanswered.

        Its answer comes at most ``timeout`` later (simulated), and its retry no earlier than its
        wait: nothing due at or after the sooner of the two starts before the answer is known.
        """
        number = len(story.attempts) + 1
        horizon = policy.timeout
        if number <= policy.retries:
            horizon = min(horizon, policy.waits[number - 1])
        return (start + horizon, story.index, number + 1)

    # The look-ahead limits of the attempts in flight, smallest first (entries of landed ones linger).
    limits: list[tuple[_Key, tuple[int, int]]] = []

    def limit() -> _Key:
        while limits and limits[0][1] not in flying:
            heapq.heappop(limits)
        return limits[0][0] if limits else _NEVER

    def head() -> tuple[_Key, bool] | None:
        """The next event to start and whether it is a first attempt (arrival)."""
        candidates: list[tuple[_Key, bool]] = []
        if heap:
            due, index, number, _, _ = heap[0]
            candidates.append(((due, index, number), False))
        if next_arrival is not None:
            candidates.append(((arrival_due(next_arrival[0]), next_arrival[0], 1), True))
        return min(candidates) if candidates else None

    def settle(task: asyncio.Task[tuple[Attempt, float]]) -> None:
        nonlocal finished
        story, start = in_flight.pop(task)
        record, charged = task.result()
        flying.discard((story.index, record.attempt))
        story.attempts.append(record)
        if on_attempt is not None:
            on_attempt(record)
        if record.wait is None:
            finished += 1
            if on_finish is not None:
                outcome = Outcome(str(record.decision))
                on_finish(Delivery.of(story.notification, url, outcome, tuple(story.attempts)))
            return
        due = start + charged + record.wait
        # With --fast a retry is intended as soon as its attempt is answered (unless the arrival
        # schedule still pins the clock: then at its place on the schedule, see the launch).
        heapq.heappush(heap, (due, story.index, record.attempt + 1, clock.now(), story))

    def launch(story: _Story, due: float, intended: float) -> None:
        number = len(story.attempts) + 1
        coro = make_attempt(
            story.notification, target, policy, number, due, client=client, now=clock.now, intended=intended
        )
        task = asyncio.ensure_future(coro)
        in_flight[task] = (story, due)
        flying.add((story.index, number))
        heapq.heappush(limits, (bound(story, due), (story.index, number)))

        def landed(t: asyncio.Task[tuple[Attempt, float]]) -> None:
            done.append(t)
            wake.set()

        task.add_done_callback(landed)

    async def nap(seconds: float) -> None:
        await clock.sleep(seconds)
        wake.set()

    try:
        while True:
            while done:
                settle(done.popleft())
            # Start every event that is due, allowed by the look-ahead, and has a slot.
            wait_until: float | None = None
            while (current := head()) is not None:
                key, arrival = current
                if len(in_flight) >= concurrency or key >= limit():
                    break  # an answer still to come decides what is next: its landing wakes us
                due_at = real_due(key[0], arrival)
                if due_at > clock.now():
                    wait_until = due_at
                    break
                if arrival:
                    assert next_arrival is not None
                    index, item = next_arrival
                    next_arrival = next(pending, None)
                    notification = item if isinstance(item, Notification) else item()
                    launch(_Story(index, notification), key[0], t0 if due_at == -math.inf else due_at)
                else:
                    _, _, _, answered, story = heapq.heappop(heap)
                    launch(story, key[0], answered if due_at == -math.inf else due_at)
            if not in_flight and head() is None and not done:
                return finished
            # Not `wait_until > clock.now()`: a second look at the clock may find the event due
            # already, and with nothing in flight no one would wake us. A late nap ends at once.
            if wait_until is not None:
                if sleeper is not None and (sleeper[0].done() or sleeper[1] > wait_until):
                    if not sleeper[0].done():
                        sleeper[0].cancel()
                    sleeper = None
                if sleeper is None:
                    sleeper = (asyncio.ensure_future(nap(max(0.0, wait_until - clock.now()))), wait_until)
            if not done:
                await wake.wait()
            wake.clear()
    except (asyncio.CancelledError, KeyboardInterrupt):
        for task in in_flight:
            task.cancel()
        # Answers that landed before the cut still count; the rest are cut attempts.
        await asyncio.gather(*in_flight, return_exceptions=True)
        unfinished: dict[int, tuple[Notification, list[Attempt]]] = {}
        for task, (story, _) in list(in_flight.items()):
            if not task.cancelled() and task.exception() is None:
                record, _ = task.result()
                story.attempts.append(record)
                if on_attempt is not None:
                    on_attempt(record)
            unfinished[story.index] = (story.notification, story.attempts)
        for _, _, _, _, story in heap:
            unfinished[story.index] = (story.notification, story.attempts)
        records = [_stop(n, url, policy, attempts, on_finish) for _, (n, attempts) in sorted(unfinished.items())]
        raise Interrupted(records) from None
    finally:
        if sleeper is not None:
            sleeper[0].cancel()
        for task in in_flight:
            task.cancel()


def _stop(
    notification: Notification,
    url: str,
    policy: Policy,
    attempts: list[Attempt],
    on_finish: Callable[[Delivery], None] | None,
) -> Delivery:
    if attempts and attempts[-1].wait is None:  # its last answer ended it just before the cut
        record = Delivery.of(notification, url, Outcome(str(attempts[-1].decision)), tuple(attempts))
    else:
        record = interrupted(notification, url, policy, attempts)
    if on_finish is not None:
        on_finish(record)
    return record
