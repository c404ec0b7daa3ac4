"""The one retry loop of every sender: many notifications at once, each its own retry story, on ONE clock.

Its design (simulated time, look-ahead, real time, concurrency, latency) is in docs/design.md, "The scheduler".
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import heapq
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx

from connect_hooks.policy import Outcome, Policy
from connect_hooks.sender.clock import Clock
from connect_hooks.sender.delivery import Attempt, Delivery, Interrupted, Notification, interrupted, make_attempt


@dataclass(frozen=True)
class At:
    """A notification (or recipe) whose first attempt is due at simulated second ``at`` (a story's step),
    instead of at T+0 or at its place on the ``rate`` schedule. Arrivals are given in time order."""

    at: float
    item: Notification | Callable[[], Notification]


#: What ``deliver_all`` takes: a notification, a recipe called when its first attempt starts, or either one ``At``
#: a simulated second.
Lazy = Notification | Callable[[], Notification] | At


def made(item: Lazy) -> Notification:
    """The notification ``item`` stands for (a recipe is called now)."""
    if isinstance(item, At):
        item = item.item
    return item if isinstance(item, Notification) else item()


def then(item: Lazy, step: Callable[[Notification], Notification]) -> Lazy:
    """``item`` as a recipe that makes its notification and passes it through ``step`` (its time kept)."""
    if isinstance(item, At):
        return At(item.at, functools.partial(_made_then, item.item, step))
    return functools.partial(_made_then, item, step)


def _made_then(item: Lazy, step: Callable[[Notification], Notification]) -> Notification:
    return step(made(item))


#: The largest ``concurrency`` accepted (more only costs memory, not speed).
MAX_CONCURRENCY = 10_000


@dataclass
class Story:
    """A notification whose story has started and not ended."""

    index: int
    notification: Notification
    attempts: list[Attempt] = field(default_factory=list)


# (simulated due time, notification index, attempt number): unique, and the order attempts start in.
Key = tuple[float, int, int]
_NEVER: Key = (math.inf, 0, 0)


@dataclass(frozen=True)
class Due:
    """The next event: the attempt it is (``key``), whether it is a first attempt, and the real
    time it may start (``at``; ``-inf``: at once)."""

    key: Key
    arrival: bool
    at: float


class Schedule:
    """The scheduler's state, without asyncio: what is owed, what is in flight, what is due next.

    ``next_due`` is a pure function of it; ``take``, ``started`` and ``answered`` change it. The
    attempts' look-ahead limits (``limits``) keep a landed attempt's entry only below the top.
    """

    def __init__(
        self, policy: Policy, clock: Clock, items: Iterable[Lazy], *, concurrency: int, rate: float | None, t0: float
    ) -> None:
        self.policy = policy
        self.speed = clock.speed
        self.concurrency = concurrency
        self.rate = rate
        self.t0 = t0
        self._pending: Iterator[tuple[int, Lazy]] = enumerate(items)
        self.next_arrival: tuple[int, Lazy] | None = next(self._pending, None)
        # key..., the real time its previous attempt was answered, story
        self.retries: list[tuple[float, int, int, float, Story]] = []
        self.limits: list[tuple[Key, tuple[int, int]]] = []
        self.flying: set[tuple[int, int]] = set()  # (notification index, attempt number) in flight
        self.finished = 0

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing owed: the run is over."""
        return not self.flying and self.next_arrival is None and not self.retries

    def head(self) -> tuple[Key, bool] | None:
        """The next event in key order and whether it is a first attempt (arrival)."""
        retry = self.retries[0][:3] if self.retries else None
        if self.next_arrival is None:
            return None if retry is None else (retry, False)
        index, item = self.next_arrival
        start = item.at if isinstance(item, At) else (index / self.rate if self.rate is not None else 0.0)
        arrival = (start, index, 1)
        return (retry, False) if retry is not None and retry < arrival else (arrival, True)

    def limit(self) -> Key:
        """How far the clock may run while the attempts in flight are unanswered."""
        return self.limits[0][0] if self.limits else _NEVER

    def real_due(self, due: float, arrival: bool) -> float:
        """When an event due at simulated ``due`` may start in real time (-inf: at once)."""
        if self.speed != math.inf:
            return self.t0 + due / self.speed
        if self.rate is not None and (arrival or self.next_arrival is not None):
            return self.t0 + due  # fast, but the arrival schedule still pins the clock to real time
        return -math.inf

    def next_due(self) -> Due | None:
        """The next event allowed to start (by the look-ahead and the concurrency bound), or None:
        an answer still to come decides what is next (or nothing is left)."""
        head = self.head()
        if head is None or len(self.flying) >= self.concurrency or head[0] >= self.limit():
            return None
        key, arrival = head
        return Due(key, arrival, self.real_due(key[0], arrival))

    def take(self, due: Due) -> tuple[Story, float]:
        """Remove the event ``due`` from what is owed: its story (an arrival's notification is made
        now) and the real time it was meant to start (for ``latency_ms``)."""
        if due.arrival:
            assert self.next_arrival is not None
            index, item = self.next_arrival
            self.next_arrival = next(self._pending, None)
            notification = made(item)  # made only now
            return Story(index, notification), self.t0 if due.at == -math.inf else due.at
        _, _, _, answered, story = heapq.heappop(self.retries)
        return story, answered if due.at == -math.inf else due.at

    def started(self, story: Story, due: float) -> int:
        """Record that ``story``'s next attempt started at simulated ``due``; returns its number."""
        number = len(story.attempts) + 1
        self.flying.add((story.index, number))
        heapq.heappush(self.limits, (self.bound(story.index, number, due), (story.index, number)))
        return number

    def bound(self, index: int, number: int, start: float) -> Key:
        """An attempt made at simulated ``start`` is answered within ``timeout`` and retried no
        earlier than its wait: nothing due at or after the sooner of the two starts before its answer."""
        horizon = self.policy.timeout
        if number <= self.policy.retries:
            horizon = min(horizon, self.policy.waits[number - 1])
        return (start + horizon, index, number + 1)

    def answered(self, story: Story, record: Attempt, due: float, charged: float, now: float) -> bool:
        """Record an answer; True when it ended the story, else its retry is owed."""
        self.flying.discard((story.index, record.attempt))
        while self.limits and self.limits[0][1] not in self.flying:
            heapq.heappop(self.limits)
        story.attempts.append(record)
        if record.wait is None:
            self.finished += 1
            return True
        # With --fast a retry is intended as soon as its attempt is answered (unless the arrival
        # schedule still pins the clock: then at its place on the schedule, see ``take``).
        heapq.heappush(self.retries, (due + charged + record.wait, story.index, record.attempt + 1, now, story))
        return False

    def waiting(self) -> Iterator[Story]:
        """The stories waiting for a retry."""
        return (entry[4] for entry in self.retries)


#: A chain's task; its result is an answer that landed once the cut was asked for (None: none).
_Task = asyncio.Task["tuple[Story, Attempt] | None"]


class _Run:
    """The asyncio side of ``deliver_all``: chains of attempts, wake-ups, the cut.

    A chain is one task: it makes an attempt, takes its answer in and goes on with the next event
    that is due at once, until none is (so an answer and the next request go out in one step, as
    in a pool of workers); the engine's loop starts a chain for each event due when the chains have
    ended, and naps until the next due time.
    """

    def __init__(
        self,
        schedule: Schedule,
        url: str,
        client: httpx.AsyncClient,
        clock: Clock,
        on_attempt: Callable[[Attempt], None] | None,
        on_finish: Callable[[Delivery], None] | None,
    ) -> None:
        self.schedule = schedule
        self.url = url
        self.target = httpx.URL(url)  # parsed once, not once per attempt
        self.client = client
        self.clock = clock
        self.on_attempt = on_attempt
        self.on_finish = on_finish
        self.chains: dict[_Task, Story | None] = {}  # chain -> the story of its attempt in flight
        self.ended: collections.deque[_Task] = collections.deque()
        self.wake = asyncio.Event()
        self.sleeper: tuple[asyncio.Task[None], float] | None = None
        engine = asyncio.current_task()  # made in deliver_all's task: the one a cut cancels
        assert engine is not None
        self.engine, self.cancels = engine, engine.cancelling()  # (cancellations pending before the run)
        self.turns, self.counting = 0, False  # loop turns seen (see ``turn``)

    async def run(self) -> int:
        schedule = self.schedule
        while True:
            while self.ended:
                task = self.ended.popleft()
                del self.chains[task]
                task.result()  # an observer's error ends the run here
            wait_until = self.start_due()
            if schedule.idle and not self.chains:
                return schedule.finished
            if wait_until is not None:
                self.nap_until(wait_until)
            await self.wake.wait()
            self.wake.clear()

    def take(self) -> tuple[Story, float, float, int] | float | None:
        """Start the next event if it is due now: its story, simulated and intended real start, attempt
        number. Else the real time it is due, or None (an answer decides what is next, or nothing is left)."""
        due = self.schedule.next_due()
        if due is None or due.at > self.clock.now():
            return None if due is None else due.at
        story, intended = self.schedule.take(due)
        return story, due.key[0], intended, self.schedule.started(story, due.key[0])

    def start_due(self) -> float | None:
        """Start a chain for every event that is due; returns the real time the next one is due, if it waits for time."""
        while isinstance(taken := self.take(), tuple):
            task: _Task = asyncio.ensure_future(self.chain(*taken))
            self.chains[task] = taken[0]
            task.add_done_callback(self.land)
        return taken

    async def chain(self, story: Story, due: float, intended: float, number: int) -> tuple[Story, Attempt] | None:
        """Attempt ``story`` (due at simulated ``due``), take the answer in, and go on with the next
        event due at once, until none is. Returns an answer that landed once the cut was asked for."""
        task = asyncio.current_task()
        assert task is not None
        schedule = self.schedule
        while True:
            self.chains[task] = story
            turn = self.turn()
            record, charged = await make_attempt(
                story.notification,
                self.target,
                schedule.policy,
                number,
                due,
                client=self.client,
                clock=self.clock,
                intended=intended,
            )
            if self.cutting():
                return story, record  # the cut takes it in (it still counts)
            self.chains[task] = None
            self.settle(story, record, due, charged)
            if self.turns == turn:  # the answer came without a wait (an in-process transport): let the
                await asyncio.sleep(0)  # loop turn, or every attempt chains into one step, deaf to a signal
                if self.cutting():
                    return None  # no new attempt once the cut is asked for
            taken = self.take()
            if not isinstance(taken, tuple):
                return None
            story, due, intended, number = taken

    def turn(self) -> int:
        """The loop turns counted so far; the count moves on at the next turn (one callback a turn at
        most). A chain whose attempt saw no turn yields: on real sockets it never needs to."""
        if not self.counting:
            self.counting = True
            asyncio.get_running_loop().call_soon(self.count_turn)
        return self.turns

    def count_turn(self) -> None:
        self.counting = False
        self.turns += 1

    def cutting(self) -> bool:
        """Whether the engine's task has been asked to stop (its cut runs next)."""
        return self.engine.cancelling() > self.cancels

    def land(self, task: _Task) -> None:
        self.ended.append(task)
        self.wake.set()

    def settle(self, story: Story, record: Attempt, due: float, charged: float) -> None:
        ended = self.schedule.answered(story, record, due, charged, self.clock.now())
        if self.on_attempt is not None:
            self.on_attempt(record)
        if ended and self.on_finish is not None:
            outcome = Outcome(str(record.decision))
            self.on_finish(Delivery.of(story.notification, self.url, outcome, tuple(story.attempts)))

    def nap_until(self, until: float) -> None:
        """Have the loop woken at real time ``until`` (one sleeper at a time, the soonest). Always set,
        even when ``until`` has passed since the caller read the clock: with nothing in flight, no
        other wake-up would ever come (a send stalled when an answer landed just before a due event)."""
        if self.sleeper is not None and (self.sleeper[0].done() or self.sleeper[1] > until):
            self.sleeper[0].cancel()
            self.sleeper = None
        if self.sleeper is None:
            self.sleeper = (asyncio.ensure_future(self.nap(max(0.0, until - self.clock.now()))), until)

    async def nap(self, seconds: float) -> None:
        await self.clock.sleep(seconds)
        self.wake.set()

    async def cut(self) -> list[Delivery]:
        """Stop: cut the attempts in flight and record every story started and not ended, in order."""
        for task in self.chains:
            task.cancel()
        # Stopped again while cutting (a second Ctrl-C or SIGTERM): the chains are cancelled, go on.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self.chains, return_exceptions=True)
        unfinished: dict[int, Story] = {}
        for task, flying in self.chains.items():
            # Answers that landed before the cut still count; the rest are cut attempts.
            landed = None if task.cancelled() or task.exception() is not None else task.result()
            if landed is not None:
                story, record = landed
                story.attempts.append(record)
                if self.on_attempt is not None:
                    self.on_attempt(record)
            if flying is not None:
                unfinished[flying.index] = flying
        for story in self.schedule.waiting():
            unfinished[story.index] = story
        records = []
        for _, story in sorted(unfinished.items()):
            records.append(interrupted(story.notification, self.url, self.schedule.policy, story.attempts))
            if self.on_finish is not None:
                self.on_finish(records[-1])
        return records

    def close(self) -> None:
        if self.sleeper is not None:
            self.sleeper[0].cancel()
        for task in self.chains:
            task.cancel()


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
    schedule = Schedule(policy, clock, notifications, concurrency=concurrency, rate=rate, t0=clock.now())
    run = _Run(schedule, url, client, clock, on_attempt, on_finish)
    try:
        return await run.run()
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise Interrupted(await run.cut()) from None
    finally:
        run.close()


async def deliver_one(
    notification: Notification,
    url: str,
    policy: Policy,
    *,
    client: httpx.AsyncClient,
    clock: Clock | None = None,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> Delivery:
    """One notification's story: a burst of one on ``deliver_all``. Returns its record; if cut
    (Ctrl-C, a cancelled task), raises ``Interrupted`` carrying its interrupted record."""
    ended: list[Delivery] = []
    await deliver_all(
        [notification], url, policy, client=client, clock=clock, on_attempt=on_attempt, on_finish=ended.append
    )
    return ended[0]
