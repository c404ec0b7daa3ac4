"""The summary's figures, derived independently: percentiles by a plain nearest-rank over the
attempts' own latencies, throughput over the notifications that reached an outcome."""

from __future__ import annotations

import asyncio
import io
import math
import random

import httpx
import pytest
from rich.console import Console

from connect_hooks.cli import render
from connect_hooks.policy import Decision, Outcome
from connect_hooks.sender.delivery import Attempt, Delivery, Notification
from connect_hooks.sender.sending import SendSettings, plan, run
from connect_hooks.sender.summary import SummaryCounter

RESOLUTION = 1.02  # the histogram's buckets are 2 % wide: a percentile is at most one bucket above the exact one


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def attempt(number: int, latency_ms: float) -> Attempt:
    return Attempt("g", number, 0.0, 200, None, None, latency_ms, Decision.DELIVERED, latency_ms=latency_ms)


def assert_within_a_bucket(got: float | None, exact: float) -> None:
    assert got is not None
    assert exact - 0.05 <= got <= exact * RESOLUTION + 0.05, (got, exact)  # (figures are rounded to 0.1 ms)


def test_percentiles_match_a_nearest_rank_over_the_attempts_own_latencies() -> None:
    shuffle = random.Random(7)
    first = [3.0 * k + 1 for k in range(1, 301)]  # 4 .. 901 ms, distinct, more than a bucket apart
    retries = [2000.0 + 7 * k for k in range(1, 101)]  # all slower than any first attempt
    fed = [attempt(1, ms) for ms in first] + [attempt(2, ms) for ms in retries]
    shuffle.shuffle(fed)
    counter = SummaryCounter()
    for one in fed:
        counter.attempt(one)
    summary = counter.summary(1.0)
    everything = first + retries
    for figures, values in ((summary.first_attempt, first), (summary.all_attempts, everything)):
        assert_within_a_bucket(figures.p50, nearest_rank(values, 50))
        assert_within_a_bucket(figures.p90, nearest_rank(values, 90))
        assert_within_a_bucket(figures.p99, nearest_rank(values, 99))
        assert figures.max == max(values)  # exact
    assert summary.first_attempt.max == 901.0  # retries are not first attempts


def test_retries_stay_out_of_the_first_attempt_figures_of_a_real_send() -> None:
    seen: dict[str, int] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        gtrid = request.headers["x-wx-gtrid"]
        seen[gtrid] = seen.get(gtrid, 0) + 1
        if seen[gtrid] == 1:
            return httpx.Response(503)  # at once
        await asyncio.sleep(1.0)  # every retry takes a second to answer
        return httpx.Response(200)

    checked = plan(
        SendSettings(url="https://hooks.example.test/wxc", targets=("inbound/sms/mo",), count=4, fast=True), bytes
    )
    result = run(checked, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)), keep=False)
    summary = result.summary
    assert (summary.notifications, summary.attempts) == (4, 8)
    assert summary.first_attempt.max is not None and summary.first_attempt.max < 1000
    assert summary.all_attempts.p90 is not None and summary.all_attempts.p90 >= 1000  # rank 8 of 8: a retry
    assert summary.all_attempts.p50 is not None and summary.all_attempts.p50 < 1000  # rank 4 of 8: a first attempt


def finished(outcome: Outcome) -> Delivery:
    return Delivery.of(Notification("t", b"{}", "g", ()), "https://x.test/", outcome)


def test_throughput_counts_the_notifications_that_reached_an_outcome_not_the_interrupted() -> None:
    counter = SummaryCounter()
    for outcome in [Outcome.DELIVERED] * 3 + [Outcome.FAILED, Outcome.DROPPED] + [Outcome.INTERRUPTED] * 15:
        counter.finish(finished(outcome))
    summary = counter.summary(2.0, never_started=1000)
    assert summary.throughput_per_s == pytest.approx(5 / 2.0)  # 5 reached an outcome in 2 s
    assert (summary.notifications, summary.never_started) == (20, 1000)
    assert summary.as_dict()["never_started"] == 1000
    out = io.StringIO()
    render.print_summary(Console(file=out, width=200), summary)
    lines = out.getvalue().splitlines()
    assert lines[0] == "20 notifications, 0 attempts in 2.00 s: 2.5 notifications/s (5 reached an outcome)"
    assert lines[1] == "  outcomes       3 delivered, 1 failed, 1 dropped, 15 interrupted"
    assert lines[2].startswith("  never started  1000 (interrupted before their first attempt")
