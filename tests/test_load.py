"""`connect-hooks load` end to end: Locust (a master and two workers, or one process) against a receiver that
verifies every signature. Locust runs in child processes only: importing it here would patch this process."""

from __future__ import annotations

import collections
import contextlib
import csv
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connect_hooks import signing
from connect_hooks.catalogue import samples

pytestmark = pytest.mark.e2e

SECRET = "load-test-hub-secret"
WORKER = re.compile(r"\(load; worker (\d+)\)")


@dataclass
class Received:
    gtrid: str
    body: bytes
    signature: str | None
    agent: str
    status: int
    at: float


@dataclass
class Receiver:
    """Verifies every POST's signature (401 when it does not verify); ``first`` answers each gtrid's first POST."""

    first: int = 200
    posts: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, gtrid: str, body: bytes, signature: str | None, agent: str) -> int:
        with self.lock:
            seen = any(p.gtrid == gtrid for p in self.posts)
            status = 401 if not signing.verify(body, signature, SECRET) else (200 if seen else self.first)
            self.posts.append(Received(gtrid, body, signature, agent, status, time.monotonic()))
        return status


@contextlib.contextmanager
def receiver(first: int = 200) -> Iterator[tuple[Receiver, str]]:
    state = Receiver(first)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Locust's client uses it

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.answer(
                self.headers["x-wx-gtrid"], body, self.headers["x-hub-signature"], self.headers["User-Agent"]
            )
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hooks"
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A port for Locust's master (it cannot bind port 0): one the system just handed out, released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def load(*args: str, secret: str | None = SECRET) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECT_HOOKS_")}
    if secret is not None:
        env["CONNECT_HOOKS_SECRET"] = secret
    return subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", "load", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background test run ignores SIGINT
    )


def finish(process: subprocess.Popen[str], seconds: float = 60) -> tuple[int, str]:
    try:
        out, _ = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError(f"load did not end: {out[-3000:]}") from None
    return process.returncode, out


def stats(prefix: Path) -> dict[tuple[str, str], int]:
    """Locust's CSV: (type, name) -> request count."""
    with open(f"{prefix}_stats.csv", encoding="utf-8") as file:
        return {(row["Type"], row["Name"]): int(row["Request Count"]) for row in csv.DictReader(file)}


def distributed(url: str, csv_prefix: Path, worker_secrets: tuple[str | None, ...]) -> tuple[int, str]:
    """A headless master (bound to loopback) and one worker per secret; the master's exit code and output."""
    port = str(free_port())
    master = load(
        url,
        *("--target", "receipt/sms/*", "--master", "--headless", "--expect-workers", str(len(worker_secrets))),
        *("--users", "4", "--spawn-rate", "4", "--run-time", "3s", "--csv", str(csv_prefix)),
        *("--master-bind-host", "127.0.0.1", "--master-bind-port", port),
    )
    workers = [load("--worker", "--master-host", "127.0.0.1", "--master-port", port, secret=s) for s in worker_secrets]
    code, out = finish(master)
    for worker in workers:
        worker_code, worker_out = finish(worker)
        assert worker_code == 0, worker_out[-3000:]
    return code, out


def test_a_master_and_two_workers_send_signed_notifications_the_receiver_and_the_csv_agree_on(tmp_path: Path) -> None:
    with receiver() as (state, url):
        code, out = distributed(url, tmp_path / "run", (SECRET, SECRET))
    assert code == 0, out[-3000:]
    posts = state.posts
    assert posts, out[-3000:]
    assert [p for p in posts if p.status != 200] == []  # every one signed with the hub secret
    assert len({p.gtrid for p in posts}) == len(posts)  # each its own gtrid (nothing retried: all answered 200)
    workers = [WORKER.search(p.agent) for p in posts]
    assert {found.group(1) if found else None for found in workers} == {"0", "1"}  # from both, and only them
    counted = stats(tmp_path / "run")
    names = {name for kind, name in counted if kind == "POST"}
    assert sum(n for (kind, _), n in counted.items() if kind == "POST") == len(posts)
    assert counted[("", "Aggregated")] == len(posts)  # the outcomes are not requests
    assert counted[("OUTCOME", "delivered")] == len(posts)
    assert names <= set(samples.match("receipt/sms/*")) and len(names) > 1  # each POST named by its sample


def test_a_503_is_retried_under_the_same_gtrid_while_the_user_sends_on(tmp_path: Path) -> None:
    """One user, one process; the receiver answers each notification's first POST 503. At --speed 60 the retry
    is due a second later, under the same gtrid with the same bytes; meanwhile the user keeps sending."""
    with receiver(first=503) as (state, url):
        process = load(
            url, "--headless", "--users", "1", "--run-time", "3s", "--speed", "60", "--csv", str(tmp_path / "r")
        )
        code, out = finish(process)
    assert code == 0, out[-3000:]
    attempts = collections.defaultdict(list)
    for post in state.posts:
        attempts[post.gtrid].append(post)
    retried = [pair for pair in attempts.values() if len(pair) == 2]
    assert retried, out[-3000:]
    assert all(len(pair) <= 2 for pair in attempts.values())
    for first, second in retried:
        assert (first.status, second.status) == (503, 200)
        assert (second.body, second.signature) == (first.body, first.signature)
        assert second.at - first.at >= 0.9  # 60 s divided by --speed 60
    assert len(attempts) > 10  # a notification waiting for its retry does not hold up the next one
    counted = stats(tmp_path / "r")
    assert counted[("OUTCOME", "delivered")] == len(retried)
    assert counted[("OUTCOME", "interrupted")] == len(attempts) - len(retried)  # retries the end of the run cut
    assert counted[("", "Aggregated")] == len(state.posts)


def test_a_worker_whose_hub_secret_differs_from_the_masters_sends_nothing(tmp_path: Path) -> None:
    """The secret never crosses the network, so each worker has its own: a worker with another one would send
    notifications the receiver rejects. It refuses instead, and says why (by fingerprint, never the secret)."""
    with receiver() as (state, url):
        code, out = distributed(url, tmp_path / "run", ("another-secret",))
    assert state.posts == []
    assert code == 1
    assert "differs from the master's" in out
    assert "another-secret" not in out and SECRET not in out


def test_ctrl_c_ends_the_run_with_130_and_locust_still_writes_its_report(tmp_path: Path) -> None:
    with receiver() as (state, url):
        process = load(url, "--headless", "--users", "2", "--run-time", "60s", "--csv", str(tmp_path / "c"))
        deadline = time.monotonic() + 30
        while not state.posts and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert state.posts, "nothing was sent"
        process.send_signal(signal.SIGINT)  # to the command only: it passes it on to Locust
        code, out = finish(process)
        time.sleep(0.3)
        after = len(state.posts)
        time.sleep(1.0)
        assert len(state.posts) == after  # Locust ended with the command: nothing is left sending
    assert code == 130, out[-3000:]
    assert stats(tmp_path / "c")[("", "Aggregated")] > 0
