"""Faults survived and nothing lost: each fault classified, every notification in a terminal record."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.conftest import LocalCA
from tests.servers import ScriptedServer, Stall
from tests.support import connect_hooks_process, no_dns_under_invalid

SECRET = "do-not-print-me-0451"


def send(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["send", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_stalled_body_is_cut_at_the_deadline() -> None:
    with ScriptedServer(script=["stall-body"]) as server:  # the body never ends: the deadline always trips
        code, out, _ = send("inbound/sms/mo", server.url, "--fast", "--json", "--timeout", "0.1", "--retries", "0")
    report = json.loads(out)
    assert code == 1
    assert report["attempts"][0]["status"] is None  # headers came, the body did not: no answer
    assert report["attempts"][0]["error"] == "no complete answer within 0.1 s"
    assert report["attempts"][0]["decision"] == "dropped"


def test_expired_certificate_is_a_tls_error_and_retried(test_ca: LocalCA) -> None:
    with ScriptedServer(tls=test_ca.server_context(expired=True)) as server:
        code, out, _ = send(
            "inbound/sms/mo", server.url, "--fast", "--json", "--retries", "1", "--ca-bundle", str(test_ca.ca_path)
        )
    report = json.loads(out)
    assert code == 1
    assert [a["decision"] for a in report["attempts"]] == ["retry", "dropped"]
    assert "certificate has expired" in report["attempts"][0]["error"]
    assert server.posts == []


def test_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    no_dns_under_invalid(monkeypatch)
    code, out, _ = send("inbound/sms/mo", "https://receiver.invalid/hooks", "--fast", "--json", "--retries", "0")
    report = json.loads(out)
    assert code == 1
    assert report["outcome"] == "dropped"
    assert report["attempts"][0]["error"].startswith("cannot connect: ")
    assert "name" in report["attempts"][0]["error"].lower()


def test_receiver_dying_mid_send_still_reports_every_notification(tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    with ScriptedServer(script=[200, "die"]) as server:
        code, out, _ = send(
            "inbound/sms/mo",
            "receipt/sms/delivered",
            "inbound/sms/mo",
            server.url,
            "--fast",
            "--json",
            "--retries",
            "1",
            "--concurrency",
            "1",  # one at a time: which notification meets the dying receiver is then known
            "--log",
            str(log),
        )
    reports = json.loads(out)
    assert code == 1
    assert [r["outcome"] for r in reports] == ["delivered", "dropped", "dropped"]
    assert reports[1]["attempts"][0]["error"].startswith("bad HTTP answer")
    assert reports[1]["attempts"][1]["status"] is None  # refused, or reset while the server shuts down
    assert reports[2]["attempts"][-1]["error"] == "cannot connect: connection refused"
    outcomes = [json.loads(line) for line in log.read_text().splitlines() if '"type":"outcome"' in line]
    assert sorted(o["gtrid"] for o in outcomes) == sorted(r["gtrid"] for r in reports)  # in the order they ended


def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.mark.parametrize(("as_json", "stop"), [(False, signal.SIGINT), (True, signal.SIGINT), (True, signal.SIGTERM)])
def test_ctrl_c_during_a_retry_wait_records_every_notification(tmp_path: Path, as_json: bool, stop: int) -> None:
    log = tmp_path / "send.ndjson"
    with ScriptedServer(script=[503]) as server:
        args = ["inbound/sms/mo", "receipt/sms/delivered", server.url, "--log", str(log)]
        env = {**os.environ, "CONNECT_HOOKS_SECRET": SECRET}
        with connect_hooks_process("send", *args, *(["--json"] if as_json else []), env=env) as proc:
            wait_for(lambda: log.exists() and log.read_text().count('"type":"attempt"') == 2)  # both wait to retry
            proc.send_signal(stop)
            out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    records = [json.loads(line) for line in log.read_text().splitlines()]
    outcomes = [r for r in records if r["type"] == "outcome"]
    assert [o["outcome"] for o in outcomes] == ["interrupted", "interrupted"]
    assert [o["retries_left"] for o in outcomes] == [3, 3]
    assert [len(o["attempts"]) for o in outcomes] == [1, 1]
    assert b"Traceback" not in err
    assert SECRET.encode() not in out + err + log.read_bytes()
    if as_json:
        assert [d["outcome"] for d in json.loads(out)] == ["interrupted", "interrupted"]
    else:
        assert b"inbound/sms/mo: interrupted after 1 attempt, 3 retries not made" in out
        assert b"receipt/sms/delivered: interrupted after 1 attempt, 3 retries not made" in out


def test_ctrl_c_during_an_attempt_stops_at_once_and_keeps_its_retries(tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    with (
        ScriptedServer(script=[Stall()]) as server,
        connect_hooks_process("send", "inbound/sms/mo", server.url, "--log", str(log), "--json") as proc,
    ):
        wait_for(lambda: len(server.posts) == 1)  # the attempt is in flight, the server stalls
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    report = json.loads(out)
    assert report["outcome"] == "interrupted"
    assert report["attempts"] == []  # the cut attempt is not counted as made
    assert report["retries_left"] == 3
    assert [json.loads(line)["type"] for line in log.read_text().splitlines()] == ["notification", "outcome", "summary"]
    assert b"Traceback" not in err


@pytest.mark.parametrize("as_json", [True, False])
def test_ctrl_c_on_a_huge_count_counts_the_never_started_and_exits_at_once(tmp_path: Path, as_json: bool) -> None:
    """Notifications never started are counted, not made: a huge --count stops as soon as a small one."""
    log = tmp_path / "send.ndjson"
    count = 50_000_000  # making each (rendered, signed, logged) would take hours: the exit must not depend on it
    with ScriptedServer(script=[200]) as server:
        args = ["receipt/sms/delivered", server.url, "--count", str(count), "--fast", "--log", str(log)]
        with connect_hooks_process("send", *args, *(["--json", "--summary"] if as_json else [])) as proc:
            wait_for(lambda: len(server.posts) >= 20, seconds=30)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)  # generous: a few notifications in flight end, no more
    assert proc.returncode == 130
    assert b"Traceback" not in err
    records = [json.loads(line) for line in log.read_text().splitlines()]
    summary = records[-1]
    assert summary["type"] == "summary"
    sent = [r for r in records if r["type"] == "notification"]
    assert len(sent) == summary["notifications"] == len([r for r in records if r["type"] == "outcome"])
    assert 20 <= len(sent) < count // 1000  # only the notifications sent are on record
    assert summary["notifications"] + summary["never_started"] == count
    if as_json:
        assert json.loads(out)["never_started"] == summary["never_started"]
    else:
        assert f"never started  {summary['never_started']} ".encode() in out
