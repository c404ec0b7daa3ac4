"""Hostile text reaches people escaped: a payload, an answer or a file name cannot drive the terminal.

``textsafe.visible`` shows control characters as escapes; the live view of a real ``listen``, the
output of ``send`` and the evidence of ``conform`` pass outside text through it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks.cli import liveview
from connect_hooks.cli.main import main
from connect_hooks.receiver.app import Received, Signature, classify
from connect_hooks.textsafe import visible
from tests.servers import ScriptedServer
from tests.support import listening_on

TITLE = "\u001b]0;pwned\u0007"  # sets the terminal's title
CLEAR = "\u001b[2J"  # clears the screen
FORGED = "\r\n12:00:00  forged    #1  receipt SMS delivered  signature valid (sha256)  → 200"
#: Bytes a terminal obeys; none may reach the output (C1 CSI as UTF-8 too).
OBEYED = (b"\x1b", b"\x07", b"\r", b"\xc2\x9b", b"\x00")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, é, 日本, 😀", "plain text, é, 日本, 😀"),
        (TITLE, "\\x1b]0;pwned\\x07"),
        (CLEAR, "\\x1b[2J"),
        ("a\r\nb\tc\x00", "a\\r\\nb\\tc\\x00"),
        ("\x7f\x9b\u202e\u2028", "\\x7f\\x9b\\u202e\\u2028"),
        ("", ""),
    ],
)
def test_visible_escapes_what_a_terminal_would_obey(text: str, shown: str) -> None:
    assert visible(text) == shown
    assert visible(text).isprintable()


def test_visible_returns_printable_text_itself() -> None:
    text = "receipt SMS delivered"
    assert visible(text) is text


def _assert_safe(output: bytes) -> None:
    for byte in OBEYED:
        assert byte not in output, (byte, output)


def test_listen_live_view_shows_hostile_payloads_escaped() -> None:
    """A real ``listen`` subprocess: payload fields, a path and a gtrid with control characters."""
    env = {k: v for k, v in os.environ.items() if k != "CONNECT_HOOKS_SECRET"}
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", "listen", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        url, _, _ = listening_on(process)
        with httpx.Client(timeout=10) as client:
            inbound = {"channel": TITLE, "event": CLEAR + FORGED}
            client.post(f"{url}/hooks", content=json.dumps(inbound).encode(), headers={"x-wx-gtrid": "g1"})
            receipt = {
                "deliveryInfoNotification": {"deliveryInfo": {"deliveryChannel": CLEAR, "deliveryStatus": TITLE}}
            }
            client.post(f"{url}/hooks", content=json.dumps(receipt).encode(), headers={b"x-wx-gtrid": b"\x9b2Jab"})
            client.get(f"{url}/hooks%1b%5b2J%07")  # the path, percent-decoded, is shown for a GET
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    _assert_safe(out)
    text = out.decode()
    assert "inbound \\x1b]0;pwned\\x07 \\x1b[2J\\r\\n12:00:00  forged" in text
    assert "receipt \\x1b[2J \\x1b]0;pwned\\x07" in text
    assert "\\x9b2Jab" in text
    assert "GET /hooks\\x1b[2J\\x07" in text
    assert len(text.splitlines()) == 3  # one line per request: none forged


def _record(channel: str, event: str, gtrid: str) -> Received:
    return Received(
        time=dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC),
        method="POST",
        path="/hooks",
        headers=(),
        body=b"{}",
        size=2,
        gtrid=gtrid,
        attempt=1,
        classification=classify({"channel": channel, "event": event}),
        signature=Signature.UNCHECKED,
        algorithm=None,
        status=503,
        reason=f"scripted {TITLE}",
    )


def test_the_coloured_live_line_holds_only_its_own_escapes() -> None:
    record = _record(TITLE, CLEAR, "\x1b[2Jgtrid")
    line = liveview.received_ansi(record, color=True)
    without_sgr = re.sub(r"\x1b\[[0-9;]*m", "", line)  # the colours the live view itself adds
    assert "\x1b" not in without_sgr and "\x07" not in without_sgr
    assert "\\x1b]0;pwned\\x07" in without_sgr


def test_send_shows_a_hostile_file_name_and_answer_escaped(tmp_path: Path) -> None:
    name = tmp_path / f"note{TITLE}{CLEAR}.json"
    name.write_text('{"channel": "sms"}')
    with ScriptedServer(script=["garbage"]) as server:
        result = CliRunner().invoke(main, ["send", str(name), server.url, "--retries", "0"])
    assert result.exit_code == 1, result.output
    _assert_safe(result.stdout_bytes)
    assert "\\x1b]0;pwned\\x07\\x1b[2J.json" in result.stdout


def test_conform_evidence_shows_hostile_text_escaped() -> None:
    """The failures' messages and evidence lines go through ``visible`` (here a reason that quotes the URL)."""
    from connect_hooks.cli import render_conform
    from connect_hooks.cli.commands.options import console
    from connect_hooks.conform.conformance import CheckResult, ConformReport, Status

    result = CheckResult(
        id="accepts/receipt/sms/delivered",
        status=Status.FAIL,
        message=f"answered 500 {TITLE}",
        why="a receipt must be accepted",
        evidence=f"POST http://127.0.0.1/hooks\n  answer: {CLEAR}\r12:00:00  forged\x85",
        reproduce=f"connect-hooks send x 'http://127.0.0.1/{CLEAR}'",
        duration_ms=1.0,
    )
    report = ConformReport(url="http://127.0.0.1/hooks", seed=1, checks=(result,))
    out = console()
    with out.capture() as captured:
        out.print(render_conform.row(result, 10))
        render_conform.print_details(out, report)
    text = captured.get()
    _assert_safe(text.encode())
    assert "answered 500 \\x1b]0;pwned\\x07" in text
    assert "answer: \\x1b[2J\\r12:00:00  forged\\x85" in text
    assert "\\x1b[2J'" in text  # the reproduce line
