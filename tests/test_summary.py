"""The summary's figures, derived independently: percentiles by a plain nearest-rank over the
attempts' own latencies, throughput over the notifications that reached an outcome."""

from __future__ import annotations

import asyncio
import io
import math
import random
import time

import httpx
import pytest
from rich.console import Console

from connect_hooks.cli import render
from connect_hooks.policy import Decision, Fault, Outcome
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


# -- the figures, pinned with values worked out by hand ---------------------------------------------

#: The ``--json --summary`` object as the README documents it (keys and nesting).
README_KEYS = {"notifications", "never_started", "attempts", "outcomes", "answers", "wall_s", "throughput_per_s"}
README_PERCENTILES = {"p50", "p90", "p99", "max"}


def answered(number: int, status: int | None, latency_ms: float | None, *, elapsed_ms: float = 1.0) -> Attempt:
    fault = Fault.TIMEOUT if status is None else None
    return Attempt("g", number, 0.0, status, None, fault, elapsed_ms, Decision.DELIVERED, latency_ms=latency_ms)


def test_the_json_summary_has_the_keys_and_figures_the_readme_documents() -> None:
    counter = SummaryCounter()
    counter.attempt(answered(1, 503, 12.34))
    counter.attempt(answered(2, 200, 12.34))
    counter.attempt(answered(1, 200, 12.34))
    for _ in range(2):
        counter.finish(finished(Outcome.DELIVERED))
    document = counter.summary(0.8123).as_dict()  # never_started not given: none
    assert set(document) == README_KEYS | {"latency_ms"}
    assert set(document["latency_ms"]) == {"first_attempt", "all_attempts"}
    every = {"p50": 12.3, "p90": 12.3, "p99": 12.3, "max": 12.3}  # one latency: every figure is it, to 0.1 ms
    assert document == {
        "notifications": 2,
        "never_started": 0,
        "attempts": 3,
        "outcomes": {"delivered": 2, "failed": 0, "dropped": 0, "interrupted": 0},  # every outcome, even at 0
        "answers": {"200": 2, "503": 1},
        "wall_s": 0.812,  # to the millisecond
        "throughput_per_s": 2.5,  # 2 / 0.8123 = 2.46.., to 0.1
        "latency_ms": {"first_attempt": every, "all_attempts": every},
    }
    assert set(every) == README_PERCENTILES


def test_an_empty_summary_has_no_figures_and_no_division_by_zero() -> None:
    summary = SummaryCounter().summary(0.0)
    assert summary.throughput_per_s == 0.0
    assert summary.histogram == ()
    for figures in (summary.first_attempt, summary.all_attempts):
        assert figures.as_dict() == {"p50": None, "p90": None, "p99": None, "max": None}


def test_answers_are_counted_per_status_or_fault_statuses_first() -> None:
    counter = SummaryCounter()
    for status in (None, 503, 200, 200, 503, 200, None):  # None: the attempt timed out
        counter.attempt(answered(1, status, 5.0))
    answers = counter.summary(1.0).answers
    assert list(answers.items()) == [("200", 3), ("503", 2), ("timeout", 2)]  # by key, not by count


def test_an_attempt_without_a_schedule_counts_its_exchange_time() -> None:
    counter = SummaryCounter()
    counter.attempt(answered(1, 200, None, elapsed_ms=0.7))  # nothing scheduled: the exchange is the latency
    counter.attempt(answered(2, 200, 0.4, elapsed_ms=0.2))
    summary = counter.summary(1.0)
    assert (summary.first_attempt.max, summary.all_attempts.max) == (0.7, 0.7)  # sub-millisecond, exact
    assert summary.histogram == (("<= 1 ms", 2),)


def test_one_or_two_latencies_give_their_nearest_rank_not_a_neighbour() -> None:
    one = SummaryCounter()
    one.attempt(answered(1, 200, 40.0))
    assert one.summary(1.0).first_attempt.as_dict() == {"p50": 40.0, "p90": 40.0, "p99": 40.0, "max": 40.0}
    two = SummaryCounter()
    for ms in (100.0, 10.0):
        two.attempt(answered(1, 200, ms))
    figures = two.summary(1.0).first_attempt
    assert_within_a_bucket(figures.p50, 10.0)  # rank ceil(0.5 * 2) = 1: the faster one
    assert (figures.p90, figures.p99, figures.max) == (100.0, 100.0, 100.0)


def test_p50_p90_and_p99_are_each_their_own_rank() -> None:
    # 100 latencies 5 % apart: a percentile one rank off is off by more than a bucket (2 %)
    latencies = [10.0 * 1.05**k for k in range(100)]
    counter = SummaryCounter()
    for ms in reversed(latencies):
        counter.attempt(answered(1, 200, ms))
    figures = counter.summary(1.0).first_attempt
    assert_within_a_bucket(figures.p50, latencies[49])  # nearest rank 50 of 100
    assert_within_a_bucket(figures.p90, latencies[89])
    assert_within_a_bucket(figures.p99, latencies[98])  # not the maximum (rank 100)
    assert figures.max == round(latencies[99], 1)


#: The coarse buckets' labels, as the README's example shows them ("<= 10 ms", "<= 100 ms"), seconds from 1 s.
LABELS = [
    *(f"<= {ms} ms" for ms in (1, 2, 5, 10, 20, 50, 100, 200, 500)),
    *(f"<= {s} s" for s in (1, 2, 5, 10)),
    "> 10 s",
]


def test_the_histogram_rows_span_the_first_to_the_last_used_bucket_edges_included() -> None:
    counter = SummaryCounter()
    # an edge belongs to the bucket it closes; just above it, the next one
    for ms in (0.5, 1.0, 1.001, 2.0, 2.0, 1000.0, 10000.0, 10000.5, 60000.0):
        counter.attempt(answered(1, 200, ms))
    counts = [2, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2]
    assert counter.summary(1.0).histogram == tuple(zip(LABELS, counts, strict=True))


def test_the_histogram_leaves_out_the_empty_buckets_at_both_ends() -> None:
    counter = SummaryCounter()
    for ms in (3.0, 150.0, 4.0):
        counter.attempt(answered(2, 200, ms))  # retries count too: every attempt is in it
    assert counter.summary(1.0).histogram == (
        ("<= 5 ms", 2),
        ("<= 10 ms", 0),
        ("<= 20 ms", 0),
        ("<= 50 ms", 0),
        ("<= 100 ms", 0),
        ("<= 200 ms", 1),
    )


def test_the_burst_progress_bar_draws_the_outcomes_so_far_and_the_rate() -> None:
    # The bar's text is made when it is drawn: what it shows is what had ended by then.
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    progress = render.BurstProgress(console, 5)
    for outcome in (Outcome.DELIVERED, Outcome.FAILED, Outcome.DELIVERED):
        progress.finished(finished(outcome))
    console.print(progress.progress.get_renderable())
    line = out.getvalue()
    assert "3/5" in line
    assert "2 delivered, 1 failed" in line
    rate = line.split("2 delivered, 1 failed")[1].split()[0]
    assert rate.endswith("/s") and int(rate[:-2]) > 0, line
    progress.finished(finished(Outcome.DROPPED))
    console.print(progress.progress.get_renderable())
    assert "4/5" in out.getvalue() and "2 delivered, 1 failed, 1 dropped" in out.getvalue()


def test_the_burst_progress_bar_appears_only_once_a_burst_has_run_its_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    # A burst that ends sooner draws nothing (and starts no bar); one that runs on gets the bar, counted so far.
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(render.BurstProgress, "DELAY", 2.0)
    with render.BurstProgress(console, 3) as quick:
        quick.finished(finished(Outcome.DELIVERED))
    assert quick._progress is None
    assert out.getvalue() == ""
    monkeypatch.setattr(render.BurstProgress, "DELAY", 0.05)
    with render.BurstProgress(console, 3) as slow:
        slow.finished(finished(Outcome.DELIVERED))
        deadline = time.monotonic() + 5
        while slow._progress is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert slow._progress is not None
        slow.finished(finished(Outcome.FAILED))
        assert slow.progress.tasks[0].completed == 2  # the one before the bar, and the one after
