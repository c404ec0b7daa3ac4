"""How send turns the engine's simulated waits into real ones: as is, divided by --speed, or none."""

from __future__ import annotations

import asyncio

import pytest

from connect_hooks.commands.send import make_sleep


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
