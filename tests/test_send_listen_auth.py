"""Both sides of issue 11 together: ``send --auth ...`` against ``listen --require-auth ...`` (a real subprocess on
127.0.0.1), one pair per type and mTLS, as the README shows them; wrong credentials end as a failed delivery and a
refused request on the receiver's record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.test_listen_auth import listen

pytestmark = pytest.mark.e2e

CREDENTIALS = {
    "CONNECT_HOOKS_AUTH_PASSWORD": "s3cret-Pa55",
    "CONNECT_HOOKS_API_KEY": "k-123-key",
    "CONNECT_HOOKS_CLIENT_SECRET": "c-secret-value",
    "AWS_ACCESS_KEY_ID": "AKIDCONNECTHOOKS",
    "AWS_SECRET_ACCESS_KEY": "aws/secret+key",
}
WRONG = {name: value + "-wrong" for name, value in CREDENTIALS.items()}
AWS = ["--aws-region", "eu-west-1", "--aws-service", "execute-api"]

PAIRS = [
    # listen options, send options ({url} is listen's base URL)
    (["--require-auth", "basic", "--auth-user", "webex"], ["--auth", "basic", "--auth-user", "webex"]),
    (["--require-auth", "digest", "--auth-user", "webex"], ["--auth", "digest", "--auth-user", "webex"]),
    (
        ["--require-auth", "api-key", "--api-key-header", "X-API-Key"],
        ["--auth", "api-key", "--api-key-header", "X-API-Key"],
    ),
    (
        ["--require-auth", "bearer", "--client-id", "webex"],
        ["--auth", "oauth2", "--token-url", "{url}/oauth/token", "--client-id", "webex"],
    ),
    (
        ["--require-auth", "bearer", "--client-id", "webex"],
        ["--auth", "oauth2", "--token-url", "{url}/oauth/token", "--client-id", "webex", "--client-auth", "basic"],
    ),
    (["--require-auth", "aws-sigv4", *AWS], ["--auth", "aws-sigv4", *AWS]),
]


def send(url: str, options: list[str], env: dict[str, str]) -> tuple[int, str]:
    args = [o.replace("{url}", url) for o in options]
    result = CliRunner().invoke(
        main, ["send", "receipt/sms/delivered", url + "/hooks", "--fast", "--retries", "0", *args, "--json"], env=env
    )
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("listen_options", "send_options"),
    PAIRS,
    ids=["basic", "digest", "api-key", "oauth2-body", "oauth2-basic", "aws-sigv4"],
)
def test_send_delivers_to_listen_with_the_same_credentials_and_not_with_wrong_ones(
    tmp_path: Path, listen_options: list[str], send_options: list[str]
) -> None:
    with listen(tmp_path, *listen_options, env=CREDENTIALS) as running:
        good, good_output = send(running.url, send_options, CREDENTIALS)
        bad, bad_output = send(running.url, send_options, WRONG)
    assert good == 0, good_output
    assert bad == 1, bad_output
    delivered = [r for r in running.records if r["path"] == "/hooks" and r["status"] == 200]
    assert len(delivered) == 1 and delivered[0]["auth"]["ok"] and delivered[0]["attempt"] == 1
    refused = running.records[-1]  # the wrong credentials: refused at the token endpoint, or at the hook
    assert (refused["path"], refused["status"], refused["auth"]["ok"]) == (
        "/oauth/token" if "oauth2" in send_options else "/hooks",
        401,
        False,
    )
    everything = running.out + running.err + running.log.read_text() + good_output + bad_output
    for secret in (*CREDENTIALS.values(), *WRONG.values()):
        if secret != CREDENTIALS["AWS_ACCESS_KEY_ID"] and secret != WRONG["AWS_ACCESS_KEY_ID"]:
            assert secret not in everything


@pytest.mark.parametrize("form", ["pem", "p12"])
def test_send_presents_listens_client_certificate(tmp_path: Path, form: str) -> None:
    env = {"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": "p12-Pa55word"}
    with listen(tmp_path, "--tls", "--require-client-cert", env=env) as running:
        ca = re.search(r"--ca-bundle (\S+)", running.banner)
        cert = re.search(r"PEM\): (\S+)" if form == "pem" else r"PKCS#12: (\S+)", running.banner)
        assert ca is not None and cert is not None
        with_cert, output = send(running.url, ["--ca-bundle", ca.group(1), "--client-cert", cert.group(1)], env)
        without, _ = send(running.url, ["--ca-bundle", ca.group(1)], env)
    assert with_cert == 0, output
    assert without == 1
    assert [r["status"] for r in running.records] == [200]


@pytest.mark.parametrize(
    ("listen_options", "send_options"),
    [PAIRS[0], PAIRS[1], PAIRS[2], PAIRS[3], PAIRS[5]],
    ids=["basic", "digest", "api-key", "oauth2", "aws-sigv4"],
)
def test_conform_finds_listen_refusing_missing_and_wrong_credentials(
    tmp_path: Path, listen_options: list[str], send_options: list[str]
) -> None:
    import json

    checks = "rejects-missing-auth,rejects-wrong-auth,accepts/receipt/sms/delivered"
    with listen(tmp_path, *listen_options, env=CREDENTIALS) as running:
        args = [o.replace("{url}", running.url) for o in send_options]
        result = CliRunner().invoke(
            main, ["conform", running.url + "/hooks", "--only", checks, "--json", *args], env=CREDENTIALS
        )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(report["passed"]) == sorted(checks.split(","))
    refused = [r for r in running.records if r["status"] == 401]
    assert refused and not any(r["auth"]["ok"] for r in refused)
