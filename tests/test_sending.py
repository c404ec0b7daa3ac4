"""The send lifecycle in process: checks, copies, the log, SIGTERM, a closed stdout (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.errors import BadInput
from connect_hooks.sender import sending
from connect_hooks.sender.clock import Clock
from connect_hooks.sender.sending import SendSettings, plan, run

URL = "https://receiver.test/hooks"


def settings(**kw: object) -> SendSettings:
    base: dict[str, object] = {"url": URL, "targets": ("inbound/sms/mo",), "fast": True}
    return SendSettings(**{**base, **kw})  # type: ignore[arg-type]


def client(handler: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": ()}, "send needs a TARGET and then a URL"),
        ({"url": "receipt/sms/delivered", "targets": (URL,)}, "the URL goes last"),
        ({"speed": 60.0}, "--fast and --speed contradict each other"),
        ({"fast": False, "speed": 0.0}, "--speed 0 is not positive"),
        ({"count": 0}, "--count 0 sends nothing"),
        ({"concurrency": 0}, "--concurrency 0 is out of range"),
        ({"rate": -1.0}, "--rate -1 is not positive"),
    ],
)
def test_plan_refuses_bad_settings_before_anything_is_sent(changes: dict[str, object], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        plan(settings(**changes), stdin=bytes)


def test_copies_render_samples_afresh_and_keep_files_byte_for_byte(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_bytes(b'{ "a": 1 }')
    made = list(plan(settings(targets=("inbound/sms/mo", str(payload)), count=3), stdin=bytes).notifications())
    assert [n.target for n in made] == ["inbound/sms/mo", str(payload)] * 3
    assert len({n.body for n in made[0::2]}) == 3
    assert {n.body for n in made[1::2]} == {b'{ "a": 1 }'}
    assert len({n.gtrid for n in made}) == 6


def test_seeded_copies_are_reproducible_and_the_first_is_todays_render() -> None:
    def bodies() -> list[bytes]:
        return [n.body for n in plan(settings(seed=7, count=3), stdin=bytes).notifications()]

    first, again = bodies(), bodies()
    assert first == again
    assert first[0] == catalogue.render("inbound/sms/mo", seed=7)
    assert len(set(first)) == 3


def test_records_come_back_in_order_and_the_log_ends_with_the_summary(tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    order: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        order.append(body["tid"])
        if len(order) == 1:
            await asyncio.sleep(0.05)  # the first one ends last
        return httpx.Response(200)

    checked = plan(settings(count=4, log_path=str(log)), stdin=bytes)
    result = run(checked, client=client(handler))
    assert result.all_delivered
    made = [json.loads(line) for line in log.read_text().splitlines()]
    gtrids = [r["gtrid"] for r in made if r["type"] == "notification"]
    assert [d.gtrid for d in result.deliveries] == gtrids
    assert made[-1] == {"time": made[-1]["time"], "type": "summary", **result.summary.as_dict()}
    assert result.summary.outcomes["delivered"] == 4


def test_without_keep_no_record_is_kept_but_the_summary_counts() -> None:
    result = run(plan(settings(count=30), stdin=bytes), client=client(ok), keep=False)
    assert result.deliveries == ()
    assert (result.summary.notifications, result.summary.attempts) == (30, 30)
    assert result.all_delivered


def test_sigterm_ends_the_send_on_record(tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    seen = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal seen
        seen += 1
        if seen == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # as a CI runner cancelling the job would
        await asyncio.sleep(5)
        return httpx.Response(200)

    before = signal.getsignal(signal.SIGTERM)
    checked = plan(settings(count=6, concurrency=3, log_path=str(log)), stdin=bytes)
    result = run(checked, client=client(handler))
    assert result.interrupted
    assert not result.all_delivered
    # The three in flight end interrupted, on record; the three never started are only counted.
    assert [d.outcome for d in result.deliveries] == ["interrupted"] * 3
    assert [d.retries_left for d in result.deliveries] == [3] * 3
    assert (result.summary.notifications, result.summary.never_started) == (3, 3)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["type"] for r in records].count("notification") == 3
    assert [r["type"] for r in records].count("outcome") == 3
    assert records[-1]["never_started"] == 3
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is gone with the send


def test_a_closed_stdout_does_not_stop_the_send(monkeypatch: pytest.MonkeyPatch) -> None:
    gone: list[bool] = []
    monkeypatch.setattr(sending, "stdout_gone", lambda: gone.append(True))

    def printer(target: str, attempt: object) -> None:
        raise BrokenPipeError

    result = run(plan(settings(count=5), stdin=bytes), client=client(ok), on_attempt=printer)
    assert result.all_delivered
    assert len(result.deliveries) == 5
    assert gone == [True] * 5


def test_an_injected_clock_runs_the_whole_send() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    calls: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(now[0])
        return httpx.Response(503 if len(calls) == 1 else 200)

    checked = plan(settings(fast=False, speed=60.0), stdin=bytes)
    result = run(checked, client=client(answer), clock=Clock(speed=60.0, sleep=sleep, now=lambda: now[0]))
    assert result.all_delivered
    assert calls == [0.0, 1.0]  # the 60 s wait, played in 1 s
