"""``replay`` end to end: real ``send --log`` and receiver logs, replayed to real loopback receivers."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connect_hooks.cli.main import main
from connect_hooks.logfile import NdjsonLog
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings, Script
from connect_hooks.receiver.server import bind, serving
from tests.conftest import LocalCA
from tests.servers import Request, ScriptedServer, Stall

pytestmark = pytest.mark.e2e

SECRET = "old-replay-hub-secret"
NEW_SECRET = "rotated-replay-hub-secret"
TARGETS = ("receipt/sms/delivered", "inbound/sms/mo", "receipt/sms/failed")


def cli(*args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, env=env)


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Recorded:
    """A real ``send --log`` against a receiver that fails: delivered, dropped, failed (in that order)."""

    log: Path
    report: list[dict[str, Any]]
    posts: dict[str, Request]  # gtrid -> what the broken receiver read


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Recorded, ScriptedServer]]:
    log = tmp_path / "send.ndjson"
    with ScriptedServer(script=[200, 503, 404]) as broken:
        result = cli(
            "send",
            *TARGETS,
            broken.url,
            "--secret",
            SECRET,
            "-H",
            "Authorization: Bearer t0ken",
            "--retries",
            "0",
            "--concurrency",
            "1",
            "--fast",
            "--json",
            "--log",
            str(log),
        )
        assert result.exit_code == 1, result.stderr
        report = json.loads(result.stdout)
        assert [(d["target"], d["outcome"]) for d in report] == [
            ("receipt/sms/delivered", "delivered"),
            ("inbound/sms/mo", "dropped"),
            ("receipt/sms/failed", "failed"),
        ]
        posts = {p.headers["x-wx-gtrid"]: p for p in broken.posts}
        yield Recorded(log, report, posts), broken


def gtrids(recorded: Recorded, *targets: str) -> list[str]:
    by_target = {d["target"]: d["gtrid"] for d in recorded.report}
    return [by_target[t] for t in targets]


def test_exact_replay_of_the_failures_keeps_gtrid_bytes_and_signature(
    recorded: tuple[Recorded, ScriptedServer],
) -> None:
    sent, broken = recorded
    with ScriptedServer(script=[200]) as fixed:
        result = cli("replay", str(sent.log), fixed.url, "--outcome", "failed,dropped", "--fast", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    wanted = gtrids(sent, "inbound/sms/mo", "receipt/sms/failed")
    assert [(d["gtrid"], d["outcome"], d["url"]) for d in report] == [(g, "delivered", fixed.url) for g in wanted]
    # Both start at T+0, side by side: the order they reach the receiver is not fixed.
    assert sorted(p.headers["x-wx-gtrid"] for p in fixed.posts) == sorted(wanted)
    for post in fixed.posts:
        original = sent.posts[post.headers["x-wx-gtrid"]]
        assert post.body == original.body
        assert post.headers["x-hub-signature"] == original.headers["x-hub-signature"]
        assert post.headers["x-hub-signature"] == signature(post.body, SECRET)
        assert post.headers["content-type"] == original.headers["content-type"]
        assert original.headers["authorization"] == "Bearer t0ken"
        assert "authorization" not in post.headers  # a recorded credential is never re-sent
    assert len(broken.posts) == 3  # the original receiver saw nothing more
    assert result.stderr.splitlines() == [
        "note: Webex Connect only calls https:// URLs; plain http is allowed here because the host is loopback",
        f"replaying 2 of the 3 notifications in {sent.log}",
    ]


def test_without_a_url_a_send_log_replays_to_the_original_url(recorded: tuple[Recorded, ScriptedServer]) -> None:
    sent, broken = recorded
    broken.script = [200]  # the receiver is fixed in place
    (gtrid,) = gtrids(sent, "receipt/sms/failed")
    result = cli("replay", str(sent.log), "--gtrid", gtrid, "--fast", "--json")
    assert result.exit_code == 0, result.stderr
    assert [(d["gtrid"], d["url"], d["outcome"]) for d in json.loads(result.stdout)] == [
        (gtrid, broken.url, "delivered")
    ]
    assert broken.posts[-1].body == sent.posts[gtrid].body
    assert len(broken.posts) == 4


def test_https_is_verified_like_send(recorded: tuple[Recorded, ScriptedServer], test_ca: LocalCA) -> None:
    sent, _ = recorded
    with ScriptedServer(script=[200], tls=test_ca.server_context()) as secure:
        untrusted = cli("replay", str(sent.log), secure.url, "--outcome", "failed", "--retries", "0", "--json")
        trusted = cli("replay", str(sent.log), secure.url, "--outcome", "failed", "--ca-bundle", str(test_ca.ca_path))
    assert untrusted.exit_code == 1
    (attempt,) = json.loads(untrusted.stdout)[0]["attempts"]
    assert attempt["error"].startswith("TLS failed: certificate verify failed")
    assert trusted.exit_code == 0, trusted.stderr
    assert [p.headers["x-wx-gtrid"] for p in secure.posts] == gtrids(sent, "receipt/sms/failed")


def test_resign_and_new_gtrid(recorded: tuple[Recorded, ScriptedServer], tmp_path: Path) -> None:
    sent, _ = recorded
    out = tmp_path / "replayed.ndjson"
    with ScriptedServer(script=[200]) as fixed:
        result = cli(
            "replay",
            str(sent.log),
            fixed.url,
            "--target",
            "inbound/*",
            "--resign",
            "--new-gtrid",
            "-H",
            "X-Replayed: yes",
            "--fast",
            "--log",
            str(out),
            env={"CONNECT_HOOKS_SECRET": NEW_SECRET},
        )
    assert result.exit_code == 0, result.stderr
    (post,) = fixed.posts
    (old_gtrid,) = gtrids(sent, "inbound/sms/mo")
    assert post.body == sent.posts[old_gtrid].body
    assert post.headers["x-wx-gtrid"] != old_gtrid
    assert uuid.UUID(post.headers["x-wx-gtrid"]).version == 4
    assert post.headers["x-hub-signature"] == signature(post.body, NEW_SECRET)
    assert post.headers["x-hub-signature"] != signature(post.body, SECRET)
    assert post.headers["x-replayed"] == "yes"
    assert "re-signing with sha256: hub secret " in result.stderr
    assert "inbound/sms/mo: delivered after 1 attempt" in result.stdout
    for text in (result.stdout, result.stderr, out.read_text()):
        assert NEW_SECRET not in text and SECRET not in text
    # The replay's own log is a send log: it replays again, with the gtrid it was given.
    again = cli("replay", str(out), fixed.url, "--dry-run", "--json")
    assert [row["gtrid"] for row in json.loads(again.stdout)] == [post.headers["x-wx-gtrid"]]


def test_filters_select_exactly_and_dry_run_sends_nothing(recorded: tuple[Recorded, ScriptedServer]) -> None:
    sent, broken = recorded

    def selected(*args: str) -> list[str]:
        result = cli("replay", str(sent.log), "--dry-run", "--json", *args)
        assert result.exit_code == 0, result.stderr
        return [row["target"] for row in json.loads(result.stdout)]

    assert selected() == list(TARGETS)
    assert selected("--outcome", "failed") == ["receipt/sms/failed"]
    assert selected("--outcome", "delivered,dropped") == ["receipt/sms/delivered", "inbound/sms/mo"]
    assert selected("--target", "receipt/*") == ["receipt/sms/delivered", "receipt/sms/failed"]
    assert selected("--target", "receipt/*", "--outcome", "dropped") == []
    assert selected("--target", "inbound/*", "--target", "*failed") == ["inbound/sms/mo", "receipt/sms/failed"]
    two = gtrids(sent, "receipt/sms/delivered", "receipt/sms/failed")
    assert selected("--gtrid", two[1], "--gtrid", two[0]) == ["receipt/sms/delivered", "receipt/sms/failed"]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)).isoformat()
    assert selected("--since", soon) == []
    assert selected("--since", "2020-01-01T00:00Z") == list(TARGETS)

    rows = json.loads(cli("replay", str(sent.log), "--dry-run", "--json", "--outcome", "failed").stdout)
    (gtrid,) = gtrids(sent, "receipt/sms/failed")
    body = sent.posts[gtrid].body
    assert rows == [
        {
            "line": rows[0]["line"],
            "url": broken.url,
            "gtrid": gtrid,
            "original_gtrid": gtrid,
            "target": "receipt/sms/failed",
            "size": len(body),
            "signature": signature(body, SECRET),
            "recorded_outcome": "failed",
            "recorded_status": None,
        }
    ]
    table = cli("replay", str(sent.log), "--dry-run", "--outcome", "failed,dropped")
    assert table.exit_code == 0
    assert f"replay --dry-run to {broken.url}: nothing is sent" in table.stdout
    assert "2 notifications would be replayed" in table.stdout
    for shown in gtrids(sent, "inbound/sms/mo", "receipt/sms/failed"):
        assert shown in table.stdout  # whole, to copy into --gtrid
    assert len(broken.posts) == 3  # the receiver is up at the recorded URL, and heard nothing

    from_stdin = cli("replay", "-", "--dry-run", "--json", "--outcome", "failed", input=sent.log.read_bytes())
    assert json.loads(from_stdin.stdout) == rows

    nothing = cli("replay", str(sent.log), "--outcome", "interrupted", "--fast", "--json")
    assert (nothing.exit_code, nothing.stdout) == (0, "[]\n")
    assert nothing.stderr == f"nothing to replay: none of the 3 notifications in {sent.log} matches\n"
    in_figures = cli("replay", str(sent.log), "--gtrid", "no-such-gtrid", "--fast", "--json", "--summary")
    assert (in_figures.exit_code, json.loads(in_figures.stdout)["notifications"]) == (0, 0)
    assert len(broken.posts) == 3


def test_a_torn_last_line_is_reported_and_skipped(recorded: tuple[Recorded, ScriptedServer], tmp_path: Path) -> None:
    sent, _ = recorded
    lines = sent.log.read_text().splitlines()
    last_notification = max(i for i, line in enumerate(lines) if json.loads(line)["type"] == "notification")
    torn = tmp_path / "torn.ndjson"
    kept = lines[:last_notification]  # as if the writer died while writing receipt/sms/failed
    torn.write_text("\n".join([*kept, lines[last_notification][:60]]))
    with ScriptedServer(script=[200]) as fixed:
        result = cli("replay", str(torn), fixed.url, "--fast", "--json")
    assert result.exit_code == 0
    assert [d["target"] for d in json.loads(result.stdout)] == ["receipt/sms/delivered", "inbound/sms/mo"]
    assert f"{torn}:{len(kept) + 1}: a truncated last line; skipped" in result.stderr.splitlines()
    assert len(fixed.posts) == 2


def test_an_interrupted_replay_leaves_every_notification_sent_on_record(
    recorded: tuple[Recorded, ScriptedServer], tmp_path: Path
) -> None:
    sent, _ = recorded
    out = tmp_path / "replayed.ndjson"
    with ScriptedServer(script=[Stall()]) as stuck:  # never answers

        def stop_when_the_first_post_arrives() -> None:
            deadline = time.monotonic() + 20
            while not stuck.posts and time.monotonic() < deadline:
                time.sleep(0.01)
            if stuck.posts:  # (never signal pytest itself when the replay did not get that far)
                os.kill(os.getpid(), signal.SIGTERM)  # a cancelled CI job: run ends it like Ctrl-C

        stopper = threading.Thread(target=stop_when_the_first_post_arrives)
        stopper.start()
        result = cli("replay", str(sent.log), stuck.url, "--concurrency", "1", "--json", "--log", str(out))
        stopper.join()
    assert result.exit_code == 130
    report = json.loads(result.stdout)
    assert [(d["target"], d["outcome"], len(d["attempts"])) for d in report] == [
        ("receipt/sms/delivered", "interrupted", 0),  # its attempt was cut: it does not count
    ]  # the two never started are counted in the log's summary, not recorded
    assert len(stuck.posts) == 1
    assert json.loads(out.read_text().splitlines()[-1])["never_started"] == 2
    # On record, so the interrupted one replays later.
    again = cli("replay", str(out), "--outcome", "interrupted", "--dry-run", "--json")
    assert [row["target"] for row in json.loads(again.stdout)] == ["receipt/sms/delivered"]


@contextmanager
def receiver_logging_to(log_path: Path, settings: ReceiverSettings) -> Iterator[str]:
    """The real receiver on 127.0.0.1 (port 0), in a thread, logging every request as 'listen --log' does."""
    log = NdjsonLog(log_path)
    ready = threading.Event()
    started: list[tuple[asyncio.AbstractEventLoop, asyncio.Event, str]] = []  # the server's loop, its stop, its URL

    def observe(record: Received) -> None:
        log.write({"type": "request", **record.as_dict()})

    async def serve() -> None:
        stop = asyncio.Event()
        async with serving(ReceiverApp(settings, observe), bind("127.0.0.1", 0), log_level="critical") as where:
            started.append((asyncio.get_running_loop(), stop, where.url + "/hooks"))
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(20), "the receiver did not start"
    loop, stop, url = started[0]
    try:
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        log.close()


def test_a_listen_log_replays_to_a_url(tmp_path: Path) -> None:
    heard = tmp_path / "listen.ndjson"
    with receiver_logging_to(heard, ReceiverSettings(secret=SECRET, script=Script((503, 200)))) as url:
        gave_up = cli("send", "inbound/sms/mo", url, "--secret", SECRET, "--retries", "0", "--json")
        made_it = cli("send", "receipt/sms/delivered", url, "--secret", SECRET, "--fast", "--json")
    assert (gave_up.exit_code, made_it.exit_code) == (1, 0)
    lost, delivered = json.loads(gave_up.stdout)["gtrid"], json.loads(made_it.stdout)["gtrid"]
    requests = [json.loads(line) for line in heard.read_text().splitlines()]
    assert [(r["gtrid"], r["status"]) for r in requests] == [(lost, 503), (delivered, 503), (delivered, 200)]

    needs_url = cli("replay", str(heard))
    assert needs_url.exit_code == 2
    assert needs_url.stderr == (
        f"error: {heard} is a 'listen --log' file, which records no URL to send to: give the URL\n"
    )
    with ScriptedServer(script=[200]) as app:
        result = cli("replay", str(heard), app.url, "--status", "503", "--fast", "--json")
        everything = cli("replay", str(heard), app.url, "--fast", "--json")
    assert result.exit_code == 0, result.stderr
    assert [d["gtrid"] for d in json.loads(result.stdout)] == [lost]
    assert [d["gtrid"] for d in json.loads(everything.stdout)] == [lost, delivered]  # retries: one notification
    first = app.posts[0]
    assert first.headers["x-wx-gtrid"] == lost
    assert first.body == requests[0]["body"].encode()
    assert first.headers["x-hub-signature"] == requests[0]["headers"]["x-hub-signature"]
    assert first.headers["x-hub-signature"] == signature(first.body, SECRET)
    assert first.headers["user-agent"] == requests[0]["headers"]["user-agent"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.ndjson"], "error: 'missing.ndjson' does not exist: give a file written by 'send --log'"),
        (["{log}", "--outcome", "lost"], "error: --outcome 'lost': use one or more of delivered,failed"),
        (["{log}", "--status", "500"], "error: --status applies to 'listen --log' files, and {log} is a 'send --log'"),
        (["{log}", "--since", "yesterday"], "error: --since 'yesterday' is not an ISO time"),
        (["{log}", "--resign"], "error: --resign signs again with the current hub secret, and none is given"),
        (["{log}", "--fast", "--speed", "60"], "error: --fast and --speed contradict each other"),
        (["{log}", "-H", "X-Price: 5 €"], "error: -H 'X-Price: ...': header values must be latin-1 text"),
        (["{log}", "http://example.test/h"], "error: 'http://example.test/h' is plain http to a non-loopback host"),
        (["{junk}"], "error: {junk} holds no notification to replay (1 line skipped; the first, line 1: not a JSON"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    recorded: tuple[Recorded, ScriptedServer], tmp_path: Path, args: list[str], message: str
) -> None:
    sent, broken = recorded
    junk = tmp_path / "junk.ndjson"
    junk.write_text("not a record\n")
    names = {"log": str(sent.log), "junk": str(junk)}
    result = cli("replay", *[a.format(**names) for a in args], "--fast")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(message.format(**names))
    assert len(broken.posts) == 3
