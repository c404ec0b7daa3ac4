"""The scheduler's state without asyncio: "what is due next" as a pure function of ``Schedule``."""

from __future__ import annotations

import math

from connect_hooks.policy import Decision, Policy
from connect_hooks.sender.clock import FAST, Clock
from connect_hooks.sender.delivery import Attempt, Notification
from connect_hooks.sender.scheduler import Due, Schedule


def notification(index: int) -> Notification:
    return Notification(target=f"n{index}", body=b"{}", gtrid=f"g{index}", headers=())


def answer(number: int, wait: float | None) -> Attempt:
    decision = Decision.RETRY if wait is not None else Decision.DELIVERED
    return Attempt("g", number, 0.0, 503 if wait else 200, None, None, 1.0, decision, wait)


def schedule(count: int, *, speed: float = 1.0, concurrency: int = 10, rate: float | None = None) -> Schedule:
    items = [notification(i) for i in range(count)]
    return Schedule(Policy(), Clock(speed=speed), items, concurrency=concurrency, rate=rate, t0=100.0)


def test_first_attempts_are_due_at_t0_in_order_and_asking_twice_changes_nothing() -> None:
    plan = schedule(2)
    assert plan.next_due() == Due((0.0, 0, 1), True, 100.0)
    assert plan.next_due() == plan.next_due()  # pure: asking does not take it
    story, intended = plan.take(plan.next_due())  # type: ignore[arg-type]
    assert (story.index, intended) == (0, 100.0)
    plan.started(story, 0.0)
    assert plan.next_due() == Due((0.0, 1, 1), True, 100.0)


def test_a_retry_is_due_at_its_wait_and_the_look_ahead_holds_it_until_answers_are_in() -> None:
    plan = schedule(1, speed=60.0)
    story, _ = plan.take(plan.next_due())  # type: ignore[arg-type]
    plan.started(story, 0.0)
    assert plan.next_due() is None  # nothing left but the answer to come
    assert plan.flying == {(0, 1)}  # in flight: the run is not over
    ended = plan.answered(story, answer(1, 60.0), 0.0, 0.0, now=100.5)
    assert not ended
    # simulated T+60 at speed 60 is one real second after t0
    assert plan.next_due() == Due((60.0, 0, 2), False, 101.0)
    story, _ = plan.take(plan.next_due())  # type: ignore[arg-type]
    plan.started(story, 60.0)
    assert plan.answered(story, answer(2, None), 60.0, 0.0, now=101.0)
    assert plan.idle and plan.finished == 1


def test_the_concurrency_bound_and_the_rate_decide_what_may_start() -> None:
    plan = schedule(3, concurrency=1, rate=2.0)
    story, _ = plan.take(plan.next_due())  # type: ignore[arg-type]
    plan.started(story, 0.0)
    assert plan.next_due() is None  # the one slot is taken
    plan.answered(story, answer(1, None), 0.0, 0.0, now=100.0)
    assert plan.next_due() == Due((0.5, 1, 1), True, 100.5)  # the second arrival: 1 / rate later


def test_fast_starts_a_retry_at_once_and_intends_it_when_its_attempt_was_answered() -> None:
    plan = schedule(1, speed=FAST)
    story, _ = plan.take(plan.next_due())  # type: ignore[arg-type]
    plan.started(story, 0.0)
    plan.answered(story, answer(1, 60.0), 0.0, 0.0, now=107.0)
    due = plan.next_due()
    assert due == Due((60.0, 0, 2), False, -math.inf)
    assert due is not None
    assert plan.take(due)[1] == 107.0
