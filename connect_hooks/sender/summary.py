"""The summary of a send, aggregated as results stream in: counts and latency histograms.

Nothing per notification is kept, so a summary of 100,000 notifications costs a few kilobytes.
Percentiles come from a log-bucketed histogram (each bucket 2 % wide), so they are exact to
within 2 %; the maximum is exact.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connect_hooks.policy import Outcome
from connect_hooks.sender.delivery import Attempt, Delivery, Observer

_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)
_FLOOR_MS = 0.01  # everything at or under 10 µs shares the first bucket

#: Upper edges (ms) of the coarse histogram shown to people; the last row is everything above.
COARSE_EDGES_MS: tuple[float, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


class LatencyHistogram:
    """Latencies in milliseconds: log buckets for percentiles, coarse buckets to show."""

    def __init__(self) -> None:
        self.count = 0
        self.max_ms = 0.0
        self._buckets: Counter[int] = Counter()
        self.coarse = [0] * (len(COARSE_EDGES_MS) + 1)

    def add(self, ms: float) -> None:
        self.count += 1
        self.max_ms = max(self.max_ms, ms)
        self._buckets[self._bucket(ms)] += 1
        index = 0
        while index < len(COARSE_EDGES_MS) and ms > COARSE_EDGES_MS[index]:
            index += 1
        self.coarse[index] += 1

    @staticmethod
    def _bucket(ms: float) -> int:
        if ms <= _FLOOR_MS:
            return 0
        return 1 + int(math.log(ms / _FLOOR_MS) / _LOG_GROWTH)

    @staticmethod
    def _upper(bucket: int) -> float:
        return _FLOOR_MS * _GROWTH**bucket

    def percentile(self, p: float) -> float | None:
        """The nearest-rank ``p``-th percentile (0 < p <= 100), None when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(p / 100 * self.count))
        seen = 0
        for bucket in sorted(self._buckets):
            seen += self._buckets[bucket]
            if seen >= rank:
                return min(self._upper(bucket), self.max_ms)
        return self.max_ms  # pragma: no cover - the loop always reaches the rank

    def percentiles(self) -> Percentiles:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 1)

        return Percentiles(
            p50=rounded(self.percentile(50)),
            p90=rounded(self.percentile(90)),
            p99=rounded(self.percentile(99)),
            max=rounded(self.max_ms if self.count else None),
        )


@dataclass(frozen=True)
class Percentiles:
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max}


@dataclass(frozen=True)
class Summary:
    """What a send did, in figures (``--summary``, ``--json --summary``, the log's last record).

    ``notifications`` counts the notifications sent (at least one attempt started), each with an
    outcome; ``never_started`` those an interruption stopped before their first attempt (never
    made, never recorded). ``throughput_per_s`` counts only the notifications that reached an
    outcome of their own (delivered, failed or dropped), not the interrupted ones.
    """

    notifications: int
    attempts: int
    outcomes: dict[str, int]
    answers: dict[str, int]
    wall_s: float
    throughput_per_s: float
    first_attempt: Percentiles
    all_attempts: Percentiles
    histogram: tuple[tuple[str, int], ...] = field(default=())  # (bucket label, attempts), every attempt
    never_started: int = 0

    @property
    def ended(self) -> int:
        """Notifications that reached an outcome (delivered, failed or dropped): not interrupted."""
        return self.notifications - self.outcomes.get(str(Outcome.INTERRUPTED), 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "notifications": self.notifications,
            "never_started": self.never_started,
            "attempts": self.attempts,
            "outcomes": dict(self.outcomes),
            "answers": dict(self.answers),
            "wall_s": round(self.wall_s, 3),
            "throughput_per_s": round(self.throughput_per_s, 1),
            "latency_ms": {"first_attempt": self.first_attempt.as_dict(), "all_attempts": self.all_attempts.as_dict()},
        }


def answer_key(attempt: Attempt) -> str:
    """'200', '503', or the fault ('timeout', 'connection-error', ...)."""
    if attempt.status is not None:
        return str(attempt.status)
    return str(attempt.fault) if attempt.fault is not None else "no-answer"


def _coarse_labels() -> tuple[str, ...]:
    def ms(value: float) -> str:
        return f"{value / 1000:g} s" if value >= 1000 else f"{value:g} ms"

    labels = [f"<= {ms(edge)}" for edge in COARSE_EDGES_MS]
    labels.append(f"> {ms(COARSE_EDGES_MS[-1])}")
    return tuple(labels)


class SummaryCounter(Observer):
    """An observer of a run: every attempt and every finished notification; ``summary()`` at any time."""

    def __init__(self) -> None:
        self.notifications = 0
        self.attempts = 0
        self.outcomes: Counter[str] = Counter({str(outcome): 0 for outcome in Outcome})
        self.answers: Counter[str] = Counter()
        self.first = LatencyHistogram()
        self.all = LatencyHistogram()

    def attempt(self, attempt: Attempt) -> None:
        self.attempted("", attempt)

    def attempted(self, target: str, attempt: Attempt) -> None:
        self.attempts += 1
        self.answers[answer_key(attempt)] += 1
        latency = attempt.latency_ms if attempt.latency_ms is not None else attempt.elapsed_ms
        self.all.add(latency)
        if attempt.attempt == 1:
            self.first.add(latency)

    def finished(self, delivery: Delivery) -> None:
        self.notifications += 1
        self.outcomes[str(delivery.outcome)] += 1

    finish = finished

    @property
    def all_delivered(self) -> bool:
        return self.outcomes[str(Outcome.DELIVERED)] == self.notifications

    def summary(self, wall_s: float, never_started: int = 0) -> Summary:
        """The figures so far; ``never_started``: notifications an interruption stopped before their first attempt."""
        labels = _coarse_labels()
        counts = self.all.coarse
        used = [i for i, n in enumerate(counts) if n]
        rows = tuple((labels[i], counts[i]) for i in range(used[0], used[-1] + 1)) if used else ()
        answers = dict(sorted(self.answers.items(), key=lambda item: (not item[0].isdigit(), item[0])))
        interrupted = self.outcomes[str(Outcome.INTERRUPTED)]
        return Summary(
            notifications=self.notifications,
            attempts=self.attempts,
            outcomes=dict(self.outcomes),
            answers=answers,
            wall_s=wall_s,
            throughput_per_s=(self.notifications - interrupted) / wall_s if wall_s > 0 else 0.0,
            first_attempt=self.first.percentiles(),
            all_attempts=self.all.percentiles(),
            histogram=rows,
            never_started=never_started,
        )


def summarize(deliveries: Iterable[Delivery], wall_s: float = 0.0) -> Summary:
    """The ``Summary`` of finished records (``connect_hooks.deliver``'s): counts, answers, latency.

    ``wall_s`` is how long they took (the throughput is 0 without it).
    """
    counter = SummaryCounter()
    for delivery in deliveries:
        for attempt in delivery.attempts:
            counter.attempted(delivery.target, attempt)
        counter.finished(delivery)
    return counter.summary(wall_s)
