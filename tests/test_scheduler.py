"""The scheduler with httpx.MockTransport and a fake clock: order, bound and schedule, no real waits."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from connect_hooks.explain import explain
from connect_hooks.policy import Outcome, Policy
from connect_hooks.sender.clock import FAST, Clock
from connect_hooks.sender.delivery import Attempt, Delivery, Interrupted, Notification
from connect_hooks.sender.scheduler import deliver_all, deliver_one

URL = "https://receiver.test/hooks"


class FakeClock:
    """Real time that passes only when someone sleeps (or a fake receiver takes its time)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        for _ in range(20):  # answers that take no time land first, as they would in real time
            await asyncio.sleep(0)
        self.t += seconds

    def clock(self, speed: float | None) -> Clock:
        """The engine's clock at ``speed`` (None: fast) on this fake time."""
        return Clock(speed=FAST if speed is None else speed, sleep=self.sleep, now=self.now)


def gtrid(index: int) -> str:
    return f"{index:08d}-2222-4333-8444-555555555555"


def notification(index: int) -> Notification:
    g = gtrid(index)
    return Notification(target=f"n{index}", body=b'{"n":%d}' % index, gtrid=g, headers=(("x-wx-gtrid", g),))


Answer = int | Exception


@dataclass
class Receiver:
    """Answers the n-th attempt of notification i with ``script(i, n)``; records who came when."""

    clock: FakeClock
    script: Callable[[int, int], Answer] = lambda index, number: 200
    takes: Callable[[int, int], float] = lambda index, number: 0.0  # fake seconds an answer takes
    hold: dict[int, asyncio.Event] = field(default_factory=dict)  # notifications whose answer waits for an event
    turns: Callable[[int, int], int] = lambda index, number: 0  # more event-loop turns an answer takes
    arrivals: list[tuple[int, int, float]] = field(default_factory=list)  # (index, attempt, fake time)
    counts: dict[int, int] = field(default_factory=dict)  # attempts seen per notification
    story: list[tuple[str, int, int]] = field(default_factory=list)  # ("start" | "answer", index, attempt)
    active: int = 0
    most_active: int = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        index = int(request.headers["x-wx-gtrid"][:8])
        number = self.counts[index] = self.counts.get(index, 0) + 1
        self.arrivals.append((index, number, self.clock.t))
        self.story.append(("start", index, number))
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            for _ in range(3 + self.turns(index, number)):  # let others run meanwhile, as a real receiver would
                await asyncio.sleep(0)
            if index in self.hold:
                await self.hold[index].wait()
            self.clock.t += self.takes(index, number)
        finally:
            self.active -= 1
        self.story.append(("answer", index, number))
        answer = self.script(index, number)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer)

    @property
    def order(self) -> list[tuple[int, int]]:
        return [(i, n) for i, n, _ in self.arrivals]


@dataclass
class Run:
    attempts: list[Attempt]
    finished: list[Delivery]
    delivered: int


def run(
    receiver: Receiver,
    count: int,
    *,
    speed: float | None = None,
    policy: Policy | None = None,
    **kw: object,
) -> Run:
    attempts: list[Attempt] = []
    finished: list[Delivery] = []

    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            return await deliver_all(
                [notification(i) for i in range(count)],
                URL,
                policy or Policy(),
                client=client,
                clock=receiver.clock.clock(speed),
                on_attempt=attempts.append,
                on_finish=finished.append,
                **kw,  # type: ignore[arg-type]
            )

    return Run(attempts, finished, asyncio.run(go()))


def first_fails(index: int, number: int) -> Answer:
    return 503 if number == 1 else 200


@pytest.mark.parametrize("speed", [None, 1.0, 600.0])
def test_every_first_attempt_is_answered_before_any_retry_at_any_speed(speed: float | None) -> None:
    receiver = Receiver(FakeClock(), script=first_fails)
    result = run(receiver, 6, speed=speed, concurrency=3)
    assert receiver.order == [(i, 1) for i in range(6)] + [(i, 2) for i in range(6)]
    assert [(a.attempt, a.scheduled_at) for a in result.attempts[:6]] == [(1, 0.0)] * 6
    assert sorted({a.scheduled_at for a in result.attempts[6:]}) == [60.0]
    assert [d.outcome for d in result.finished] == [Outcome.DELIVERED] * 6
    assert result.delivered == 6


@pytest.mark.parametrize("speed", [None, 1.0, 600.0])
def test_no_retry_starts_before_every_earlier_attempt_is_answered(speed: float | None) -> None:
    slow = asyncio.Event()
    receiver = Receiver(FakeClock(), script=first_fails, hold={2: slow})

    async def release_later() -> None:
        for _ in range(200):  # plenty of turns for a wrong scheduler to start a retry meanwhile
            await asyncio.sleep(0)
        slow.set()

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            releaser = asyncio.ensure_future(release_later())
            await deliver_all(
                [notification(i) for i in range(3)], URL, Policy(), client=client, clock=receiver.clock.clock(speed)
            )
            await releaser

    asyncio.run(go())
    assert receiver.story.index(("answer", 2, 1)) < receiver.story.index(("start", 0, 2))
    assert receiver.order == [(0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2)]


@pytest.mark.parametrize("speed", [None, 1.0, 600.0])
def test_a_retry_due_before_the_next_arrival_goes_first(speed: float | None) -> None:
    # Notification 0 is slow; at rate 0.01 the next arrival is due at T+100, its retry at T+60:
    # nothing may start before 0's answer says whether a retry comes first.
    receiver = Receiver(FakeClock(), script=lambda i, n: 503 if (i, n) == (0, 1) else 200, takes=lambda i, n: 5.0)
    result = run(receiver, 3, speed=speed, rate=0.01)
    assert receiver.order == [(0, 1), (0, 2), (1, 1), (2, 1)]
    assert (
        [(a.gtrid[:8], a.attempt, a.scheduled_at) for a in result.attempts]
        == [
            (gtrid(0)[:8], 1, 0.0),
            (gtrid(0)[:8], 2, 65.0),  # 5 s of answer time charged, then the 60 s wait
            (gtrid(1)[:8], 1, 100.0),
            (gtrid(2)[:8], 1, 200.0),
        ]
    )


def test_the_concurrency_bound_is_held_and_used() -> None:
    receiver = Receiver(FakeClock())
    result = run(receiver, 25, concurrency=4)
    assert receiver.most_active == 4
    assert result.delivered == 25
    assert receiver.order == [(i, 1) for i in range(25)]


def test_answer_time_is_charged_in_whole_seconds() -> None:
    receiver = Receiver(FakeClock(), script=lambda i, n: 503, takes=lambda i, n: [0.9, 1.6, 0.2, 0.0][n - 1])
    result = run(receiver, 1, speed=1.0)
    assert [a.scheduled_at for a in result.attempts] == [0, 60, 121, 181]
    assert [round(a.elapsed_ms) for a in result.attempts] == [900, 1600, 200, 0]


def test_a_notification_waiting_for_its_retry_holds_no_slot() -> None:
    receiver = Receiver(FakeClock(), script=lambda i, n: 503 if (i, n) == (0, 1) else 200)
    run(receiver, 3, concurrency=1, speed=1.0)
    assert receiver.order == [(0, 1), (1, 1), (2, 1), (0, 2)]
    assert [t for _, _, t in receiver.arrivals] == [0, 0, 0, 60]


def test_speed_sleeps_the_scaled_difference_and_never_scales_the_answer() -> None:
    clock = FakeClock()
    receiver = Receiver(clock, script=lambda i, n: 503)
    result = run(receiver, 1, speed=600.0)
    assert [t for _, _, t in receiver.arrivals] == pytest.approx([0, 0.1, 0.2, 0.3])
    assert [a.scheduled_at for a in result.attempts] == [0, 60, 120, 180]
    assert result.finished[0].outcome is Outcome.DROPPED


def test_fast_never_sleeps_without_a_rate() -> None:
    clock = FakeClock()
    receiver = Receiver(clock, script=lambda i, n: 503)
    result = run(receiver, 5)
    assert clock.sleeps == []
    assert len(receiver.arrivals) == 20
    assert [d.outcome for d in result.finished] == [Outcome.DROPPED] * 5


@pytest.mark.parametrize(("speed", "spacing"), [(None, 0.25), (1.0, 0.25), (60.0, 0.25 / 60)])
def test_first_attempts_follow_the_rate_schedule(speed: float | None, spacing: float) -> None:
    receiver = Receiver(FakeClock())
    result = run(receiver, 6, speed=speed, rate=4.0)
    assert [t for _, _, t in receiver.arrivals] == pytest.approx([i * spacing for i in range(6)])
    assert [a.scheduled_at for a in result.attempts] == [i * 0.25 for i in range(6)]


def test_latency_counts_from_the_intended_start_so_queueing_shows() -> None:
    # 2 arrivals a second, one at a time, each answer takes 1 s: the receiver falls behind.
    receiver = Receiver(FakeClock(), takes=lambda i, n: 1.0)
    result = run(receiver, 4, speed=1.0, rate=2.0, concurrency=1)
    assert [t for _, _, t in receiver.arrivals] == [0, 1, 2, 3]
    assert [a.elapsed_ms for a in result.attempts] == [1000] * 4
    assert [a.latency_ms for a in result.attempts] == [1000, 1500, 2000, 2500]


def test_fast_with_a_rate_keeps_retries_on_the_schedule_too() -> None:
    # 70 arrivals a second apart: notification 0's retry (T+60) falls among them, at real 60 s.
    receiver = Receiver(FakeClock(), script=lambda i, n: 503 if (i, n) == (0, 1) else 200)
    result = run(receiver, 70, rate=1.0)
    retry = next(a for a in result.attempts if a.attempt == 2)
    assert (retry.scheduled_at, receiver.arrivals[60]) == (60.0, (0, 2, 60.0))  # after arrivals 0..59
    assert max(a.latency_ms or 0 for a in result.attempts) < 1000  # nobody waited a minute for nothing


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (503, "503"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("no"), "connection-error"),
        (404, "404"),
    ],
)
def test_the_timeline_agrees_with_the_policy_explainer(answer: Answer, text: str) -> None:
    result = run(Receiver(FakeClock(), script=lambda i, n: answer), 1, speed=60.0)
    explanation = explain(text)
    assert [a.scheduled_at for a in result.attempts] == [step.at for step in explanation.steps]
    assert result.finished[0].outcome is explanation.outcome


def test_the_explainer_agrees_with_the_engine_for_every_status_and_fault() -> None:
    answers: list[tuple[str, Answer]] = [(str(status), status) for status in range(100, 600)]
    answers += [("timeout", httpx.ReadTimeout("slow")), ("connection-error", httpx.ConnectError("refused"))]
    result = run(Receiver(FakeClock(), script=lambda i, n: answers[i][1]), len(answers), concurrency=100)
    disagreements = []
    for delivery in result.finished:
        text = answers[int(delivery.target[1:])][0]
        explanation = explain(text)
        engine = ([a.scheduled_at for a in delivery.attempts], delivery.outcome)
        explained = ([step.at for step in explanation.steps], explanation.outcome)
        if engine != explained:
            disagreements.append((text, engine, explained))
    assert len(result.finished) == len(answers)
    assert disagreements == []


def test_notifications_are_pulled_only_when_due() -> None:
    pulled: list[int] = []
    receiver = Receiver(FakeClock())
    most_ahead = 0

    def lazily() -> Iterator[Notification]:
        for i in range(50):
            pulled.append(i)
            yield notification(i)

    def on_attempt(attempt: Attempt) -> None:
        nonlocal most_ahead
        most_ahead = max(most_ahead, len(pulled) - int(attempt.gtrid[:8]))

    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            return await deliver_all(
                lazily(),
                URL,
                Policy(),
                client=client,
                clock=receiver.clock.clock(None),
                concurrency=3,
                on_attempt=on_attempt,
            )

    assert asyncio.run(go()) == 50
    assert most_ahead <= 5  # the in-flight ones and the next, not all 50


def test_cancelled_burst_gives_every_started_notification_one_terminal_record() -> None:
    blocked = asyncio.Event()
    receiver = Receiver(FakeClock(), script=lambda i, n: 503 if i == 1 else 200, hold={2: blocked, 3: blocked})
    finished: list[Delivery] = []
    made: list[int] = []

    def recipe(index: int) -> Notification:
        made.append(index)
        return notification(index)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            task = asyncio.ensure_future(
                deliver_all(
                    [functools.partial(recipe, i) for i in range(5)],
                    URL,
                    Policy(),
                    client=client,
                    clock=receiver.clock.clock(1.0),
                    concurrency=2,
                    on_finish=finished.append,
                )
            )
            while receiver.active < 2 or len(receiver.arrivals) < 4:
                await asyncio.sleep(0)
            task.cancel()
            await task

    with pytest.raises(Interrupted) as stop:
        asyncio.run(go())
    assert [(d.target, d.outcome, len(d.attempts), d.retries_left) for d in finished] == [
        ("n0", Outcome.DELIVERED, 1, 0),
        ("n1", Outcome.INTERRUPTED, 1, 3),  # waiting for its retry
        ("n2", Outcome.INTERRUPTED, 0, 3),  # cut in flight: the cut attempt is still owed
        ("n3", Outcome.INTERRUPTED, 0, 3),
    ]  # n4 never started: no record
    assert list(stop.value.deliveries) == finished[1:]
    assert made == [0, 1, 2, 3]  # a recipe is made only when its first attempt starts: n4 never was


@pytest.mark.parametrize(
    ("concurrency", "rate", "message"),
    [(0, None, "concurrency must be at least 1"), (1, 0.0, "rate must be positive")],
)
def test_bad_bounds_are_refused(concurrency: int, rate: float | None, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        run(Receiver(FakeClock()), 1, concurrency=concurrency, rate=rate)


def test_nothing_to_send_ends_at_once() -> None:
    receiver = Receiver(FakeClock())
    result = run(receiver, 0)
    assert (result.delivered, result.attempts, result.finished, receiver.arrivals) == (0, [], [], [])


def test_ten_in_flight_by_default() -> None:
    receiver = Receiver(FakeClock())
    assert run(receiver, 25).delivered == 25  # no concurrency given: the documented default, 10
    assert receiver.most_active == 10


@pytest.mark.parametrize(
    ("held", "rate", "order"),
    [
        # notification 1 due at 4, inside attempt 1's deadline (0 + 10) but after its retry (0 + 2)
        (1, 1 / 4, [(0, 1, 0), (0, 2, 2), (1, 1, 4), (0, 3, 7), (0, 4, 15)]),
        # due at 8: after attempt 2's retry (2 + 5), inside its deadline (2 + 10)
        (2, 1 / 8, [(0, 1, 0), (0, 2, 2), (0, 3, 7), (1, 1, 8), (0, 4, 15)]),
        # due at 16: after the last retry (7 + 8), inside attempt 3's deadline (7 + 10)
        (3, 1 / 16, [(0, 1, 0), (0, 2, 2), (0, 3, 7), (0, 4, 15), (1, 1, 16)]),
    ],
)
def test_the_look_ahead_uses_each_attempts_own_wait_when_it_is_shorter_than_the_deadline(
    held: int, rate: float, order: list[tuple[int, int, float]]
) -> None:
    # waits 2, 5, 8 s, each shorter than the 10 s deadline; notification 0 fails three times, and
    # its attempt `held` takes long to answer (turns of the event loop, no fake time). Notification 1
    # is due after that attempt's retry: it must wait for the answer, then go after the retry.
    receiver = Receiver(
        FakeClock(),
        script=lambda i, n: 503 if (i, n) < (0, 4) else 200,
        turns=lambda i, n: 200 if (i, n) == (0, held) else 0,  # plenty for a wrong scheduler to start 1
    )
    run(receiver, 2, speed=1.0, rate=rate, policy=Policy(timeout=10.0, waits=(2.0, 5.0, 8.0)))
    assert receiver.arrivals == order


def test_with_fast_a_retry_is_intended_when_its_attempt_was_answered() -> None:
    # every answer takes 1 s (fake, charged: the retry is due at 1 + 60): its latency is its own
    # second, from its attempt's answer, not the minute skipped
    receiver = Receiver(FakeClock(), script=first_fails, takes=lambda i, n: 1.0)
    result = run(receiver, 1)
    assert [(a.attempt, a.scheduled_at, a.latency_ms) for a in result.attempts] == [(1, 0.0, 1000.0), (2, 61.0, 1000.0)]


@pytest.mark.parametrize(
    ("answer", "outcome", "retries_left"),
    [(200, Outcome.DELIVERED, 0), (503, Outcome.INTERRUPTED, 3)],
)
def test_an_answer_that_landed_just_before_the_cut_still_counts(
    answer: int, outcome: Outcome, retries_left: int
) -> None:
    # The cut comes right after notification 0's answer lands, before the engine takes it in;
    # notification 1 is still in flight (cut: its attempt does not count).
    attempts: list[Attempt] = []
    finished: list[Delivery] = []
    engine: list[asyncio.Task[int]] = []

    def script(index: int, number: int) -> Answer:
        if index == 0:  # cut the engine as this attempt's answer lands (the cut runs at its next turn)
            engine[0].cancel()
        return answer

    receiver = Receiver(FakeClock(), script=script, hold={1: asyncio.Event()})

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            engine.append(
                asyncio.ensure_future(
                    deliver_all(
                        [notification(i) for i in range(2)],
                        URL,
                        Policy(),
                        client=client,
                        clock=receiver.clock.clock(None),
                        on_attempt=attempts.append,
                        on_finish=finished.append,
                    )
                )
            )
            await engine[0]

    with pytest.raises(Interrupted) as stop:
        asyncio.run(go())
    assert [(a.gtrid, a.attempt, a.status) for a in attempts] == [(gtrid(0), 1, answer)]
    assert [(d.url, d.target, d.outcome, d.attempts, d.retries_left) for d in finished] == [
        (URL, "n0", outcome, tuple(attempts), retries_left),
        (URL, "n1", Outcome.INTERRUPTED, (), 3),
    ]
    assert list(stop.value.deliveries) == finished


class TickingClock(FakeClock):
    """A clock that moves on a microsecond every time it is read, as a real one does between two reads."""

    def now(self) -> float:
        self.t += 1e-6
        return self.t


def test_an_answer_landing_just_before_the_next_event_is_due_does_not_stall_the_send() -> None:
    # One slot; notification 0's answer lands a few microseconds before notification 1 is due
    # (T+1 s). Found by mutation testing: the engine read the clock twice, found 1 not due yet,
    # then due already, so it set no timer, and with nothing in flight it waited forever. The
    # landing moment is swept in half-microsteps, so it hits between the two reads.
    async def send(clock: TickingClock, receiver: Receiver) -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            sending = deliver_all(
                [notification(i) for i in range(2)],
                URL,
                Policy(),
                client=client,
                clock=clock.clock(1.0),
                concurrency=1,
                rate=1.0,
            )
            return await asyncio.wait_for(sending, 2.0)  # real seconds: a stall, not a slow machine

    def landing(seconds: float, index: int, number: int) -> float:
        return seconds if index == 0 else 0.0

    stalled = []
    for step in range(40):
        clock = TickingClock()
        receiver = Receiver(clock, takes=functools.partial(landing, 1.0 - step * 0.5e-6))
        try:
            assert asyncio.run(send(clock, receiver)) == 2
        except Interrupted:  # cancelled by wait_for
            stalled.append(step)
            break
    assert stalled == []


def test_deliver_one_is_a_burst_of_one_and_reports_each_attempt() -> None:
    """One notification (demo, the plugin) on the same engine: its record, and each attempt as it is answered."""
    receiver = Receiver(FakeClock(), script=lambda index, number: 503 if number < 3 else 200)
    seen: list[Attempt] = []

    async def go() -> Delivery:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            return await deliver_one(
                notification(7), URL, Policy(), client=client, clock=receiver.clock.clock(None), on_attempt=seen.append
            )

    delivery = asyncio.run(go())
    assert (delivery.outcome, delivery.gtrid) == (Outcome.DELIVERED, gtrid(7))
    assert [(a.attempt, a.status, a.scheduled_at) for a in delivery.attempts] == [
        (1, 503, 0),
        (2, 503, 60),
        (3, 200, 120),
    ]
    assert seen == list(delivery.attempts)  # every attempt reported, as demo's live lines need


def test_an_answer_and_the_next_request_go_out_in_one_step_of_one_task() -> None:
    # httpx's pool gives one idle connection to every request that enters it in the same loop turn
    # (all but one then retry): so each task that took an answer in starts the next due attempt
    # itself, in the same step, as a worker of a pool would; no task, wake or turn per attempt.
    turns = 0
    seen: list[tuple[str, int, asyncio.Task[object] | None, int]] = []  # (event, index, task, loop turn)
    receiver = Receiver(FakeClock())

    async def handler(request: httpx.Request) -> httpx.Response:
        index = int(request.headers["x-wx-gtrid"][:8])
        seen.append(("start", index, asyncio.current_task(), turns))
        response = await receiver(request)
        seen.append(("answer", index, asyncio.current_task(), turns))
        return response

    async def tick() -> None:
        nonlocal turns
        while True:
            turns += 1  # one step of this task each loop turn
            await asyncio.sleep(0)

    async def go() -> int:
        ticker = asyncio.ensure_future(tick())
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            delivered = await deliver_all(
                [notification(i) for i in range(12)], URL, Policy(), client=client, clock=FAKE_FAST, concurrency=3
            )
        ticker.cancel()
        return delivered

    FAKE_FAST = receiver.clock.clock(None)
    assert asyncio.run(go()) == 12
    assert receiver.order == [(i, 1) for i in range(12)]
    assert len({task for _, _, task, _ in seen}) == 3  # three chains for 12 attempts, at concurrency 3
    for at, (event, _, task, turn) in enumerate(seen):
        after = next((later for later in seen[at + 1 :] if later[2] is task), None)
        if event == "answer" and after is not None:
            assert (after[0], after[3]) == ("start", turn)  # this task's next request, in the same turn


def test_answers_that_need_no_loop_turn_still_let_a_cut_in_between_attempts() -> None:
    # An in-process receiver answers without the loop turning; the engine must still turn it
    # between attempts (a signal handler, a cancel), and start nothing once the cut is asked for.
    cut_asked = False
    after_the_cut: list[int] = []
    engine: list[asyncio.Task[int]] = []

    before_the_cut: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:  # not a coroutine: no loop turn
        (after_the_cut if cut_asked else before_the_cut).append(int(request.headers["x-wx-gtrid"][:8]))
        return httpx.Response(200)

    async def go() -> None:
        nonlocal cut_asked
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            engine.append(
                asyncio.ensure_future(
                    deliver_all(
                        [notification(i) for i in range(200)],
                        URL,
                        Policy(),
                        client=client,
                        clock=FakeClock().clock(None),
                        concurrency=2,
                    )
                )
            )
            for _ in range(3):
                await asyncio.sleep(0)
            cut_asked = True
            engine[0].cancel()
            await engine[0]

    with pytest.raises(Interrupted):
        asyncio.run(go())
    assert 0 < len(before_the_cut) < 200  # the cut came in between attempts
    assert after_the_cut == []


def test_a_cut_as_a_notification_is_made_still_gives_it_a_record() -> None:
    # The cut comes while the engine starts notification 1 (its recipe asks for it): it was started,
    # so it gets its interrupted record (its request, cut, does not count).
    engine: list[asyncio.Task[int]] = []
    finished: list[Delivery] = []
    receiver = Receiver(FakeClock(), hold={0: asyncio.Event()})

    def recipe(index: int) -> Notification:
        if index == 1:
            engine[0].cancel()
        return notification(index)

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            sending = deliver_all(
                [functools.partial(recipe, i) for i in range(3)],
                URL,
                Policy(),
                client=client,
                clock=receiver.clock.clock(None),
                concurrency=2,
                on_finish=finished.append,
            )
            engine.append(asyncio.ensure_future(sending))
            await engine[0]

    with pytest.raises(Interrupted) as stop:
        asyncio.run(go())
    assert [(d.target, d.outcome, d.attempts, d.retries_left) for d in finished] == [
        ("n0", Outcome.INTERRUPTED, (), 3),
        ("n1", Outcome.INTERRUPTED, (), 3),
    ]  # n2 never started
    assert list(stop.value.deliveries) == finished
    assert receiver.order == [(0, 1), (1, 1)]  # n0 held, n1 cut: neither was answered


def test_the_cut_waits_for_every_attempt_to_stop_and_survives_a_second_stop() -> None:
    # Closing a connection can take a few loop turns after a cancel: the cut waits for every attempt
    # to end before it reads them, and a second stop meanwhile (Ctrl-C twice) does not lose the records.
    engine: list[asyncio.Task[int]] = []
    finished: list[Delivery] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        index = int(request.headers["x-wx-gtrid"][:8])
        try:
            await asyncio.Event().wait()  # never answers
        finally:
            for _ in range(index * 5):  # slower to close, the later the notification
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.sleep(0)
        raise AssertionError("unreachable")

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            sending = deliver_all(
                [notification(i) for i in range(4)],
                URL,
                Policy(),
                client=client,
                clock=FakeClock().clock(None),
                concurrency=3,
                on_finish=finished.append,
            )
            engine.append(asyncio.ensure_future(sending))
            for _ in range(5):
                await asyncio.sleep(0)
            engine[0].cancel()
            for _ in range(3):
                await asyncio.sleep(0)
            engine[0].cancel()  # a second stop, while the cut waits
            await engine[0]

    with pytest.raises(Interrupted) as stop:
        asyncio.run(go())
    assert [(d.target, d.outcome, d.attempts) for d in finished] == [
        (f"n{i}", Outcome.INTERRUPTED, ()) for i in range(3)
    ]
    assert list(stop.value.deliveries) == finished


def test_an_attempt_due_inside_an_unanswered_attempts_horizon_runs_beside_it() -> None:
    # waits 5, 1, 1 s, deadline 10 s, fast. Notification 3's first attempt (T+0) is held: nothing due
    # at or after T+5 (its earliest retry) may start before its answer, anything before may.
    # Notification 0 fails twice: its second attempt (T+5, before 3's limit in key order) runs beside
    # 3's; its third (T+6) waits for 3's answer. The limit counts from each attempt's own start.
    release = asyncio.Event()
    receiver = Receiver(FakeClock(), script=lambda i, n: 503 if i == 0 and n < 3 else 200, hold={3: release})

    async def release_later() -> None:
        for _ in range(300):  # plenty of turns for a wrong scheduler to start n0's third attempt
            await asyncio.sleep(0)
        release.set()

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
            releaser = asyncio.ensure_future(release_later())
            await deliver_all(
                [notification(i) for i in range(4)],
                URL,
                Policy(timeout=10.0, waits=(5.0, 1.0, 1.0)),
                client=client,
                clock=receiver.clock.clock(None),
            )
            await releaser

    asyncio.run(go())
    story = receiver.story
    assert story.index(("start", 0, 2)) < story.index(("answer", 3, 1)) < story.index(("start", 0, 3))
