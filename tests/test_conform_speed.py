"""``conform`` in seconds: checks overlap (bounded, in check order), a silent receiver ends early, --max-time.

Time is asserted as counts of requests, requests in flight, or elapsed time as a ratio of the deadline the run
was given: never as a wall-clock threshold.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks import signing
from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.main import main
from connect_hooks.conform.conformance import (
    CONCURRENT,
    NOT_RUN,
    POOL,
    SILENT_AFTER,
    CheckResult,
    ConformSettings,
    Status,
    check_ids,
    run_conformance,
)
from tests.conform_receivers import SECRET, Receiver, served
from tests.servers import ScriptedServer, Stall
from tests.support import run

ACCEPTS = [f"accepts/{name}" for name in catalogue.names()]
SILENT = f"the receiver did not answer the first {SILENT_AFTER} signed notifications within 0.5 s"


def conform_json(url: str, *args: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    result = CliRunner().invoke(main, ["conform", url, "--secret", SECRET, "--json", *args])
    elapsed = time.monotonic() - started
    assert result.stderr == "", result.stderr
    return result.exit_code, json.loads(result.stdout), elapsed


def statuses(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["id"]: (c["status"], c["message"]) for c in report["checks"]}


def test_a_receiver_that_never_answers_is_judged_after_a_few_deadlines_not_one_per_check() -> None:
    # Accepts the connection and stays silent, to HEAD and to every POST.
    with ScriptedServer(script=[Stall()], head_stall=True) as server:
        code, report, elapsed = conform_json(server.url, "--timeout", "0.5")
        posts = len(server.posts)
    assert code == 1
    assert posts == SILENT_AFTER  # not one per check (~125)
    # HEAD and the first notifications waited one deadline each; the rest were not sent.
    assert elapsed / 0.5 < 3 * (1 + SILENT_AFTER)
    seen = statuses(report)
    assert [c["id"] for c in report["checks"]] == list(check_ids(ConformSettings(url=server.url, secret=SECRET)))
    unsent = [i for i, (status, message) in seen.items() if message == "not sent: " + SILENT]
    signed = [i for i in seen if not i.startswith(("url-", "rejects-")) and i != "latency"]
    assert unsent == signed[SILENT_AFTER:]  # accepts/* after the first 3, raw-bytes, ..., concurrent
    assert {seen[i][0] for i in unsent} == {"fail"}
    rejects = [i for i in seen if i.startswith("rejects-")]
    assert rejects and all(
        seen[i] == ("skip", f"not sent: {SILENT}: silence cannot be told from a refusal") for i in rejects
    )
    status, message = seen["latency"]
    assert status == "fail" and message.startswith(f"{SILENT_AFTER} attempt(s) hit the 0.5 s deadline")


def test_a_receiver_that_stops_answering_midway_is_given_up_after_a_few_in_a_row() -> None:
    answered = 5
    with ScriptedServer(script=[*[200] * answered, Stall()]) as server:
        code, report, _ = conform_json(server.url, "--timeout", "0.5", "--only", "accepts")
        posts = len(server.posts)
    assert code == 1
    # the stalled ones in flight when the third went unanswered still count, no more
    assert answered + SILENT_AFTER <= posts <= answered + SILENT_AFTER + POOL - 1
    seen = statuses(report)
    assert [status for status, _ in seen.values()].count("pass") == answered
    expected = f"not sent: the receiver did not answer {SILENT_AFTER} signed notifications in a row within 0.5 s"
    assert [m for _, m in seen.values()].count(expected) == len(ACCEPTS) - posts


class InFlight(Receiver):
    """A correct receiver that takes ``delay`` seconds per POST and records how many POSTs it had at once, at most."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.now = 0
        self.most = 0

    async def answer(self, method: str, body: bytes, headers: dict[str, str]) -> int:
        if method != "POST":
            return await super().answer(method, body, headers)
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(self.delay)
            return await super().answer(method, body, headers)
        finally:
            self.now -= 1


def test_checks_overlap_but_never_beyond_the_pool() -> None:
    app = InFlight(0.05)
    with served(app) as url:
        code, report, _ = conform_json(url + "/hooks", "--skip", "concurrent")
    assert code == 0, report["failed"]
    assert 1 < app.most <= POOL


def test_the_burst_of_concurrent_runs_alone() -> None:
    # large-body (after 3 answers: checks overlap) is in flight for a while when concurrent's turn comes
    app = InFlight(0.3)
    with served(app) as url:
        code, report, _ = conform_json(
            url + "/hooks", "--only", "duplicate-delivery,unknown-fields,large-body,concurrent"
        )
    assert code == 0, report["failed"]
    assert POOL < app.most <= CONCURRENT  # the burst was sent, and nothing of another check beside it


def test_results_and_live_results_come_in_check_order_though_checks_end_out_of_order() -> None:
    sent: list[str] = []
    ended: list[str] = []

    class FirstSentEndsLast(Receiver):
        async def accept(self, document: Any, headers: dict[str, str]) -> int:
            sent.append(headers["x-wx-gtrid"])
            await asyncio.sleep((POOL - len(sent) % POOL) * 0.01)  # of each POOL sent together, the first ends last
            ended.append(headers["x-wx-gtrid"])
            return 200

    app: Any = FirstSentEndsLast()
    settings = ConformSettings(url="http://testserver/hooks", secret=SECRET, in_process=True, skip=("concurrent",))
    live: list[CheckResult] = []

    async def main_() -> Any:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
            return await run_conformance(settings, client=client, on_result=live.append)

    report = run(main_())
    assert report.ok, str(report)
    order = list(check_ids(settings))
    assert [c.id for c in report.checks] == order
    assert [c.id for c in live] == order
    assert ended != sent  # the premise: checks did end out of the order they were sent in


def test_max_time_ends_the_run_and_records_every_check_not_run() -> None:
    max_time = 1.0
    # 500, two 200s (one at a time so far), then every notification is left unanswered past --max-time
    with ScriptedServer(script=[500, 200, 200, Stall()]) as server:
        code, report, elapsed = conform_json(server.url, "--only", "accepts", "--max-time", str(max_time))
        posts = len(server.posts)
    assert code == 1  # a failure ends the run with 1, skips or not
    assert [c["id"] for c in report["checks"]] == ACCEPTS
    assert report["failed"] == ACCEPTS[:1]
    assert report["passed"] == ACCEPTS[1:3]
    not_run = [c["id"] for c in report["checks"] if (c["status"], c["message"]) == ("skip", NOT_RUN)]
    assert not_run == ACCEPTS[3:]  # those in flight at --max-time too: not the 10 s deadline of each
    assert posts <= 3 + POOL
    assert elapsed / max_time < 3


def test_max_time_starts_no_check_once_reached() -> None:
    """On a clock the receiver moves 1 s per notification: --max-time 2.5 lets 3 be sent, then none."""
    clock = [0.0]
    posts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(request.method)
        clock[0] += 1.0
        return httpx.Response(200)

    async def main_() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            settings = ConformSettings(url="https://example.test/hooks", only=("accepts",), max_time=2.5)
            return await run_conformance(settings, client=client, now=lambda: clock[0])

    report = run(main_())
    assert posts == ["POST"] * 3
    assert report.passed == tuple(ACCEPTS[:3])
    assert report.skipped == tuple(ACCEPTS[3:])
    assert {c.message for c in report.checks[3:]} == {NOT_RUN}


@pytest.mark.parametrize("value", ["0", "-1"])
def test_max_time_must_be_more_than_zero(value: str) -> None:
    result = CliRunner().invoke(main, ["conform", "http://127.0.0.1:9/hooks", "--max-time", value])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Invalid value for '--max-time'") and result.stderr.count("\n") == 1


def _mocked(handler: Any, **options: Any) -> Any:
    async def main_() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            settings = ConformSettings(url="https://example.test/hooks", secret=SECRET, **options)
            return await run_conformance(settings, client=client)

    return run(main_())


def test_latency_names_a_few_checks_that_hit_the_deadline_and_counts_the_rest() -> None:
    answers: list[bool] = []  # True: timed out

    def handler(request: httpx.Request) -> httpx.Response:
        answers.append(len(answers) % 2 == 0)  # every other one: never SILENT_AFTER in a row, so all are sent
        if answers[-1]:
            raise httpx.ReadTimeout("stalled", request=request)
        return httpx.Response(200)

    report = _mocked(handler, only=("accepts", "latency"))
    timeouts = answers.count(True)
    assert timeouts > 10
    latency = report.checks[-1]
    assert latency.status is Status.FAIL
    assert latency.message.startswith(f"{timeouts} attempt(s) hit the 10 s deadline ({timeouts} checks: accepts/")
    assert f"and {timeouts - 3} more)" in latency.message
    assert len(latency.message) < 300


def test_latency_leaves_the_burst_to_concurrent() -> None:
    """A receiver that cannot take 25 at once: concurrent fails; latency judges the answers sent at a pace."""
    in_flight = [0]

    async def handler(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        try:
            await asyncio.sleep(0)  # let the others of a burst arrive
            if in_flight[0] > POOL:
                raise httpx.ReadTimeout("too many at once", request=request)
            ok = signing.verify(request.content, request.headers[signing.HEADER], SECRET)
            return httpx.Response(200 if ok else 401)
        finally:
            in_flight[0] -= 1

    report = _mocked(handler, only=("accepts/receipt/sms", "concurrent", "latency"))
    assert report.failed == ("concurrent",)
    assert report.checks[-1].status is Status.PASS
