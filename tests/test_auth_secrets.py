"""Every sender credential (password, API key, client secret, token, AWS keys, p12 password) stays out
of every output, log, JSON document and error message."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from connect_hooks.cli.main import main
from tests.auth_receivers import AuthReceiver, serve

PASSWORD = "pw-Zq9!XYZZY-basic"
API_KEY = "key-Zq9!XYZZY-api"
CLIENT_SECRET = "cs-Zq9!XYZZY-oauth"
AWS_SECRET = "aws-Zq9!XYZZY-secret"
SESSION_TOKEN = "sess-Zq9!XYZZY-token"
P12_PASSWORD = "p12-Zq9!XYZZY-pass"
AWS_KEY_ID = "AKIDZq9XYZZYkeyid"  # README: AWS keys never appear, the access key id included
SECRETS = (PASSWORD, API_KEY, CLIENT_SECRET, AWS_SECRET, SESSION_TOKEN, P12_PASSWORD, AWS_KEY_ID)

ENV = {
    "CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD,
    "CONNECT_HOOKS_API_KEY": API_KEY,
    "CONNECT_HOOKS_CLIENT_SECRET": CLIENT_SECRET,
    "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    "AWS_SESSION_TOKEN": SESSION_TOKEN,
    "CONNECT_HOOKS_CLIENT_CERT_PASSWORD": P12_PASSWORD,
}


def receiver_for(kind: str) -> AuthReceiver:
    return AuthReceiver(
        kind,
        password=PASSWORD,
        api_key=API_KEY,
        client_secret=CLIENT_SECRET,
        aws_key=AWS_KEY_ID,
        aws_secret=AWS_SECRET,
        token_ttl=60,
    )


def auth_args(kind: str, base: str) -> list[str]:
    return {
        "basic": ["--auth", "basic", "--auth-user", "alice"],
        "digest": ["--auth", "digest", "--auth-user", "alice"],
        "api-key": ["--auth", "api-key", "--api-key-header", "X-API-Key"],
        "bearer": ["--auth", "oauth2", "--token-url", base + "/oauth/token", "--client-id", "the-client"],
        "aws-sigv4": ["--auth", "aws-sigv4", "--aws-region", "eu-west-1", "--aws-service", "execute-api"],
    }[kind]


@pytest.fixture(scope="module")
def p12(tmp_path_factory: pytest.TempPathFactory) -> Path:
    issued = trustme.CA().issue_cert("client@example.test")
    key = serialization.load_pem_private_key(issued.private_key_pem.bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # trustme's keys, which PKCS#12 takes
    cert = x509.load_pem_x509_certificate(issued.cert_chain_pems[0].bytes())
    path = tmp_path_factory.mktemp("p12") / "client.p12"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"c",
            key,
            cert,
            None,
            serialization.BestAvailableEncryption(P12_PASSWORD.encode()),
        )
    )
    return path


@pytest.mark.parametrize("kind", ["basic", "digest", "api-key", "bearer", "aws-sigv4"])
@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_send_and_check_never_show_a_credential(tmp_path: Path, p12: Path, kind: str, extra: list[str]) -> None:
    receiver = receiver_for(kind)
    log = tmp_path / "send.ndjson"
    runner = CliRunner()
    with serve(receiver) as port:
        base = f"http://127.0.0.1:{port}"
        args = [*auth_args(kind, base), "--client-cert", str(p12), *extra]
        sent = runner.invoke(
            main, ["send", "receipt/sms/*", base + "/hooks", "--fast", "--log", str(log), *args], env=ENV
        )
        checked = runner.invoke(main, ["check", base + "/hooks", *args], env=ENV)
        again = tmp_path / "replay.ndjson"
        replayed = runner.invoke(main, ["replay", str(log), "--fast", "--log", str(again), *args], env=ENV)
        conformed = runner.invoke(
            main,
            ["conform", base + "/hooks", "--only", "url,accepts/receipt/sms/delivered,rejects", "--verbose", *args],
            env={**ENV, "CONNECT_HOOKS_SECRET": PASSWORD},
        )
        # a failing run too: wrong credentials everywhere, retried once
        receiver.password, receiver.api_key, receiver.client_secret, receiver.aws_secret = ("other",) * 4
        failed = runner.invoke(
            main, ["send", "receipt/sms/delivered", base + "/hooks", "--retries", "1", "--fast", *args], env=ENV
        )
    assert sent.exit_code == 0, sent.output
    assert replayed.exit_code == 0, replayed.output
    assert failed.exit_code == 1
    issued = list(receiver.tokens)
    assert (kind == "bearer") == bool(issued)
    assert "rejects-wrong-auth" in conformed.output
    texts = (sent.output, checked.output, conformed.output, failed.output, replayed.output, again.read_text())
    for text in (*texts, log.read_text()):
        for secret in (*SECRETS, *issued):
            assert secret not in text


def test_help_and_errors_do_not_show_credentials(tmp_path: Path, p12: Path) -> None:
    runner = CliRunner()
    for command in ("send", "check", "replay", "webhooks"):
        result = runner.invoke(main, [command, "--help"], env=ENV)
        assert result.exit_code == 0
        assert not any(s in result.output for s in SECRETS)
    for args, env in (
        (["--client-cert", str(p12)], {"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": P12_PASSWORD + "x"}),
        (["--auth", "basic", "--auth-user", "alice", "--auth-password-file", str(tmp_path / "nope")], ENV),
        (["--auth", "aws-sigv4", "--aws-region", "r", "--aws-service", "s"], {"AWS_SECRET_ACCESS_KEY": AWS_SECRET}),
    ):
        result = runner.invoke(main, ["send", "receipt/sms/delivered", "https://127.0.0.1:9/", *args], env=env)
        assert result.exit_code == 2
        assert not any(s in result.output for s in (*SECRETS, P12_PASSWORD + "x"))
