"""How send turns the engine's simulated waits into real ones: as is, divided by --speed, or none.

The per-attempt deadline is never scaled (README): it is the receiver's real time to answer.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner

from connect_hooks.cli import main
from connect_hooks.commands.send import make_sleep
from tests.servers import ScriptedServer, Stall


@pytest.fixture
def real_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    original = asyncio.sleep

    async def fake(seconds: float, *args: object) -> None:
        recorded.append(seconds)
        await original(0)

    monkeypatch.setattr(asyncio, "sleep", fake)
    return recorded


@pytest.mark.parametrize(
    ("fast", "speed", "expected"),
    [(False, 1.0, [60.0, 30.0]), (False, 60.0, [1.0, 0.5]), (False, 600.0, [0.1, 0.05]), (True, 1.0, [0, 0])],
)
def test_waits_are_scaled_or_skipped(real_sleeps: list[float], fast: bool, speed: float, expected: list[float]) -> None:
    sleep = make_sleep(fast=fast, speed=speed, show=None)

    async def story() -> None:
        await sleep(60)
        await sleep(30)

    asyncio.run(story())
    assert real_sleeps == pytest.approx(expected)


def test_speed_never_scales_the_timeout() -> None:
    # 0.05 s to answer is well inside the 10 s deadline; a deadline divided by --speed 1000 (10 ms) would trip.
    with ScriptedServer(script=[Stall(0.05)]) as server:
        result = CliRunner().invoke(main, ["send", "inbound/sms/mo", server.url, "--speed", "1000", "--json"])
    report = json.loads(result.stdout)
    assert (result.exit_code, report["outcome"]) == (0, "delivered")
    assert [a["status"] for a in report["attempts"]] == [200]
