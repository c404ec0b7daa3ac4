"""The hub secret never appears in any output, log, JSON or error message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks import sign
from connect_hooks.cli import main
from tests.servers import ScriptedServer
from tests.support import listening_on

SECRET = "Zq-9f3!hub-secret-XYZZY"


def run(*args: str, env: dict[str, str] | None = None, input: bytes | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env, input=input)
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_send_output_and_log(tmp_path: Path, extra: list[str]) -> None:
    log = tmp_path / "send.ndjson"
    with ScriptedServer(script=[503, 200]) as server:
        code, output = run(
            "send",
            "receipt/sms/*",
            server.url,
            "--fast",
            "--log",
            str(log),
            *extra,
            env={"CONNECT_HOOKS_SECRET": SECRET},
        )
    assert code == 0
    assert server.posts  # it did sign and send
    assert SECRET not in output
    assert SECRET not in log.read_text()


def test_help_does_not_show_the_secret_from_the_environment() -> None:
    for command in ("send", "listen", "sign", "verify", "conform"):
        code, output = run(command, "--help", env={"CONNECT_HOOKS_SECRET": SECRET})
        assert code == 0
        assert SECRET not in output


@pytest.mark.parametrize(
    "args",
    [
        ["sign", "-"],
        ["sign", "--json", "-"],
        ["verify", "--signature", sign(b"{}", SECRET), "-"],
        ["verify", "--signature", sign(b"{}", SECRET + "\n"), "-"],
        ["verify", "--json", "--signature", sign(b"{}", " " + SECRET), "-"],
        ["verify", "--signature", "sha256=" + "0" * 64, "-"],
    ],
)
def test_sign_and_verify(args: list[str]) -> None:
    code, output = run(*args, env={"CONNECT_HOOKS_SECRET": SECRET}, input=b"{}")
    assert code in (0, 1)
    assert SECRET not in output
    assert SECRET.strip() not in output


def test_errors_about_the_secret_do_not_quote_it(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1-secret"
    latin1.write_bytes(SECRET.encode() + b"\xff")
    for args in (
        ["send", "inbound/sms/mo", "https://example.test/", "--secret", SECRET, "--secret-file", str(latin1)],
        ["send", "inbound/sms/mo", "https://example.test/", "--secret-file", str(latin1)],
        ["sign", "--secret-file", str(latin1), "-"],
    ):
        code, output = run(*args, input=b"{}")
        assert code == 2
        assert SECRET not in output


def test_listen_banner_log_and_records(tmp_path: Path) -> None:
    log = tmp_path / "listen.ndjson"
    env = {**os.environ, "CONNECT_HOOKS_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", "listen", "--port", "0", "--json", "--log", str(log)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        base, _, banner = listening_on(proc)
        url = base + "/hooks"
        with httpx.Client(trust_env=False) as client:
            body = b'{"a":1}'
            good = client.post(url, content=body, headers={"x-hub-signature": sign(body, SECRET)})
            bad = client.post(url, content=body, headers={"x-hub-signature": sign(body, SECRET + " ")})
        assert (good.status_code, bad.status_code) == (200, 401)
        assert SECRET not in bad.text
    finally:
        proc.terminate()
        out, rest = proc.communicate(timeout=10)
    err = "".join(banner).encode() + rest
    assert b"fingerprint" in err
    assert SECRET.encode() not in out + err
    assert SECRET not in log.read_text()
    assert [json.loads(line)["status"] for line in log.read_text().splitlines()] == [200, 401]
    assert [json.loads(line)["status"] for line in out.splitlines()] == [200, 401]
