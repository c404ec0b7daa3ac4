"""The delivery engine: one notification, POSTed under a policy until it ends.

Time and I/O are injected: ``sleep`` waits (the CLI scales or skips the waits), ``now`` measures
each attempt, and the ``httpx.AsyncClient`` carries any transport (a real one, or
``httpx.MockTransport`` in tests). The engine keeps the *simulated* timeline itself: an attempt
is scheduled at the sum of the earlier attempts' charged durations (``charged_seconds``) and the
policy's waits, whatever the real clock did, so reports read the same at any speed and under any
machine load. Many notifications at once: ``scheduler.deliver_all`` runs these stories on one clock.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from connect_hooks.client.attempt import attempt_once
from connect_hooks.errors import ConnectHooksError, ExitCode
from connect_hooks.logfile import body_fields
from connect_hooks.policy import Decision, Fault, Outcome, Policy, decide
from connect_hooks.redaction import redact_url

Sleep = Callable[[float], Awaitable[None]]
Now = Callable[[], float]


@dataclass(frozen=True)
class Notification:
    """One webhook notification: the exact bytes and headers sent on every attempt."""

    target: str  # what it was made from: a sample name, a file path or "-"
    body: bytes
    gtrid: str
    headers: tuple[tuple[str, str], ...]
    algorithm: str | None = None  # the signature's algorithm, None when unsigned

    def as_dict(self) -> dict[str, Any]:
        """Everything needed to send it again (a replay): the exact body and headers."""
        return {
            "gtrid": self.gtrid,
            "target": self.target,
            "algorithm": self.algorithm,
            "headers": [list(pair) for pair in self.headers],
            **body_fields(self.body),
        }


@dataclass(frozen=True)
class Attempt:
    """One POST and what the sender decided after it."""

    gtrid: str
    attempt: int  # 1 = the original attempt, 2.. = retries
    scheduled_at: float  # simulated seconds since the first attempt
    status: int | None
    error: str | None
    fault: Fault | None
    elapsed_ms: float  # real duration of the exchange
    decision: Decision
    wait: float | None = None  # seconds until the next attempt, when there is one
    #: real time from the attempt's intended start (its place on the schedule) to its answer: the
    #: exchange plus any queueing behind the concurrency bound. None when nothing was scheduled.
    latency_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "scheduled_at": round(self.scheduled_at, 3),
            "status": self.status,
            "error": self.error,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "decision": str(self.decision),
        }

    def __str__(self) -> str:
        answer = self.status if self.status is not None else f"{self.fault} ({self.error})"
        return f"#{self.attempt} T+{round(self.scheduled_at, 1):g}s {answer} -> {self.decision}"

    def __repr__(self) -> str:
        return f"Attempt({self})"  # short, for assertion messages; as_dict() has every field


@dataclass(frozen=True)
class Delivery:
    """How one notification ended, with every attempt made for it."""

    url: str
    gtrid: str
    target: str
    algorithm: str | None
    outcome: Outcome
    attempts: tuple[Attempt, ...] = field(default=())
    retries_left: int = 0  # retries not made (only an interrupted notification has any)

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": redact_url(self.url),  # a password in the URL is never put in JSON or a log
            "gtrid": self.gtrid,
            "target": self.target,
            "algorithm": self.algorithm,
            "outcome": str(self.outcome),
            "attempts": [a.as_dict() for a in self.attempts],
            "retries_left": self.retries_left,
        }

    def __repr__(self) -> str:
        # What a failed `assert delivery.outcome == "delivered"` should show: the outcome and each attempt.
        attempts = ", ".join(str(a) for a in self.attempts) or "no attempt"
        return f"Delivery({self.outcome}: {self.target} to {redact_url(self.url)}; {attempts})"

    @classmethod
    def of(
        cls,
        notification: Notification,
        url: str,
        outcome: Outcome,
        attempts: tuple[Attempt, ...] = (),
        retries_left: int = 0,
    ) -> Delivery:
        return cls(
            url=url,
            gtrid=notification.gtrid,
            target=notification.target,
            algorithm=notification.algorithm,
            outcome=outcome,
            attempts=attempts,
            retries_left=retries_left,
        )


def charged_seconds(fault: Fault | None, elapsed: float, timeout: float) -> float:
    """The simulated duration of one attempt: deterministic, so timelines do not wobble with load.

    A timeout is charged the full deadline (Webex Connect waited that long); any other attempt its
    real duration in whole seconds, rounded down (an answer within a second costs nothing, so a
    receiver answering in milliseconds gives T+0s, T+60s, ... on an idle or a loaded machine).
    The real duration is reported separately, in ``elapsed_ms``.
    """
    if fault is Fault.TIMEOUT:
        return timeout
    return float(min(math.floor(max(elapsed, 0.0)), timeout))


async def make_attempt(
    notification: Notification,
    url: str | httpx.URL,
    policy: Policy,
    number: int,
    scheduled_at: float,
    *,
    client: httpx.AsyncClient,
    now: Now,
    intended: float | None = None,
) -> tuple[Attempt, float]:
    """POST ``notification`` once (attempt ``number``, at simulated ``scheduled_at``).

    Returns the record and the simulated seconds the attempt is charged. ``intended`` is the real
    time (``now``'s clock) the attempt was meant to start, for ``latency_ms``.
    """
    headers = httpx.Headers(notification.headers, encoding="latin-1")  # a -H value in latin-1 goes out as obs-text
    request = client.build_request("POST", url, content=notification.body, headers=headers)
    started = now()
    exchange = await attempt_once(client, request, policy.timeout)
    answered = now()
    elapsed = max(0.0, answered - started)
    decision = decide(exchange.result, policy.max_attempts - number)
    wait = policy.waits[number - 1] if decision is Decision.RETRY else None
    record = Attempt(
        gtrid=notification.gtrid,
        attempt=number,
        scheduled_at=scheduled_at,
        status=exchange.status,
        error=exchange.error,
        fault=exchange.fault,
        elapsed_ms=elapsed * 1000,
        decision=decision,
        wait=wait,
        latency_ms=None if intended is None else max(0.0, answered - intended) * 1000,
    )
    return record, charged_seconds(exchange.fault, elapsed, policy.timeout)


async def deliver(
    notification: Notification,
    url: str,
    policy: Policy,
    *,
    client: httpx.AsyncClient,
    sleep: Sleep,
    now: Now,
    on_attempt: Callable[[Attempt], None] | None = None,
) -> Delivery:
    """POST ``notification`` to ``url`` until it is delivered, failed or dropped.

    ``sleep(seconds)`` is called with each simulated wait of the policy. If the task is cancelled
    (Ctrl-C), raises ``Interrupted`` carrying the interrupted record.
    """
    attempts: list[Attempt] = []
    simulated = 0.0
    try:
        for number in range(1, policy.max_attempts + 1):
            record, charged = await make_attempt(notification, url, policy, number, simulated, client=client, now=now)
            attempts.append(record)
            if on_attempt is not None:
                on_attempt(record)
            if record.wait is None:
                break
            await sleep(record.wait)
            simulated += charged + record.wait
        return Delivery.of(notification, url, Outcome(str(attempts[-1].decision)), tuple(attempts))
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise Interrupted([interrupted(notification, url, policy, attempts)]) from None


def interrupted(notification: Notification, url: str, policy: Policy, attempts: Sequence[Attempt] = ()) -> Delivery:
    """The record of a notification stopped from outside: an attempt cut short does not count,
    so its retries are still owed."""
    retries_left = policy.max_attempts - max(len(attempts), 1)
    return Delivery.of(notification, url, Outcome.INTERRUPTED, tuple(attempts), retries_left)


class Interrupted(ConnectHooksError):
    """Deliveries stopped from outside (Ctrl-C, SIGTERM, a cancelled task) before they ended.

    ``deliveries`` holds the records the raiser owns: ``deliver`` its one notification,
    ``scheduler.deliver_all`` the notifications it interrupted (each also went to ``on_finish``),
    ``sending.send_all`` every notification of the send, finished or not, in order.
    """

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, deliveries: Sequence[Delivery] | Delivery) -> None:
        super().__init__("interrupted")
        # One record is accepted too, as round 1's Interrupted(delivery) was called.
        self.deliveries: tuple[Delivery, ...] = (deliveries,) if isinstance(deliveries, Delivery) else tuple(deliveries)

    @property
    def delivery(self) -> Delivery:
        """The first (for ``deliver``: the only) interrupted record."""
        return self.deliveries[0]
