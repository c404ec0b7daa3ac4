"""One notification's story (a burst of one on the engine) with httpx.MockTransport and a fake clock:
exact waits, no waiting."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest

from connect_hooks.client.attempt import classify
from connect_hooks.policy import Decision, Fault, Outcome, Policy
from connect_hooks.sender.clock import Clock
from connect_hooks.sender.delivery import Delivery, Interrupted, Notification
from connect_hooks.sender.scheduler import deliver_one

URL = "https://receiver.test/hooks"


class FakeTime:
    """sleep() records and advances; each answer (``answer()``) takes ``attempt_cost`` seconds."""

    def __init__(self, attempt_cost: float = 0.0) -> None:
        self.t = 0.0
        self.waits: list[float] = []
        self.attempt_cost = attempt_cost

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.t += seconds

    def now(self) -> float:
        return self.t

    def answer(self) -> None:
        self.t += self.attempt_cost

    def clock(self, sleep: Callable[[float], Awaitable[None]] | None = None) -> Clock:
        """The engine's clock in real time (speed 1) on this fake time."""
        return Clock(speed=1.0, sleep=sleep or self.sleep, now=self.now)


def notification(gtrid: str = "11111111-2222-4333-8444-555555555555", body: bytes = b'{"a":1}') -> Notification:
    headers = (("Content-Type", "application/json"), ("x-wx-gtrid", gtrid))
    return Notification(target="receipt/sms/delivered", body=body, gtrid=gtrid, headers=headers)


def scripted(
    *answers: int | Exception, clock: FakeTime | None = None
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if clock is not None:
            clock.answer()
        answer = answers[min(len(seen) - 1, len(answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, headers={"location": "https://elsewhere.test/"} if answer == 302 else {})

    return handler, seen


def run(
    *answers: int | Exception, policy: Policy | None = None, clock: FakeTime | None = None
) -> tuple[Delivery, FakeTime, list[httpx.Request]]:
    clock = clock or FakeTime()
    handler, seen = scripted(*answers, clock=clock)

    async def go() -> Delivery:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            return await deliver_one(notification(), URL, policy or Policy(), client=client, clock=clock.clock())

    return asyncio.run(go()), clock, seen


def test_delivered_at_once() -> None:
    delivery, clock, seen = run(200)
    assert delivery.outcome is Outcome.DELIVERED
    assert clock.waits == []
    assert len(seen) == 1
    assert [a.decision for a in delivery.attempts] == [Decision.DELIVERED]


def test_retried_until_delivered() -> None:
    delivery, clock, _ = run(503, 503, 200)
    assert clock.waits == [60, 60]
    assert delivery.outcome is Outcome.DELIVERED
    assert [a.status for a in delivery.attempts] == [503, 503, 200]
    assert [a.decision for a in delivery.attempts] == [Decision.RETRY, Decision.RETRY, Decision.DELIVERED]
    assert [a.scheduled_at for a in delivery.attempts] == [0, 60, 120]


def test_every_attempt_sends_the_same_bytes_and_gtrid() -> None:
    _, _, seen = run(500, 500, 200)
    assert {r.content for r in seen} == {b'{"a":1}'}
    assert {r.headers["x-wx-gtrid"] for r in seen} == {"11111111-2222-4333-8444-555555555555"}
    assert {r.method for r in seen} == {"POST"}


def test_always_failing_is_dropped_after_three_retries() -> None:
    delivery, clock, seen = run(500)
    assert clock.waits == [60, 60, 60]
    assert len(seen) == 4
    assert delivery.outcome is Outcome.DROPPED
    assert [a.decision for a in delivery.attempts][-1] is Decision.DROPPED
    assert [a.wait for a in delivery.attempts] == [60, 60, 60, None]


@pytest.mark.parametrize("status", [404, 202, 204, 301, 400, 505])
def test_no_retry_status_fails_at_once(status: int) -> None:
    delivery, clock, seen = run(status, 200)
    assert delivery.outcome is Outcome.FAILED
    assert clock.waits == []
    assert len(seen) == 1


def test_201_is_not_200() -> None:
    delivery, clock, _ = run(201, 200)
    assert clock.waits == [60]
    assert delivery.outcome is Outcome.DELIVERED
    assert delivery.attempts[0].decision is Decision.RETRY


def test_redirect_is_not_followed() -> None:
    delivery, _, seen = run(302, 200)
    assert [str(r.url) for r in seen] == [URL]
    assert delivery.outcome is Outcome.FAILED


def test_backoff_schedule_waits() -> None:
    _, clock, _ = run(503, policy=Policy.build(schedule="backoff"))
    assert clock.waits == [30, 60, 120]


def test_simulated_time_charges_attempt_durations_in_whole_seconds() -> None:
    delivery, _, _ = run(503, clock=FakeTime(attempt_cost=2.5))
    assert [a.scheduled_at for a in delivery.attempts] == [0, 62, 124, 186]
    assert [a.elapsed_ms for a in delivery.attempts] == [2500, 2500, 2500, 2500]


def test_answers_within_a_second_do_not_move_the_timeline() -> None:
    delivery, _, _ = run(503, clock=FakeTime(attempt_cost=0.999))
    assert [a.scheduled_at for a in delivery.attempts] == [0, 60, 120, 180]


def test_a_timeout_is_charged_the_whole_deadline() -> None:
    delivery, _, _ = run(httpx.ReadTimeout("slow"), clock=FakeTime(attempt_cost=0.2))
    assert [a.scheduled_at for a in delivery.attempts] == [0, 70, 140, 210]


def test_connection_errors_are_retried() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    delivery, clock, _ = run(refused, refused, 200)
    assert clock.waits == [60, 60]
    assert delivery.attempts[0].fault is Fault.CONNECTION_ERROR
    assert delivery.attempts[0].status is None
    assert delivery.attempts[0].error == "cannot connect: [Errno 111] Connection refused"


def test_deadline_covers_the_whole_attempt() -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    clock = FakeTime()

    async def go() -> Delivery:
        async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
            policy = Policy.build(retries=1, timeout=0.05)
            return await deliver_one(notification(), URL, policy, client=client, clock=clock.clock())

    delivery = asyncio.run(go())
    assert [a.fault for a in delivery.attempts] == [Fault.TIMEOUT, Fault.TIMEOUT]
    assert delivery.attempts[0].error == "no complete answer within 0.05 s"
    assert delivery.outcome is Outcome.DROPPED


def test_on_attempt_sees_each_attempt_as_it_happens() -> None:
    handler, _ = scripted(503, 200)
    clock = FakeTime()
    seen: list[tuple[int, int]] = []

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await deliver_one(
                notification(),
                URL,
                Policy(),
                client=client,
                clock=clock.clock(),
                on_attempt=lambda a: seen.append((a.attempt, len(clock.waits))),
            )

    asyncio.run(go())
    assert seen == [(1, 0), (2, 1)]  # reported before the wait that follows it


@pytest.mark.parametrize(
    ("exc", "fault"),
    [
        (TimeoutError(), Fault.TIMEOUT),
        (httpx.ReadTimeout("slow"), Fault.TIMEOUT),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), Fault.PROTOCOL_ERROR),
        (httpx.ReadError("reset"), Fault.CONNECTION_ERROR),
        (httpx.ConnectError("nope"), Fault.CONNECTION_ERROR),
    ],
)
def test_classify(exc: Exception, fault: Fault) -> None:
    assert classify(exc, 10)[0] is fault


def test_interrupted_during_a_wait_keeps_the_story() -> None:
    handler, _ = scripted(503)
    clock = FakeTime()

    async def go() -> None:
        delivering = asyncio.current_task()
        assert delivering is not None

        async def ctrl_c_during_the_wait(seconds: float) -> None:
            delivering.cancel()
            await asyncio.sleep(0)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await deliver_one(notification(), URL, Policy(), client=client, clock=clock.clock(ctrl_c_during_the_wait))

    with pytest.raises(Interrupted) as stop:
        asyncio.run(go())
    record = stop.value.delivery
    assert record.outcome is Outcome.INTERRUPTED
    assert len(record.attempts) == 1
    assert record.retries_left == 3


def test_as_dict_is_the_json_contract() -> None:
    delivery, _, _ = run(503, 200)
    document = delivery.as_dict()
    assert set(document) >= {"url", "gtrid", "target", "algorithm", "outcome", "attempts"}
    assert document["outcome"] == "delivered"
    assert document["attempts"][0] == {
        "attempt": 1,
        "scheduled_at": 0.0,
        "status": 503,
        "error": None,
        "elapsed_ms": 0.0,
        "decision": "retry",
    }


def test_interrupted_carries_its_records_and_means_exit_130() -> None:
    record = Delivery.of(notification(), URL, Outcome.INTERRUPTED, retries_left=3)
    assert Interrupted(record).deliveries == (record,)
    assert Interrupted([record, record]).delivery is record
    assert Interrupted(record).exit_code == 130
