"""The sender's records (notification, attempt, delivery) and its one attempt: a POST and the decision after it.

``scheduler.deliver_all`` is the retry loop that strings attempts into stories, on a ``clock.Clock``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from connect_hooks import __version__, signing
from connect_hooks.client.attempt import Exchange, attempt_once, timed_out
from connect_hooks.errors import ConnectHooksError, ExitCode
from connect_hooks.logfile import body_fields
from connect_hooks.policy import Decision, Fault, Outcome, Policy, decide
from connect_hooks.redaction import redact_url
from connect_hooks.sender.clock import Clock, charged_seconds

USER_AGENT = f"connect-hooks/{__version__}"


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


def build_notification(
    target: str,
    body: bytes,
    *,
    secret: str | None = None,
    algorithm: str = "sha256",
    style: str = "prefixed",
    headers: Sequence[tuple[str, str]] = (),
    gtrid: str | None = None,
    base: Sequence[tuple[str, str]] | None = None,
) -> Notification:
    """The one builder of a notification, as Webex Connect sends it (send, replay, conform, the plugin).

    Headers, in order: Webex Connect's own (or ``base``, a recorded set a replay sends again),
    ``x-wx-gtrid`` (``gtrid``, a fresh one if None), ``x-hub-signature`` when ``secret`` is given
    (``algorithm``, ``style``), then ``headers``, which win: that is how Authorization (or a
    forgery) gets in; an ``x-wx-gtrid`` among them is the notification's gtrid (one header, on
    record). Names are matched case-insensitively; a replaced header keeps its place.
    Check the signing settings first (``signing.check_settings``).
    """
    out: dict[str, tuple[str, str]] = {}
    if base is None:
        out["content-type"] = ("Content-Type", "application/json")
        out["user-agent"] = ("User-Agent", USER_AGENT)
    else:
        out.update((name.lower(), (name, value)) for name, value in base)
    fixed = fixed_gtrid(headers)
    gtrid = fixed if fixed is not None else gtrid or str(uuid.uuid4())
    out["x-wx-gtrid"] = (out.get("x-wx-gtrid", ("x-wx-gtrid", ""))[0], gtrid)
    signed = _recorded_algorithm(out.get(signing.HEADER))
    if secret is not None:
        name = out.get(signing.HEADER, (signing.HEADER, ""))[0]
        out[signing.HEADER] = (name, signing.sign(body, secret, algorithm, style))
        signed = algorithm
    for name, value in headers:
        out[name.lower()] = (name, value)
    return Notification(target=target, body=body, gtrid=gtrid, headers=tuple(out.values()), algorithm=signed)


def fixed_gtrid(headers: Sequence[tuple[str, str]]) -> str | None:
    """The gtrid an ``x-wx-gtrid`` among extra ``headers`` (-H) fixes (the last one wins), or None."""
    given = [value for name, value in headers if name.lower() == "x-wx-gtrid"]
    return given[-1] if given else None


def _recorded_algorithm(header: tuple[str, str] | None) -> str | None:
    parsed = signing.parse_header(header[1]) if header is not None else None
    return parsed[0] if parsed is not None else None


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


async def make_attempt(
    notification: Notification,
    url: str | httpx.URL,
    policy: Policy,
    number: int,
    scheduled_at: float,
    *,
    client: httpx.AsyncClient,
    clock: Clock,
    intended: float | None = None,
) -> tuple[Attempt, float]:
    """POST ``notification`` once (attempt ``number``, at simulated ``scheduled_at``).

    Returns the record and the simulated seconds the attempt is charged. The attempt's deadline
    is the policy's timeout as ``clock`` plays it. ``intended`` is the real time (``clock.now``)
    the attempt was meant to start, for ``latency_ms``.
    """
    now = clock.now
    headers = httpx.Headers(notification.headers, encoding="latin-1")  # a -H value in latin-1 goes out as obs-text
    request = client.build_request("POST", url, content=notification.body, headers=headers)
    started = now()
    deadline = clock.deadline(policy.timeout)
    exchange = await attempt_once(client, request, deadline)
    answered = now()
    elapsed = max(0.0, answered - started)
    decision = decide(exchange.result, policy.max_attempts - number)
    wait = policy.waits[number - 1] if decision is Decision.RETRY else None
    record = Attempt(
        gtrid=notification.gtrid,
        attempt=number,
        scheduled_at=scheduled_at,
        status=exchange.status,
        error=played(exchange, policy.timeout, deadline),
        fault=exchange.fault,
        elapsed_ms=elapsed * 1000,
        decision=decision,
        wait=wait,
        latency_ms=None if intended is None else max(0.0, answered - intended) * 1000,
    )
    return record, charged_seconds(exchange.fault, elapsed, policy.timeout)


def played(exchange: Exchange, timeout: float, deadline: float) -> str | None:
    """The attempt's error; a timeout on a compressed deadline says Webex Connect's too (``demo``)."""
    if exchange.fault is Fault.TIMEOUT and deadline != timeout:
        return f"{timed_out(timeout)} (played as {deadline:g} s)"
    return exchange.error


class Observer:
    """Receives a run's records as they happen: the log, the summary, the printers, the progress bar.

    Override what you need; the others do nothing. ``begun`` comes once everything is open (the
    log), before the first notification is made; ``started`` as a notification's first attempt
    starts; ``attempted`` as each attempt is answered (with the notification's target);
    ``finished`` once per notification, with its terminal record.
    """

    def begun(self) -> None:
        pass

    def started(self, notification: Notification) -> None:
        pass

    def attempted(self, target: str, attempt: Attempt) -> None:
        pass

    def finished(self, delivery: Delivery) -> None:
        pass


def interrupted(notification: Notification, url: str, policy: Policy, attempts: Sequence[Attempt] = ()) -> Delivery:
    """The one builder of the record of a notification stopped from outside (Ctrl-C, SIGTERM).

    An attempt cut short does not count, so its retries are still owed. If the last answer had
    already ended the story just before the cut, the record says how it ended instead.
    """
    if attempts and attempts[-1].wait is None:
        return Delivery.of(notification, url, Outcome(str(attempts[-1].decision)), tuple(attempts))
    retries_left = policy.max_attempts - max(len(attempts), 1)
    return Delivery.of(notification, url, Outcome.INTERRUPTED, tuple(attempts), retries_left)


class Interrupted(ConnectHooksError):
    """Deliveries stopped from outside (Ctrl-C, SIGTERM, a cancelled task) before they ended.

    ``deliveries`` holds the records ``scheduler.deliver_all`` interrupted, in the order given
    (each also went to ``on_finish``).
    """

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, deliveries: Sequence[Delivery] | Delivery) -> None:
        super().__init__("interrupted")
        # One record is accepted too, as round 1's Interrupted(delivery) was called.
        self.deliveries: tuple[Delivery, ...] = (deliveries,) if isinstance(deliveries, Delivery) else tuple(deliveries)

    @property
    def delivery(self) -> Delivery:
        """The first (for a burst of one: the only) interrupted record."""
        return self.deliveries[0]
