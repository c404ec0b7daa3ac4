"""The people's burst summary on a pipe: the text Rich writes there, byte for byte, written without loading Rich."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import pytest

from connect_hooks.cli import render, summarytext
from connect_hooks.cli.commands.options import console
from connect_hooks.policy import Decision, Fault, Outcome
from connect_hooks.sender.delivery import Attempt, Delivery, Notification
from connect_hooks.sender.summary import Summary, SummaryCounter
from tests.servers import ScriptedServer


def attempt(number: int, status: int | None, latency_ms: float, decision: Decision) -> Attempt:
    fault = Fault.TIMEOUT if status is None else None
    return Attempt("g", number, 0.0, status, None, fault, latency_ms, decision, latency_ms=latency_ms)


def summary_of(stories: list[tuple[list[Attempt], Outcome]], wall_s: float, never_started: int = 0) -> Summary:
    counter = SummaryCounter()
    for attempts, outcome in stories:
        for one in attempts:
            counter.attempted("t", one)
        counter.finished(Delivery.of(Notification("t", b"{}", "g", ()), "https://x.test/", outcome, tuple(attempts)))
    return counter.summary(wall_s, never_started)


SUMMARIES = {
    "empty": summary_of([], 0.0),
    "one": summary_of([([attempt(1, 200, 12.5, Decision.DELIVERED)], Outcome.DELIVERED)], 0.02),
    "mixed": summary_of(
        [([attempt(1, 200, 3.0 * k + 1, Decision.DELIVERED)], Outcome.DELIVERED) for k in range(40)]
        + [([attempt(1, 503, 900.0, Decision.RETRY), attempt(2, 200, 1500.0, Decision.DELIVERED)], Outcome.DELIVERED)]
        + [([attempt(1, None, 10_000.0, Decision.RETRY)], Outcome.INTERRUPTED)]
        + [([attempt(1, 400, 7.0, Decision.FAILED)], Outcome.FAILED)],
        3.25,
        never_started=1234,
    ),
    # longer than any terminal's 80 columns: Rich (soft_wrap) does not wrap it, nor may the pipe's text
    "wide": summary_of(
        [([attempt(1, status, 123456.789, Decision.FAILED)], Outcome.FAILED) for status in range(400, 440)], 1234.5
    ),
}


@pytest.mark.parametrize("name", list(SUMMARIES))
def test_the_pipe_text_is_what_rich_writes_there(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in summarytext.TERMINAL_ENV:
        monkeypatch.delenv(variable, raising=False)
    drawn = io.StringIO()
    with contextlib.redirect_stdout(drawn):  # the people's console, writing to what is not a terminal
        render.print_summary(console(), SUMMARIES[name])
    assert summarytext.plain(summarytext.summary_lines(SUMMARIES[name])) == drawn.getvalue()
    assert not summarytext.maybe_terminal(drawn)


PROBE = """
import json, sys
from connect_hooks.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(json.dumps({"rich": "rich" in sys.modules, "code": code}), file=sys.stderr)
"""


@pytest.mark.parametrize("force_color", [False, True])
def test_a_burst_summary_on_a_pipe_loads_no_rich_unless_the_environment_asks_for_a_terminal(force_color: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k not in summarytext.TERMINAL_ENV}
    if force_color:
        env["FORCE_COLOR"] = "1"  # Rich draws styles on a pipe: its own path, escape codes included
    with ScriptedServer(script=[200]) as server:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                PROBE,
                "send",
                "receipt/sms/delivered",
                server.url,
                "--count",
                "3",
                "--fast",
                "--summary",
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    assert len(server.posts) == 3
    probed = done.stderr[done.stderr.rindex("{") :]  # after the progress bar that FORCE_COLOR draws on stderr
    assert json.loads(probed) == {"rich": force_color, "code": 0}
    assert ("\x1b[" in done.stdout) is force_color
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        "\x1b[1m3 notifications, 3 attempts\x1b[0m\x1b[1m in " if force_color else "3 notifications, 3 attempts in "
    )
    assert lines[2] == "  answers        200 x3"
