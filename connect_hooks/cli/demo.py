"""``demo``: Webex Connect and a receiver on one machine, four notifications, a few seconds.

The receiver (the same app ``listen`` serves) runs in-process on an OS-assigned loopback port,
over HTTPS with a throwaway local CA, verifying signatures with a throwaway hub secret. The
sender is the real delivery engine, with real HTTP and real signatures; only time is compressed,
by the engine's one ``Clock``: the policy's waits are scaled down, and the 10 s per-attempt
timeout is played short, so the receiver that never answers in time costs a fraction of a second
per attempt. Timelines show Webex Connect's time (a timeout costs 10 s: T+0s, T+70s, T+140s ...).

Each scene has its own path, and the receiver answers each path with its own script. No click,
no rich: ``DemoView`` callbacks tell the CLI what happens, as it happens.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from connect_hooks.client.transport import make_client
from connect_hooks.policy import SCHEDULES, Outcome, Policy
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings, Script
from connect_hooks.receiver.server import Serving, bind, serving
from connect_hooks.receiver.tls import make_local_tls, remove_local_tls
from connect_hooks.sender.clock import Clock, Sleep
from connect_hooks.sender.delivery import Attempt, Delivery
from connect_hooks.sender.scheduler import deliver_one
from connect_hooks.sender.sending import SendSettings, prepare


@dataclass(frozen=True)
class Scene:
    """One notification, the receiver's script for it, and the outcome Webex Connect's policy gives."""

    title: str
    path: str
    sample: str
    script: Script
    expected: Outcome


@dataclass(frozen=True)
class DemoSettings:
    """How time is compressed. The defaults finish in about four seconds."""

    speed: float = 200.0  # simulated seconds per real second of a wait: a 60 s wait takes 0.3 s
    deadline: float = 0.5  # real seconds that play Webex Connect's 10 s per-attempt timeout
    tls: bool = True

    @property
    def policy(self) -> Policy:
        """Webex Connect's own policy: 10 s timeout, retries 60 s apart."""
        return Policy(waits=SCHEDULES["fixed"])

    @property
    def clock(self) -> Clock:
        return Clock(speed=self.speed, deadline_speed=self.policy.timeout / self.deadline)

    @property
    def scenes(self) -> tuple[Scene, ...]:
        stall = Script((200,), delay=self.deadline * 6)  # would answer 200, far too late
        return (
            Scene(
                "A delivery receipt, answered 200 at once",
                "/demo/ok",
                "receipt/sms/delivered",
                Script(),
                Outcome.DELIVERED,
            ),
            Scene(
                "An incoming SMS, answered 503, 503, then 200: retried, then delivered",
                "/demo/flaky",
                "inbound/sms/mo",
                Script((503, 503, 200)),
                Outcome.DELIVERED,
            ),
            Scene(
                "A receipt answered 404: on the no-retry list, so failed at once",
                "/demo/gone",
                "receipt/sms/delivered",
                Script((404,)),
                Outcome.FAILED,
            ),
            Scene(
                "A receipt never answered in time: retried three times, then dropped",
                "/demo/slow",
                "receipt/sms/delivered",
                stall,
                Outcome.DROPPED,
            ),
        )


@dataclass(frozen=True)
class SceneResult:
    scene: Scene
    delivery: Delivery
    received: tuple[Received, ...] = field(default=())

    @property
    def as_expected(self) -> bool:
        return self.delivery.outcome is self.scene.expected

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.scene.title,
            "path": self.scene.path,
            "expected": str(self.scene.expected),
            "delivery": self.delivery.as_dict(),
            "received": [r.as_dict() for r in self.received],
        }


@dataclass(frozen=True)
class DemoReport:
    url: str
    results: tuple[SceneResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.as_expected for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "ok": self.ok, "scenes": [r.as_dict() for r in self.results]}


class DemoView:
    """What the demo reports as it plays; the CLI overrides these to print."""

    def started(self, where: Serving, settings: DemoSettings) -> None:
        """The receiver is up."""

    def scene(self, number: int, scene: Scene) -> None:
        """A scene begins."""

    def attempt(self, scene: Scene, attempt: Attempt) -> None:
        """The sender made an attempt and decided what to do next."""

    def received(self, record: Received) -> None:
        """The receiver answered a request (or the sender hung up first)."""

    def finished(self, result: SceneResult) -> None:
        """A scene's notification ended, and the receiver has reported every request for it."""


async def play(
    settings: DemoSettings | None = None, view: DemoView | None = None, *, stall: Sleep = asyncio.sleep
) -> DemoReport:
    """Start the receiver on a free loopback port, play every scene in turn, stop the receiver.

    ``stall`` is how the receiver waits before a delayed answer (the receiver's injected sleep).
    """
    settings = settings or DemoSettings()
    view = view or DemoView()
    scenes = settings.scenes
    secret = secrets.token_urlsafe(24)
    records: list[Received] = []

    def observe(record: Received) -> None:
        records.append(record)
        view.received(record)

    receiver = ReceiverSettings(secret=secret, paths=tuple((s.path, s.script) for s in scenes))
    app = ReceiverApp(receiver, observe, sleep=stall)
    tls = make_local_tls() if settings.tls else None
    try:
        async with serving(app, bind("127.0.0.1", 0), tls=tls, log_level="critical") as where:
            view.started(where, settings)
            async with make_client(ca_bundle=tls.ca_path if tls else None) as client:
                results = []
                for number, scene in enumerate(scenes, start=1):
                    view.scene(number, scene)
                    results.append(await _play_scene(scene, where, secret, settings, client, view, records))
                    view.finished(results[-1])
            return DemoReport(where.url, tuple(results))
    finally:
        if tls is not None:
            remove_local_tls(tls)


async def _play_scene(
    scene: Scene,
    where: Serving,
    secret: str,
    settings: DemoSettings,
    client: httpx.AsyncClient,
    view: DemoView,
    records: list[Received],
) -> SceneResult:
    send = SendSettings(url=where.url + scene.path, targets=(scene.sample,), secret=secret)
    target, (notification,) = prepare(send, stdin=bytes)
    delivery = await deliver_one(
        notification,
        target.url,
        settings.policy,
        client=client,
        clock=settings.clock,
        on_attempt=lambda attempt: view.attempt(scene, attempt),
    )
    mine = await _records_for(delivery.gtrid, len(delivery.attempts), records)
    return SceneResult(scene, delivery, mine)


async def _records_for(
    gtrid: str, count: int, records: Sequence[Received], patience: float = 2.0
) -> tuple[Received, ...]:
    """The receiver's records for ``gtrid``, once it has reported ``count`` of them (or patience ran out).

    A sender that gives up on a slow receiver learns it before the receiver notices the hang-up,
    so the last record can trail the delivery by a moment.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        mine = tuple(r for r in records if r.gtrid == gtrid)
        if len(mine) >= count or loop.time() >= deadline:
            return mine
        await asyncio.sleep(0.01)
