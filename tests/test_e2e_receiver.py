"""The sender against the receiver over real sockets on 127.0.0.1: both sides of the policy."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from connect_hooks import sign
from connect_hooks.client.transport import make_client
from connect_hooks.policy import Fault, Outcome, Policy
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings, Script, Signature
from connect_hooks.receiver.server import Serving, bind, serving
from connect_hooks.receiver.tls import LocalTLS, make_local_tls
from connect_hooks.sender import endpoint
from connect_hooks.sender.clock import Clock
from connect_hooks.sender.delivery import Delivery
from connect_hooks.sender.scheduler import deliver_all
from connect_hooks.sender.sending import SendSettings, prepare
from tests.support import run_jumping, stall_past_deadlines

pytestmark = pytest.mark.e2e

SECRET = "e2e-hub-secret"
T = TypeVar("T")


waits: list[float] = []  # what the engine asked to sleep, in the current test
skipped = [0.0]  # the waits skipped so far: the engine's clock reads them as time gone by


async def no_wait(seconds: float) -> None:
    waits.append(seconds)
    skipped[0] += seconds


def virtual_now() -> float:
    return skipped[0]


def with_receiver(
    settings: ReceiverSettings,
    story: Callable[[Serving], Awaitable[T]],
    tls: LocalTLS | None = None,
) -> tuple[T, list[Received]]:
    records: list[Received] = []

    async def scenario() -> T:
        app = ReceiverApp(settings, records.append, sleep=stall_past_deadlines)
        async with serving(app, bind("127.0.0.1", 0), tls=tls, log_level="critical") as where:
            return await story(where)

    return run_jumping(scenario()), records


def sender(
    secret: str | None = SECRET,
    policy: Policy | None = None,
    ca: Path | None = None,
    targets: tuple[str, ...] = ("receipt/sms/delivered",),
) -> Callable[[Serving], Awaitable[list[Delivery]]]:
    async def story(where: Serving) -> list[Delivery]:
        settings = SendSettings(url=where.url + "/hooks", targets=targets, secret=secret)
        target, notifications = prepare(settings, stdin=bytes)
        ended: list[Delivery] = []
        async with make_client(ca_bundle=ca) as client:
            await deliver_all(
                notifications,
                target.url,
                policy or Policy(),
                client=client,
                clock=Clock(sleep=no_wait, now=virtual_now),
                on_finish=ended.append,
            )
        return sorted(ended, key=lambda d: [n.gtrid for n in notifications].index(d.gtrid))

    return story


def test_scripted_503_503_200_is_retried_twice_then_delivered_and_both_sides_agree() -> None:
    waits.clear()
    deliveries, records = with_receiver(ReceiverSettings(secret=SECRET, script=Script((503, 503, 200))), sender())
    (delivery,) = deliveries
    assert delivery.outcome is Outcome.DELIVERED
    assert [a.status for a in delivery.attempts] == [503, 503, 200]
    assert waits == [60.0, 60.0]
    assert [(r.gtrid, r.attempt, r.status, r.signature) for r in records] == [
        (delivery.gtrid, n, status, Signature.VALID) for n, status in [(1, 503), (2, 503), (3, 200)]
    ]
    assert len({r.body for r in records}) == 1
    assert records[0].classification is not None
    assert records[0].classification.label == "receipt SMS Delivered"
    assert dict(records[0].headers)["x-hub-signature"] == sign(records[0].body, SECRET)


def test_a_no_retry_status_fails_at_once() -> None:
    waits.clear()
    deliveries, records = with_receiver(ReceiverSettings(script=Script((404,))), sender(secret=None))
    assert deliveries[0].outcome is Outcome.FAILED
    assert [r.status for r in records] == [404]
    assert waits == []
    assert records[0].signature is Signature.UNCHECKED


def test_a_forged_signature_is_refused_every_time_and_the_notification_dropped() -> None:
    deliveries, records = with_receiver(ReceiverSettings(secret=SECRET), sender(secret="forged"))
    assert deliveries[0].outcome is Outcome.DROPPED
    assert [a.status for a in deliveries[0].attempts] == [401, 401, 401, 401]
    assert {r.signature for r in records} == {Signature.MISMATCH}
    assert [r.attempt for r in records] == [1, 2, 3, 4]


def test_a_receiver_slower_than_the_timeout_gets_every_attempt_and_answers_none() -> None:
    settings = ReceiverSettings(script=Script((200,), delay=30))  # the stall moves the clock 30 s on
    policy = Policy(waits=(60.0,))  # the real 10 s deadline: passed at once, never waited for
    deliveries, records = with_receiver(settings, sender(secret=None, policy=policy))
    assert deliveries[0].outcome is Outcome.DROPPED
    assert [a.fault for a in deliveries[0].attempts] == [Fault.TIMEOUT, Fault.TIMEOUT]
    assert [(r.attempt, r.status) for r in records] == [(1, None), (2, None)]


def test_several_notifications_keep_their_own_attempt_counts() -> None:
    targets = ("receipt/sms/delivered", "inbound/sms/mo")
    deliveries, records = with_receiver(ReceiverSettings(script=Script((500, 200))), sender(targets=targets))
    assert [d.outcome for d in deliveries] == [Outcome.DELIVERED, Outcome.DELIVERED]
    labels = [(r.attempt, r.classification.label if r.classification else None) for r in records]
    # each delivered on its own, as Webex Connect does: both first attempts at T+0, both retries at T+60
    assert labels == [
        (1, "receipt SMS Delivered"),
        (1, "inbound SMS MO"),
        (2, "receipt SMS Delivered"),
        (2, "inbound SMS MO"),
    ]


def test_over_tls_with_the_generated_ca_send_delivers_and_check_passes(tmp_path: Path) -> None:
    tls = make_local_tls(tmp_path)

    async def story(where: Serving) -> tuple[list[Delivery], endpoint.CheckReport]:
        deliveries = await sender(ca=tls.ca_path)(where)
        async with make_client(ca_bundle=tls.ca_path) as client:
            report = await endpoint.check_endpoint(where.url + "/hooks", client=client, now=time.monotonic)
        return deliveries, report

    (deliveries, report), records = with_receiver(ReceiverSettings(secret=SECRET), story, tls=tls)
    assert deliveries[0].outcome is Outcome.DELIVERED
    assert report.passed, report.as_dict()
    assert [(r.method, r.status) for r in records] == [("POST", 200), ("HEAD", 200)]


def test_over_tls_without_the_ca_the_sender_gets_a_tls_error(tmp_path: Path) -> None:
    tls = make_local_tls(tmp_path)
    deliveries, records = with_receiver(ReceiverSettings(), sender(secret=None, policy=Policy(waits=())), tls=tls)
    assert deliveries[0].attempts[0].fault is Fault.TLS_ERROR
    assert records == []
