"""A gtrid fixed with -H 'x-wx-gtrid: G': one header, G, on the wire and on record (send, replay, conform's line)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests import conform_receivers as receivers
from tests.conform_receivers import SECRET, served
from tests.servers import ScriptedServer

pytestmark = pytest.mark.e2e

G = "0f1e2d3c-fixed-by-the-user"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def gtrid_headers(headers: list[list[str]]) -> list[str]:
    return [value for name, value in headers if name.lower() == "x-wx-gtrid"]


def test_send_sends_and_reports_the_given_gtrid_everywhere(tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    with ScriptedServer(script=[503, 200]) as server:
        code, out, _ = cli("send", "inbound/sms/mo", server.url, "--fast", "--json", "-H", f"X-WX-GTRID: {G}")
        _, people, _ = cli("send", "inbound/sms/mo", server.url, "--fast", "-H", f"x-wx-gtrid: {G}", "--log", str(log))
    assert code == 0
    report = json.loads(out)
    assert report["gtrid"] == G
    assert [p.headers["x-wx-gtrid"] for p in server.posts] == [G] * 3
    assert f"(gtrid {G})" in people
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert {r["gtrid"] for r in records if r["type"] != "summary"} == {G}
    assert gtrid_headers(records[0]["headers"]) == [G]  # one header: the user's, not one of ours as well


def test_count_delivers_the_same_notification_again_under_the_fixed_gtrid() -> None:
    # The first POST is refused, so its story is still retrying while the two others end: three
    # stories under one gtrid at once.
    with ScriptedServer(script=[503, 200]) as server:
        result = CliRunner().invoke(
            main,
            ["send", "receipt/sms/delivered", server.url, "--fast", "--json", "--count", "3", "-H", f"x-wx-gtrid: {G}"],
        )
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [r["gtrid"] for r in reports] == [G] * 3
    assert sorted(len(r["attempts"]) for r in reports) == [1, 1, 2]
    assert [p.headers["x-wx-gtrid"] for p in server.posts] == [G] * 4
    assert len({p.body for p in server.posts}) == 1  # the same notification again, byte for byte
    assert f"x-wx-gtrid {G} is fixed: the same notification is delivered 3 times" in result.stderr


def test_one_gtrid_for_several_different_notifications_is_bad_input() -> None:
    with ScriptedServer() as server:
        code, out, err = cli("send", "receipt/sms/*", server.url, "--fast", "-H", f"x-wx-gtrid: {G}")
    assert code == 2
    assert out == "" and len(err.strip().splitlines()) == 1
    assert "different notifications one gtrid" in err and "--count N" in err
    assert server.posts == []


def _send_log(tmp_path: Path, *targets: str) -> Path:
    log = tmp_path / "sent.ndjson"
    with ScriptedServer() as server:
        code, _, _ = cli("send", *targets, server.url, "--fast", "--log", str(log))
    assert code == 0
    return log


def test_replay_honours_a_gtrid_header_and_refuses_it_where_it_cannot_hold(tmp_path: Path) -> None:
    one = _send_log(tmp_path, "inbound/sms/mo")
    with ScriptedServer() as server:
        code, out, _ = cli("replay", str(one), server.url, "--fast", "--json", "-H", f"x-wx-gtrid: {G}")
        assert code == 0
        assert [r["gtrid"] for r in json.loads(out)] == [G]
        assert [p.headers["x-wx-gtrid"] for p in server.posts] == [G]
        code, _, err = cli("replay", str(one), server.url, "--new-gtrid", "-H", f"x-wx-gtrid: {G}")
        assert code == 2 and "contradict" in err
        several = _send_log(tmp_path, "inbound/sms/mo", "receipt/sms/delivered")
        code, _, err = cli("replay", str(several), server.url, "-H", f"x-wx-gtrid: {G}")
        assert code == 2 and "select one with --gtrid ID" in err
        assert len(server.posts) == 1


class RecordsGtrids(receivers.RejectsRedelivery):
    """Refuses a second delivery of a gtrid (409), and records the gtrid of every POST."""

    def __init__(self) -> None:
        super().__init__()
        self.gtrids: list[str] = []

    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        self.gtrids.append(headers.get("x-wx-gtrid", ""))
        return await super().accept(document, headers)


def test_duplicate_delivery_reproduce_line_delivers_the_same_gtrid_again() -> None:
    app = RecordsGtrids()
    env = {
        **os.environ,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
        "CONNECT_HOOKS_SECRET": SECRET,
    }
    with served(app) as url:
        result = CliRunner().invoke(
            main, ["conform", url + "/hooks", "--secret", SECRET, "--json", "--only", "duplicate-delivery"]
        )
        (check,) = json.loads(result.stdout)["checks"]
        assert check["status"] == "fail"
        (original,) = re.findall(r"gtrid ([0-9a-f-]{36})", check["message"])
        app.seen.clear()
        app.gtrids.clear()
        again = subprocess.run(["bash", "-c", check["reproduce"]], env=env, capture_output=True, text=True)
    assert app.gtrids == [original, original]  # the receiver saw the conform run's gtrid, twice
    assert again.returncode == 1, again.stderr  # and refused it the second time, as conform said
    assert "is fixed: the same notification is delivered 2 times" in again.stderr
