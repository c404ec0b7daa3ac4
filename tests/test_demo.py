"""``demo``: the four scenes end as the policy says, both sides are shown, exit 0."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import re

import pytest
from click.testing import CliRunner

from connect_hooks.cli import demo as story
from connect_hooks.cli.demo import DemoReport, DemoSettings, DemoView, Scene, SceneResult, play
from connect_hooks.cli.main import main
from connect_hooks.policy import Outcome
from connect_hooks.receiver.app import Received, Signature
from connect_hooks.receiver.server import Serving
from connect_hooks.sender.delivery import Attempt
from tests.support import run_jumping, stall_past_deadlines

pytestmark = pytest.mark.e2e

#: Retry waits of a millisecond; the real 10 s deadline, which the never-answering scene passes at once.
QUICK = DemoSettings(speed=60000, deadline=10.0)


def play_quickly(settings: DemoSettings = QUICK, view: DemoView | None = None) -> DemoReport:
    return run_jumping(play(settings, view, stall=stall_past_deadlines))


@pytest.fixture
def quick_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``demo`` command plays its story as ``play_quickly`` does: on a ``JumpingLoop``, with QUICK settings."""
    monkeypatch.setattr(asyncio, "run", run_jumping)
    monkeypatch.setattr(story, "play", functools.partial(play, QUICK, stall=stall_past_deadlines))


class Recorder(DemoView):
    def __init__(self) -> None:
        self.events: list[str] = []
        self.urls: list[str] = []

    def started(self, where: Serving, settings: DemoSettings) -> None:
        self.urls.append(where.url)

    def scene(self, number: int, scene: Scene) -> None:
        self.events.append(f"scene {number}")

    def attempt(self, scene: Scene, attempt: Attempt) -> None:
        self.events.append(f"sender {attempt.attempt}")

    def received(self, record: Received) -> None:
        self.events.append(f"receiver {record.attempt}")

    def finished(self, result: SceneResult) -> None:
        self.events.append(f"end {result.delivery.outcome}")


def test_the_story_plays_over_https_on_loopback_and_ends_as_the_policy_says() -> None:
    view = Recorder()
    report = play_quickly(view=view)
    assert report.ok
    assert re.fullmatch(r"https://127\.0\.0\.1:\d+", report.url)
    assert view.urls == [report.url]
    outcomes = [r.delivery.outcome for r in report.results]
    assert outcomes == [Outcome.DELIVERED, Outcome.DELIVERED, Outcome.FAILED, Outcome.DROPPED]
    statuses = [[a.status for a in r.delivery.attempts] for r in report.results]
    assert statuses == [[200], [503, 503, 200], [404], [None, None, None, None]]
    answered = [[rec.status for rec in r.received] for r in report.results]
    assert answered == [[200], [503, 503, 200], [404], [None, None, None, None]]
    for result in report.results:
        assert {rec.signature for rec in result.received} == {Signature.VALID}
        assert {rec.gtrid for rec in result.received} == {result.delivery.gtrid}
        assert {rec.path for rec in result.received} == {result.scene.path}
    flaky = report.results[1].delivery.attempts
    assert [a.scheduled_at for a in flaky] == [0.0, pytest.approx(60, abs=1), pytest.approx(120, abs=1)]
    # a scene ends only once the receiver has reported each of its requests
    ends = [i for i, event in enumerate(view.events) if event.startswith("end")]
    assert len(ends) == 4
    assert view.events.index("receiver 4") < ends[-1]
    assert view.events.count("receiver 4") == 1


def test_the_never_answered_scene_shows_webex_connects_time_however_short_the_timeout_is_played() -> None:
    # The default plays the 10 s timeout as 0.5 s; Webex Connect (and `policy timeout`) says each
    # timed-out attempt costs 10 s, then the 60 s wait: T+0, T+70, T+140, T+210.
    played_short = DemoSettings(speed=60000, deadline=DemoSettings().deadline)
    assert played_short.deadline < 10
    report = play_quickly(played_short)
    dropped = report.results[3].delivery
    assert dropped.outcome is Outcome.DROPPED
    assert [a.scheduled_at for a in dropped.attempts] == [0, 70, 140, 210]
    assert [str(a).split()[1] for a in dropped.attempts] == ["T+0s", "T+70s", "T+140s", "T+210s"]
    # the words say Webex Connect's deadline, and what played it
    played = f"{played_short.deadline:g} s"
    assert {a.error for a in dropped.attempts} == {f"no complete answer within 10 s (played as {played})"}


def test_the_command_shows_t_plus_70s_for_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    played_short = DemoSettings(speed=60000)  # the default 0.5 s deadline, millisecond waits
    monkeypatch.setattr(asyncio, "run", run_jumping)
    monkeypatch.setattr(story, "play", functools.partial(play, played_short, stall=stall_past_deadlines))
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.stdout + result.stderr
    slow = result.stdout[result.stdout.index("never answered in time") :]
    sender_times = re.findall(r"sender +(T\+\S+) ", slow)
    assert sender_times == ["T+0s", "T+70s", "T+140s", "T+210s"]
    assert "T+60.5s" not in result.stdout


def test_the_report_serialises() -> None:
    report = play_quickly(dataclasses.replace(QUICK, tls=False))
    assert report.url.startswith("http://127.0.0.1:")
    documents = [r.as_dict() for r in report.results]
    assert [d["expected"] for d in documents] == ["delivered", "delivered", "failed", "dropped"]
    assert [len(d["received"]) for d in documents] == [1, 3, 1, 4]


def test_the_command_runs_with_no_arguments_and_exits_0(quick_command: None) -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    assert "delivered after 1 attempt" in out
    assert "delivered after 3 attempts" in out
    assert "failed after 1 attempt: the answer is on the no-retry list" in out
    assert "dropped after 4 attempts: no retry left" in out
    assert out.count("   receiver  ") == 9
    assert out.count("   sender    ") == 9
    assert "Every notification ended as Webex Connect's policy says: 2 delivered, 1 failed, 1 dropped." in out


def test_the_command_prints_json_for_machines(quick_command: None) -> None:
    result = CliRunner().invoke(main, ["demo", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["url"].startswith("https://127.0.0.1:")
    assert [scene["delivery"]["outcome"] for scene in report["scenes"]] == [
        "delivered",
        "delivered",
        "failed",
        "dropped",
    ]
