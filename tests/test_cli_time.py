"""How send maps --speed/--fast onto the scheduler's clock, and what is never scaled."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.cli.reports import make_sleep
from connect_hooks.sender.clock import FAST
from connect_hooks.sender.sending import SendSettings, plan
from tests.servers import ScriptedServer, Stall


@pytest.mark.parametrize(
    ("fast", "speed", "clock_speed"), [(False, None, 1.0), (False, 60.0, 60.0), (False, 0.5, 0.5), (True, None, FAST)]
)
def test_speed_and_fast_set_the_clock(fast: bool, speed: float | None, clock_speed: float) -> None:
    settings = SendSettings(url="https://example.test/hooks", targets=("inbound/sms/mo",), speed=speed, fast=fast)
    assert plan(settings, stdin=bytes).clock().speed == clock_speed


def test_the_countdown_sleep_waits_the_real_seconds_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded: list[float] = []
    original = asyncio.sleep

    async def fake(seconds: float, *args: object) -> None:
        recorded.append(seconds)
        await original(0)

    monkeypatch.setattr(asyncio, "sleep", fake)
    sleep = make_sleep(speed=60.0, show=None)  # the scheduler already divided by the speed

    async def story() -> None:
        await sleep(1.0)
        await sleep(0.5)

    asyncio.run(story())
    assert recorded == [1.0, 0.5]


def test_the_timeout_is_never_scaled_by_speed() -> None:
    # An answer after 0.05 s is well within a 2 s deadline; divided by 1000 (2 ms) the deadline would cut it.
    with ScriptedServer(script=[Stall(0.05)]) as server:
        result = CliRunner().invoke(
            main, ["send", "inbound/sms/mo", server.url, "--speed", "1000", "--timeout", "2", "--json"]
        )
    report = json.loads(result.stdout)
    assert result.exit_code == 0
    assert [a["status"] for a in report["attempts"]] == [200]
