"""Webex Connect's delivery policy, as data.

Source: the "Outbound Webhooks" documentation (see shared/reference). One original attempt, then
three retries 60 s apart; each attempt has 10 s; only 200 delivers; the statuses in
``NO_RETRY_STATUSES`` end the notification at once; anything else (another status, a timeout, a
connection or TLS error) is retried.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

DELIVERED_STATUS = 200

#: Statuses Webex Connect documents as never retried.
NO_RETRY_STATUSES: frozenset[int] = frozenset(
    {
        202, 203, 204, 205, 206, 207, 208, 226,
        300, 301, 302, 303, 304, 305, 306, 307, 308,
        400, 402, 404, 405, 406, 407, 408, 409, 410, 411, 414, 415, 416, 418,
        505,
    }
)  # fmt: skip

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_INTERVAL = 60.0

#: Named retry schedules: the waits before each retry, in seconds.
SCHEDULES: dict[str, tuple[float, ...]] = {
    "fixed": (60.0, 60.0, 60.0),  # the documented rule
    "backoff": (30.0, 60.0, 120.0),  # the intervals the mTLS FAQ describes
}


class Fault(enum.StrEnum):
    """Ways an attempt can end without an HTTP status. Webex Connect retries all of them."""

    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection-error"
    TLS_ERROR = "tls-error"
    PROTOCOL_ERROR = "protocol-error"


class AttemptFault(Exception):
    """Raised from inside an attempt (e.g. by an authorization step such as an OAuth token fetch)
    to end that attempt with ``fault`` and its own one-line ``description``; retried like any fault."""

    def __init__(self, fault: Fault, description: str) -> None:
        super().__init__(description)
        self.fault = fault
        self.description = description


class Decision(enum.StrEnum):
    """What the sender does after one attempt."""

    DELIVERED = "delivered"  # 200: done
    FAILED = "failed"  # a no-retry status: done, not delivered
    RETRY = "retry"  # retryable, and a retry is left
    DROPPED = "dropped"  # retryable, but no retry is left


class Outcome(enum.StrEnum):
    """How a notification ends. Every notification ends in exactly one of these."""

    DELIVERED = "delivered"
    FAILED = "failed"
    DROPPED = "dropped"
    INTERRUPTED = "interrupted"


class Policy(NamedTuple):
    """A delivery policy: the per-attempt deadline and the waits before each retry.

    A NamedTuple rather than a frozen dataclass: ``connect-hooks policy`` imports this module, and
    the ``dataclasses`` module with three dataclasses made a third of what that command's start-up adds
    to a bare click import (bench/startup).
    """

    timeout: float = DEFAULT_TIMEOUT
    waits: tuple[float, ...] = SCHEDULES["fixed"]

    @property
    def retries(self) -> int:
        return len(self.waits)

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.waits)

    @classmethod
    def build(
        cls,
        *,
        schedule: str = "fixed",
        retries: int | None = None,
        interval: float | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Policy:
        """A policy from the user's knobs: a named schedule, optionally re-sized or re-spaced.

        ``interval`` replaces every wait; ``retries`` cuts the schedule or extends it with its last
        wait. Values are checked by the caller.
        """
        waits = SCHEDULES[schedule]
        if interval is not None:
            waits = tuple(interval for _ in waits)
        if retries is not None:
            if retries <= len(waits):
                waits = waits[:retries]
            else:
                last = waits[-1] if waits else (interval if interval is not None else DEFAULT_INTERVAL)
                waits = waits + tuple(last for _ in range(retries - len(waits)))
        return cls(timeout=timeout, waits=waits)


def is_retryable(result: int | Fault) -> bool:
    """Whether Webex Connect would try again after this status or fault (ignoring retries left)."""
    if isinstance(result, Fault):
        return True
    return result != DELIVERED_STATUS and result not in NO_RETRY_STATUSES


def decide(result: int | Fault, retries_left: int) -> Decision:
    """The decision after an attempt that ended with ``result``."""
    if not isinstance(result, Fault) and result == DELIVERED_STATUS:
        return Decision.DELIVERED
    if not is_retryable(result):
        return Decision.FAILED
    return Decision.RETRY if retries_left > 0 else Decision.DROPPED
