"""``connect-hooks listen`` as a real subprocess on 127.0.0.1: serve, log, stop on a signal."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks import sign
from connect_hooks.cli.main import main
from tests.support import listening_on, no_dns_under_invalid, stderr_line

pytestmark = pytest.mark.e2e

SECRET = "listen-hub-secret"
STOP_BOUND = 5.0  # generous: "did it stop", not "how fast"


class Listener:
    def __init__(self, process: subprocess.Popen[str], url: str, port: int, banner: list[str]) -> None:
        self.process = process
        self.url = url
        self.port = port
        self.banner = banner  # the stderr lines read up to 'listening on URL'

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        """Send ``sig``; its exit code, stdout, and the whole of stderr."""
        self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=STOP_BOUND)
        return self.process.returncode, out, "".join(self.banner) + err


@contextmanager
def listening(*args: str, env: dict[str, str] | None = None, tls: bool = False) -> Iterator[Listener]:
    """``listen --port 0 ARGS`` as a subprocess; the port is read from its banner.

    Without --tls one HEAD is made first (it is the first request every test sees).
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", "listen", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k != "CONNECT_HOOKS_SECRET"}, **(env or {})},
    )
    try:
        url, port, banner = listening_on(process)
        assert url == f"{'https' if tls else 'http'}://127.0.0.1:{port}"
        listener = Listener(process, url, port, banner)
        if not tls:
            with httpx.Client(trust_env=False) as client:
                assert client.head(url).status_code == 200
        yield listener
    finally:
        if process.poll() is None:  # a failed test: ask first, so a --tls listener removes its CA
            process.terminate()
            try:
                process.wait(timeout=STOP_BOUND)
            except subprocess.TimeoutExpired:
                process.kill()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.wait()


def send(url: str, *args: str) -> int:
    result = CliRunner().invoke(
        main, ["send", "receipt/sms/delivered", url, "--fast", *args], env={"CONNECT_HOOKS_SECRET": SECRET}
    )
    return result.exit_code


def test_send_against_listen_drives_the_retry_policy_and_the_log_is_complete(tmp_path: Path) -> None:
    log = tmp_path / "listen.ndjson"
    with listening("--respond", "503,503,200", "--log", str(log), env={"CONNECT_HOOKS_SECRET": SECRET}) as listener:
        assert send(listener.url + "/hooks") == 0
        assert send(listener.url + "/hooks", "--secret", "forged", "--retries", "0") == 1
        code, out, err = listener.stop(signal.SIGINT)
    assert code == 0
    assert err.rstrip().endswith("stopped by SIGINT after 5 requests")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["type"], r["method"], r["status"], r["signature"]) for r in records] == [
        ("request", "HEAD", 200, "not-read"),
        ("request", "POST", 503, "valid"),
        ("request", "POST", 503, "valid"),
        ("request", "POST", 200, "valid"),
        ("request", "POST", 401, "mismatch"),
    ]
    posts = [r for r in records if r["method"] == "POST"]
    assert [(r["attempt"], r["status"]) for r in posts] == [(1, 503), (2, 503), (3, 200), (1, 401)]
    assert len({r["gtrid"] for r in posts[:3]}) == 1
    for record in posts:
        assert {"time", "type", "method", "path", "headers", "body", "signature", "status"} <= set(record)
        assert record["path"] == "/hooks"
        assert record["kind"] == "receipt"
        body = record["body"].encode()
        assert record["headers"]["content-length"] == str(len(body))
    assert sign(posts[0]["body"].encode(), SECRET) == posts[0]["headers"]["x-hub-signature"]
    assert SECRET not in log.read_text() + out + err
    live = [line for line in out.splitlines() if "receipt SMS Delivered" in line]
    assert len(live) == 4
    assert re.search(r"#1 .*signature valid \(sha256\)\s+→ 503", live[0])
    assert re.search(r"#3 .*signature valid \(sha256\)\s+→ 200", live[2])
    assert re.search(r"signature MISMATCH\s+→ 401  x-hub-signature does not verify", live[3])


def test_json_prints_records_instead_of_the_live_view_and_sigterm_stops_it() -> None:
    with listening("--json") as listener:
        assert send(listener.url + "/hooks", "--secret", SECRET) == 0
        code, out, err = listener.stop(signal.SIGTERM)
    assert code == 0
    assert "stopped by SIGTERM" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert [(r["method"], r["status"], r["signature"]) for r in records] == [
        ("HEAD", 200, "not-read"),
        ("POST", 200, "unchecked"),
    ]


def test_tls_prints_a_ca_that_send_and_check_verify(tmp_path: Path) -> None:
    with listening("--tls", tls=True) as listener:
        ca = None
        while ca is None and (line := stderr_line(listener.process)):
            found = re.search(r"--ca-bundle (\S+ca\.pem)", line)
            ca = found.group(1) if found else None
        assert ca is not None and Path(ca).is_file()
        check = CliRunner().invoke(main, ["check", listener.url + "/hooks", "--ca-bundle", ca])
        assert check.exit_code == 0, check.stdout
        assert send(listener.url + "/hooks", "--ca-bundle", ca) == 0
        code, out, _ = listener.stop()
    assert code == 0
    assert not Path(ca).exists()  # the throwaway CA goes with the server
    assert out.count("→ 200") == 2  # check's HEAD and the delivery


def test_a_port_in_use_is_one_line_of_bad_input() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "connect_hooks", "listen", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: port {port} on 127.0.0.1 is already in use: pick another with --port, or stop what is using it\n"
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "-1"], "-1 is not in the range 0<=x<=65535"),
        (["--port", "70000"], "70000 is not in the range 0<=x<=65535"),
        (["--respond", "503,abc"], "--respond '503,abc': 'abc' is not a status code from 200 to 599"),
        (["--delay", "-1"], "-1.0 is not in the range x>=0"),
        (["--secret", ""], "the hub secret from --secret is empty"),
        (["--host", "no such host.invalid"], "--host 'no such host.invalid' is not an address to listen on"),
        (["--forward-to", "ftp://app.test/"], "--forward-to 'ftp://app.test/' is not an http(s) URL"),
        (["--inspect-port", "70000"], "70000 is not in the range 0<=x<=65535"),
        (["--allow-host", "mybox.lan"], "--allow-host mybox.lan is only used with --inspect: add it, or drop"),
        (["--inspect", "--allow-host", "http://mybox.lan:4040"], "--allow-host 'http://mybox.lan:4040' is not a host"),
        (
            ["--port", "8080", "--forward-to", "http://localhost:8080/app"],
            "--forward-to http://localhost:8080/app is this receiver itself (port 8080)",
        ),
    ],
)
def test_bad_options_are_exit_2_before_listening(
    args: list[str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_dns_under_invalid(monkeypatch)
    result = CliRunner().invoke(main, ["listen", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_garbage_and_oversized_requests_do_not_kill_it() -> None:
    with listening("--json") as listener:
        with socket.create_connection(("127.0.0.1", listener.port)) as raw:
            raw.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
            raw.settimeout(5)
            with suppress(TimeoutError, ConnectionError):
                raw.recv(1024)
        with httpx.Client(trust_env=False) as client:
            big = client.post(listener.url + "/hooks", content=b"[" + b"0," * 600_000 + b"0]")
            assert big.status_code == 413
            assert client.head(listener.url).status_code == 200
        code, out, _ = listener.stop()
    assert code == 0
    statuses = [json.loads(line)["status"] for line in out.splitlines()]
    assert statuses[-2:] == [413, 200]


def test_a_stop_during_a_delayed_answer_is_prompt_and_logged(tmp_path: Path) -> None:
    log = tmp_path / "delayed.ndjson"
    with (
        listening("--delay", "60", "--log", str(log)) as listener,
        socket.create_connection(("127.0.0.1", listener.port)) as raw,
    ):
        raw.sendall(
            b"POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"x-wx-gtrid: stuck\r\nContent-Length: 2\r\n\r\n{}"
        )
        # A full round trip on another connection: by its end the stalled request has been read.
        with httpx.Client(trust_env=False) as client:
            assert client.head(listener.url).status_code == 200
        code, _, _ = listener.stop()  # within STOP_BOUND, or communicate() raises
    assert code == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["method"], r["gtrid"], r["status"]) for r in records] == [
        ("HEAD", None, 200),
        ("HEAD", None, 200),
        ("POST", "stuck", None),
    ]
    assert records[-1]["reason"] == "the receiver stopped during the delay (it would have got 200)"


def test_when_the_reader_of_stdout_goes_away_it_stops_quietly() -> None:
    with listening("--json") as listener:
        assert listener.process.stdout is not None
        assert json.loads(listener.process.stdout.readline())["method"] == "HEAD"
        listener.process.stdout.close()
        with httpx.Client(trust_env=False) as client:
            assert client.head(listener.url).status_code == 200
        listener.process.wait(timeout=STOP_BOUND)
        assert listener.process.stderr is not None
        err = listener.process.stderr.read()
    assert listener.process.returncode == 0
    assert err.rstrip().endswith("stopped by stdout closed after 2 requests")
    assert "Traceback" not in err


def test_huge_headers_and_slow_clients_do_not_kill_it_or_block_others() -> None:
    with listening("--json") as listener:
        with socket.create_connection(("127.0.0.1", listener.port)) as raw:
            raw.sendall(b"POST /hooks HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * 200_000 + b"\r\n\r\n")
            raw.settimeout(5)
            with suppress(TimeoutError, ConnectionError):
                answer = raw.recv(1024)
                assert answer == b"" or answer.startswith(b"HTTP/1.1 4")
        slow = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(20)]
        try:
            for conn in slow:  # slowloris: half a request line, then nothing
                conn.sendall(b"POST /hooks HTTP/1.1\r\nHost: 127.")
            with httpx.Client(trust_env=False, timeout=5) as client:
                assert client.head(listener.url).status_code == 200
                assert client.post(listener.url + "/hooks", json={"a": 1}).status_code == 200
        finally:
            for conn in slow:
                conn.close()
        code, out, err = listener.stop()
    assert code == 0
    assert "Traceback" not in err
    assert [json.loads(line)["status"] for line in out.splitlines()][-2:] == [200, 200]


def test_allow_host_reaches_the_inspector(monkeypatch: pytest.MonkeyPatch) -> None:
    from connect_hooks.receiver import listening

    given: list[listening.ListenSettings] = []

    def fake_listen(settings: listening.ListenSettings, view: object, *, out: object) -> listening.Stopped:
        given.append(settings)
        return listening.Stopped(0, "the test")

    monkeypatch.setattr(listening, "listen", fake_listen)
    args = ["listen", "--inspect", "--allow-host", "mybox.lan", "--allow-host", "box-2.local"]
    assert CliRunner().invoke(main, args).exit_code == 0
    assert given[0].allow_hosts == ("mybox.lan", "box-2.local")


def test_the_banner_of_a_widened_inspector_names_the_hosts_it_answers(capsys: pytest.CaptureFixture[str]) -> None:
    from connect_hooks.cli.commands.listen import ListenPrinter
    from connect_hooks.receiver.listening import ListenSettings, Started
    from connect_hooks.receiver.server import Serving

    settings = ListenSettings(host="0.0.0.0", inspect=True, allow_hosts=("mybox.lan",))
    where, inspector = Serving("0.0.0.0", 8787, tls=False), Serving("0.0.0.0", 4040, tls=False)
    ListenPrinter(as_json=False).started(Started(where, settings, inspector, None, None))
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert "the inspector answers by IP address and as localhost, mybox.lan (more with --allow-host NAME)" in err
