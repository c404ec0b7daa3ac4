"""Bursts end to end: ``send --count/--concurrency/--rate/--summary`` against a real loopback receiver."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.support import connect_hooks_process

pytestmark = pytest.mark.e2e


@dataclass
class Seen:
    gtrid: str
    attempt: int  # the n-th POST of this gtrid
    at: float  # time.monotonic() when the request was read
    body: bytes


@dataclass
class Receiver:
    """A threaded HTTP/1.1 server on 127.0.0.1 (port 0): answers ``answer(attempt)`` after ``delay`` s."""

    answer: Callable[[int], int] = lambda attempt: 200
    delay: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    active: int = 0
    most_active: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self.lock = threading.Lock()


@contextmanager
def receiver(**kw: object) -> Iterator[Receiver]:
    state = Receiver(**kw)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            gtrid = self.headers["x-wx-gtrid"]
            with state.lock:
                attempt = 1 + sum(1 for s in state.seen if s.gtrid == gtrid)
                state.seen.append(Seen(gtrid, attempt, time.monotonic(), body))
                state.active += 1
                state.most_active = max(state.most_active, state.active)
            try:
                if state.delay:
                    time.sleep(state.delay)
            finally:
                with state.lock:
                    state.active -= 1
            self.send_response(state.answer(attempt))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def send(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["send", *args])
    return result.exit_code, result.stdout, result.stderr


def first_fails(attempt: int) -> int:
    return 503 if attempt == 1 else 200


def test_count_makes_distinct_notifications_and_every_first_attempt_precedes_every_retry() -> None:
    with receiver(answer=first_fails) as r:
        code, out, _ = send(
            "inbound/sms/mo", "receipt/sms/delivered", r.url, "--count", "6", "--concurrency", "4", "--fast", "--json"
        )
    reports = json.loads(out)
    assert code == 0
    assert len(reports) == 12
    assert [d["target"] for d in reports[:4]] == ["inbound/sms/mo", "receipt/sms/delivered"] * 2
    assert len({d["gtrid"] for d in reports}) == 12
    assert len({s.body for s in r.seen if s.attempt == 1}) == 12  # samples rendered afresh per copy
    assert [s.attempt for s in r.seen] == [1] * 12 + [2] * 12
    assert {a["scheduled_at"] for d in reports for a in d["attempts"]} == {0, 60}


def test_files_stay_byte_exact_in_every_copy(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_bytes(b'{ "x": 1 }\n')
    with receiver() as r:
        code, _, _ = send(str(payload), r.url, "--count", "3", "--fast", "--json")
    assert code == 0
    assert [s.body for s in r.seen] == [b'{ "x": 1 }\n'] * 3
    assert len({s.gtrid for s in r.seen}) == 3


def test_the_receiver_never_sees_more_than_the_concurrency_bound() -> None:
    with receiver(delay=0.1) as r:
        code, _, _ = send("inbound/sms/mo", r.url, "--count", "24", "--concurrency", "4", "--fast", "--summary")
    assert code == 0
    assert r.most_active == 4
    assert len(r.seen) == 24


def test_rate_spaces_first_attempts_on_a_fixed_schedule() -> None:
    with receiver() as r:
        send("inbound/sms/mo", r.url, "--fast")  # the imports of a first send, out of the timed one
        r.seen.clear()
        before = time.monotonic()  # the schedule's start (T+0) comes after this
        code, out, _ = send("inbound/sms/mo", r.url, "--count", "12", "--rate", "20", "--json")
    reports = json.loads(out)
    assert code == 0
    assert [d["attempts"][0]["scheduled_at"] for d in reports] == [round(i * 0.05, 2) for i in range(12)]
    arrivals = sorted(s.at for s in r.seen)
    # Never ahead of the schedule: the i-th arrival comes no sooner than T+i/20 (a busy machine
    # only delays arrivals, so this lower bound holds under any load; at half the spacing the
    # last would come 0.275 s early).
    assert [round(at - before - i / 20, 3) for i, at in enumerate(arrivals) if at - before < i / 20] == []


def test_json_summary_counts() -> None:
    with receiver(answer=lambda attempt: [503, 503, 200][min(attempt, 3) - 1]) as r:
        code, out, _ = send("inbound/sms/mo", r.url, "--count", "5", "--fast", "--json", "--summary")
    summary = json.loads(out)
    assert code == 0
    assert set(summary) == {
        "notifications",
        "never_started",
        "attempts",
        "outcomes",
        "answers",
        "wall_s",
        "throughput_per_s",
        "latency_ms",
    }
    assert (summary["notifications"], summary["never_started"]) == (5, 0)
    assert summary["attempts"] == 15 == len(r.seen)
    assert summary["outcomes"] == {"delivered": 5, "failed": 0, "dropped": 0, "interrupted": 0}
    assert summary["answers"] == {"200": 5, "503": 10}
    assert summary["throughput_per_s"] == pytest.approx(5 / summary["wall_s"], rel=0.05)
    for which in ("first_attempt", "all_attempts"):
        figures = summary["latency_ms"][which]
        assert set(figures) == {"p50", "p90", "p99", "max"}
        assert 0 < figures["p50"] <= figures["p90"] <= figures["p99"] <= figures["max"]


def test_people_get_the_summary_above_twenty_notifications() -> None:
    with receiver(answer=lambda attempt: 404) as r:
        code, out, _ = send("inbound/sms/mo", r.url, "--count", "21", "--fast")
    assert code == 1
    assert len(r.seen) == 21
    lines = out.splitlines()
    assert lines[0].startswith("21 notifications, 21 attempts in ")
    assert lines[1] == "  outcomes       0 delivered, 21 failed, 0 dropped, 0 interrupted"
    assert lines[2] == "  answers        404 x21"
    assert "attempt 1" not in out  # no table per notification


def test_sigint_during_a_burst_ends_every_notification_once(tmp_path: Path) -> None:
    log = tmp_path / "burst.ndjson"
    with (
        receiver(delay=0.2, answer=first_fails) as r,
        connect_hooks_process(
            "send", "inbound/sms/mo", r.url, "--count", "40", "--concurrency", "5", "--json", "--log", str(log)
        ) as proc,
    ):
        deadline = time.monotonic() + 20
        while len(r.seen) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert b"Traceback" not in err
    records = [json.loads(line) for line in log.read_text().splitlines()]  # every line whole
    made = [rec["gtrid"] for rec in records if rec["type"] == "notification"]
    ended = [rec for rec in records if rec["type"] == "outcome"]
    assert len(made) == len(set(made)) < 40  # only the notifications sent are on record
    assert sorted(rec["gtrid"] for rec in ended) == sorted(made)
    assert records[-1]["type"] == "summary"
    assert records[-1]["notifications"] == len(made)
    assert records[-1]["notifications"] + records[-1]["never_started"] == 40  # the rest are counted
    interrupted = [rec for rec in ended if rec["outcome"] == "interrupted"]
    assert interrupted, "the burst was cut"
    assert all(rec["retries_left"] == 3 - max(len(rec["attempts"]) - 1, 0) for rec in interrupted)
    reports = json.loads(out)
    assert sorted(d["gtrid"] for d in reports) == sorted(made)


def test_people_see_several_notifications_as_one_timeline_in_simulated_time_order() -> None:
    with receiver(answer=first_fails) as r:
        code, out, _ = send("inbound/sms/mo", "receipt/sms/delivered", r.url, "--fast")
    assert code == 0
    lines = [[*line.split("attempt")[0].split(), line.split("→")[1].strip()] for line in out.splitlines()[:4]]
    assert lines == [
        ["T+0s", "inbound/sms/mo", "retry in 60 s"],
        ["T+0s", "receipt/sms/delivered", "retry in 60 s"],
        ["T+60s", "inbound/sms/mo", "delivered"],
        ["T+60s", "receipt/sms/delivered", "delivered"],
    ]
    assert out.splitlines()[4].startswith("inbound/sms/mo: delivered after 2 attempts")
    assert len(r.seen) == 4
