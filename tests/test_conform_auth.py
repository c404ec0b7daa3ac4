"""conform with --auth: every check carries the authorization; rejects-missing-auth and
rejects-wrong-auth judge the receiver's side of it (issue 11)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.auth_receivers import AuthReceiver, serve

pytestmark = pytest.mark.e2e

ENV = {
    "CONNECT_HOOKS_AUTH_PASSWORD": "s3cret-pass",
    "CONNECT_HOOKS_API_KEY": "key-123",
    "CONNECT_HOOKS_CLIENT_SECRET": "the-client-secret",
    "AWS_ACCESS_KEY_ID": "AKIDTEST",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-key",
}
ONLY = "url-head-200,accepts/receipt/sms/delivered,rejects-missing-auth,rejects-wrong-auth"


def args_for(kind: str, base: str) -> list[str]:
    return {
        "basic": ["--auth", "basic", "--auth-user", "alice"],
        "digest": ["--auth", "digest", "--auth-user", "alice"],
        "api-key": ["--auth", "api-key", "--api-key-header", "X-API-Key"],
        "bearer": ["--auth", "oauth2", "--token-url", base + "/oauth/token", "--client-id", "the-client"],
        "aws-sigv4": ["--auth", "aws-sigv4", "--aws-region", "eu-west-1", "--aws-service", "execute-api"],
    }[kind]


def conform(receiver: AuthReceiver, kind: str) -> tuple[int, dict[str, Any]]:
    with serve(receiver) as port:
        base = f"http://127.0.0.1:{port}"
        result = CliRunner().invoke(
            main, ["conform", base + "/hooks", *args_for(kind, base), "--only", ONLY, "--json"], env=ENV
        )
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("kind", ["basic", "digest", "api-key", "bearer", "aws-sigv4"])
def test_a_receiver_that_checks_the_authorization_passes(kind: str) -> None:
    code, report = conform(AuthReceiver(kind), kind)
    assert {c["id"]: c["status"] for c in report["checks"]} == {
        "url-head-200": "pass",
        "accepts/receipt/sms/delivered": "pass",
        "rejects-missing-auth": "pass",
        "rejects-wrong-auth": "pass",
    }
    assert code == 0
    for check in report["checks"]:
        assert not any(secret in json.dumps(check) for secret in ENV.values() if secret != "AKIDTEST")


@pytest.mark.parametrize("kind", ["basic", "bearer"])
def test_a_receiver_that_ignores_the_authorization_fails_both(kind: str) -> None:
    code, report = conform(AuthReceiver("none"), kind)
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert (statuses["rejects-missing-auth"], statuses["rejects-wrong-auth"]) == ("fail", "fail")
    assert code == 1
    missing = next(c for c in report["checks"] if c["id"] == "rejects-missing-auth")
    assert missing["message"].startswith("answered 200 to a notification without authorization")
    assert "--auth" not in missing["reproduce"]
    wrong = next(c for c in report["checks"] if c["id"] == "rejects-wrong-auth")
    if kind == "basic":
        assert wrong["reproduce"].startswith("CONNECT_HOOKS_AUTH_PASSWORD=wrong-secret connect-hooks send ")
        assert "--auth basic --auth-user alice" in wrong["reproduce"]
    else:
        assert "-H 'Authorization: Bearer wrong-token'" in wrong["reproduce"]


def test_without_auth_the_auth_checks_do_not_exist() -> None:
    with serve(AuthReceiver("none")) as port:
        result = CliRunner().invoke(
            main, ["conform", f"http://127.0.0.1:{port}/hooks", "--only", "rejects-missing-auth", "--json"]
        )
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --only 'rejects-missing-auth' runs only with --auth: give the receiver's authorization\n"
    )
