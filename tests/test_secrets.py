"""The hub secret never appears in any output, log, JSON or error message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks import sign
from connect_hooks.cli.main import main
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


CREDENTIALS = {
    "CONNECT_HOOKS_AUTH_PASSWORD": "Zq-pass-XYZZY-1",
    "CONNECT_HOOKS_API_KEY": "Zq-apikey-XYZZY-2",
    "CONNECT_HOOKS_CLIENT_SECRET": "Zq-client-XYZZY-3",
    "AWS_ACCESS_KEY_ID": "AKIDXYZZY4",
    "AWS_SECRET_ACCESS_KEY": "Zq-aws-XYZZY-5",
    "AWS_SESSION_TOKEN": "Zq-session-XYZZY-6",
    "CONNECT_HOOKS_CLIENT_CERT_PASSWORD": "Zq-p12-XYZZY-7",
}


def test_listen_help_and_errors_do_not_show_credentials_from_the_environment() -> None:
    code, output = run("listen", "--help", env=CREDENTIALS)
    assert code == 0
    for argv in (
        ["listen", "--require-auth", "basic"],
        ["listen", "--require-auth", "aws-sigv4"],
        ["listen", "--require-client-cert"],
        ["listen", "--port", "70000", "--require-auth", "bearer"],
    ):
        code, more = run(*argv, env=CREDENTIALS)
        assert code == 2
        output += more
    for secret in CREDENTIALS.values():
        assert secret not in output


def _auth_sweep_requests(kind: str) -> list[dict[str, Any]]:
    body = b'{"a":1}'
    password = CREDENTIALS["CONNECT_HOOKS_AUTH_PASSWORD"]
    if kind in ("basic", "digest"):
        make = httpx.BasicAuth if kind == "basic" else httpx.DigestAuth
        return [
            {"content": body, "auth": make("webex", password)},
            {"content": body, "auth": make("webex", password + "x")},
        ]
    if kind == "api-key":
        key = CREDENTIALS["CONNECT_HOOKS_API_KEY"]
        return [
            {"content": body, "headers": {"x-api-key": key}},
            {"content": body, "headers": {"x-api-key": key + "x"}},
        ]
    if kind == "bearer":
        secret = CREDENTIALS["CONNECT_HOOKS_CLIENT_SECRET"]
        form = {"grant_type": "client_credentials", "client_id": "webex", "client_secret": secret}
        return [
            {"url": "/oauth/token", "data": form},
            {"url": "/oauth/token", "data": {**form, "client_secret": secret + "x"}},
            {
                "url": "/oauth/token",
                "auth": httpx.BasicAuth("webex", secret),
                "data": {"grant_type": "client_credentials"},
            },
            {"content": body, "headers": {"authorization": "Bearer " + secret}},
        ]
    keys = f"{CREDENTIALS['AWS_ACCESS_KEY_ID']}/20260115/eu-west-1/execute-api/aws4_request"
    forged = f"AWS4-HMAC-SHA256 Credential={keys}, SignedHeaders=host;x-amz-date, Signature={'0' * 64}"
    return [
        {
            "content": body,
            "headers": {
                "authorization": forged,
                "x-amz-date": "20260115T093000Z",
                "x-amz-security-token": CREDENTIALS["AWS_SESSION_TOKEN"],
            },
        }
    ]


@pytest.mark.parametrize("kind", ["basic", "digest", "api-key", "bearer", "aws-sigv4"])
def test_no_credential_in_records_live_view_or_answers(kind: str) -> None:
    """Good and wrong credentials through the receiver: records, --json, the live view and 401 bodies stay clean."""
    import asyncio

    from rich.console import Console

    from connect_hooks.cli import liveview
    from connect_hooks.cli.commands.listen_auth import receiver_auth
    from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings

    options = {
        "require_auth": kind,
        "auth_user": "webex",
        "api_key_header": "X-API-Key",
        "client_id": "webex",
        "aws_region": "eu-west-1",
        "aws_service": "execute-api",
    }
    verifier = receiver_auth(options, environ=CREDENTIALS)
    records: list[Received] = []
    app = ReceiverApp(ReceiverSettings(secret=SECRET, auth=verifier), records.append)

    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
            return [
                await client.request(**{"method": "POST", "url": "/hooks", **r}) for r in _auth_sweep_requests(kind)
            ]

    answers = asyncio.run(go())
    assert records and any(r.status == 401 for r in records)
    console = Console(record=True, width=300)
    for record in records:
        console.print(liveview.received_line(record))
    issued = [a for a in answers if a.request.url.path == "/oauth/token" and a.status_code == 200]
    tokens = [a.json()["access_token"] for a in issued]
    output = console.export_text() + json.dumps([r.as_dict() for r in records]) + repr(records) + repr(verifier)
    output += "".join(a.text for a in answers if a not in issued)  # the token answers carry their token, rightly
    for secret in [SECRET, *(v for k, v in CREDENTIALS.items() if k != "AWS_ACCESS_KEY_ID"), *tokens]:
        assert secret not in output
