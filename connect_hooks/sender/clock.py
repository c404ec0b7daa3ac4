"""The one time model of every sender: how Webex Connect's (simulated) time maps onto real time.

A ``Clock`` is real (``speed`` 1), scaled (``speed`` S: S simulated seconds per real second),
fast (``speed`` ``FAST``: no waiting at all) or virtual (a test's own ``sleep``/``now`` pair).
Records always carry the simulated timeline; only the real waits change.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from connect_hooks.policy import Fault

#: Waits ``seconds`` of real time (``asyncio.sleep``, or a test's fake).
Sleep = Callable[[float], Awaitable[None]]
#: Reads the real, monotonic clock in seconds (``time.monotonic``, or a test's fake).
Monotonic = Callable[[], float]

#: ``Clock.speed`` for "as fast as possible": every wait is skipped.
FAST = math.inf


@dataclass(frozen=True)
class Clock:
    """How simulated time maps onto real time.

    ``speed``: simulated seconds per real second of a wait (1 = real time, 60 = a minute a second,
    ``FAST`` = no waits). ``deadline_speed`` compresses an attempt's deadline the same way; it is 1
    (Webex Connect's timeout is waited for in real time) except where a story is played in
    seconds (``demo``). ``sleep(seconds)`` waits *real* seconds; ``now()`` reads the real clock
    both use. Tests pass a fake pair that advances without waiting.
    """

    speed: float = 1.0
    sleep: Sleep = field(default=asyncio.sleep)
    now: Monotonic = field(default=time.monotonic)
    deadline_speed: float = 1.0

    def __post_init__(self) -> None:
        if not self.speed > 0 or not self.deadline_speed > 0:
            raise ValueError("a clock's speeds must be positive")

    @classmethod
    def real(cls) -> Clock:
        return cls()

    @classmethod
    def scaled(cls, speed: float) -> Clock:
        return cls(speed=speed)

    @classmethod
    def fast(cls) -> Clock:
        return cls(speed=FAST)

    @property
    def is_fast(self) -> bool:
        return self.speed == FAST

    def real_seconds(self, simulated: float) -> float:
        """The real time ``simulated`` seconds of waiting take on this clock."""
        return simulated / self.speed

    def deadline(self, timeout: float) -> float:
        """The real deadline of an attempt whose simulated timeout is ``timeout``."""
        return timeout / self.deadline_speed


def charged_seconds(fault: Fault | None, elapsed: float, timeout: float) -> float:
    """The simulated duration of one attempt that took ``elapsed`` real seconds, whatever the clock.

    A timeout is charged the full simulated deadline (Webex Connect waited that long, however
    short the clock played it); any other attempt its real duration in whole seconds, rounded
    down (an answer within a second costs nothing, so a receiver answering in milliseconds gives
    T+0s, T+60s, ... on an idle or a loaded machine). The real duration is in ``elapsed_ms``.
    """
    if fault is Fault.TIMEOUT:
        return timeout
    return float(min(math.floor(max(elapsed, 0.0)), timeout))
