"""The sender's authorization and client certificate against real receivers on 127.0.0.1."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import trustme
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from connect_hooks.cli.main import main
from connect_hooks.client import auth
from connect_hooks.client.auth import AuthSettings
from connect_hooks.client.transport import make_client
from connect_hooks.policy import Policy
from connect_hooks.sender import clock as engine
from connect_hooks.sender.delivery import Delivery
from connect_hooks.sender.scheduler import deliver_all
from connect_hooks.sender.sending import SendSettings, prepare
from tests.auth_receivers import AuthReceiver, mtls_options, serve
from tests.support import run

pytestmark = pytest.mark.e2e

PASSWORD = "s3cret-pass"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "aws-secret-key"}


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    fast = ["--fast"] if args[0] == "send" and "--fast" not in args else []  # a broken run must not wait minutes
    return CliRunner().invoke(main, [*args, *fast], env=env)


def attempts(result: Result) -> list[tuple[int | None, str | None]]:
    document = json.loads(result.stdout)
    return [(a["status"], a["error"]) for a in document["attempts"]]


def test_basic(tmp_path: Path) -> None:
    receiver = AuthReceiver("basic")
    with serve(receiver) as port:
        url = f"http://127.0.0.1:{port}/hooks"
        good = cli("send", "receipt/sms/delivered", url, "--auth", "basic", "--auth-user", "alice", "--json",
                   env={"CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD})  # fmt: skip
        (tmp_path / "pw").write_text("wrong\n")
        bad = cli("send", "receipt/sms/delivered", url, "--auth", "basic", "--auth-user", "alice",
                  "--auth-password-file", str(tmp_path / "pw"), "--retries", "1", "--fast", "--json")  # fmt: skip
    assert (good.exit_code, attempts(good)) == (0, [(200, None)])
    assert (bad.exit_code, attempts(bad)) == (1, [(401, None), (401, None)])  # 401 is retried
    assert [s.ok for s in receiver.seen] == [True, False, False]


def test_digest_challenge_and_answer_are_one_attempt() -> None:
    receiver = AuthReceiver("digest")
    with serve(receiver) as port:
        url = f"http://127.0.0.1:{port}/hooks"
        good = cli("send", "receipt/sms/delivered", url, "--auth", "digest", "--auth-user", "alice", "--json",
                   env={"CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD})  # fmt: skip
        bad = cli("send", "receipt/sms/delivered", url, "--auth", "digest", "--auth-user", "alice", "--retries", "1",
                  "--fast", "--json", env={"CONNECT_HOOKS_AUTH_PASSWORD": "nope"})  # fmt: skip
    assert (good.exit_code, attempts(good)) == (0, [(200, None)])
    # a wrong password: the challenge is answered once, and the second 401 ends the attempt; the
    # retry starts pre-emptively from the last challenge (nonce count 2), then answers the new one
    assert (bad.exit_code, attempts(bad)) == (1, [(401, None), (401, None)])
    assert [(s.ok, "authorization" in s.headers) for s in receiver.seen] == [
        (False, False), (True, True), (False, False), (False, True), (False, True), (False, True)
    ]  # fmt: skip
    assert "nc=00000002" in receiver.seen[4].headers["authorization"]
    bodies = {s.headers["content-length"] for s in receiver.seen}
    assert len(bodies) == 1  # the answer re-sends the same body


def test_digest_answer_counts_against_the_attempt_deadline() -> None:
    receiver = AuthReceiver("digest", delay_authorized=2.0)
    with serve(receiver) as port:
        result = cli("send", "receipt/sms/delivered", f"http://127.0.0.1:{port}/hooks", "--auth", "digest",
                     "--auth-user", "alice", "--timeout", "0.5", "--retries", "0", "--json",
                     env={"CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD})  # fmt: skip
    # the challenge came back at once; the answer stalled past the one deadline of the attempt
    assert attempts(result) == [(None, "no complete answer within 0.5 s")]
    assert len(receiver.seen) == 1


def test_api_key_on_send_and_on_the_head_of_check() -> None:
    receiver = AuthReceiver("api-key")
    env = {"CONNECT_HOOKS_API_KEY": "key-123"}
    with serve(receiver) as port:
        url = f"http://127.0.0.1:{port}/hooks"
        sent = cli("send", "receipt/sms/delivered", url, "--auth", "api-key", "--api-key-header", "X-API-Key",
                   "--json", env=env)  # fmt: skip
        checked = cli("check", url, "--auth", "api-key", "--api-key-header", "X-API-Key", "--json", env=env)
        unauthorized = cli("check", url, "--json")
    assert (sent.exit_code, attempts(sent)) == (0, [(200, None)])
    assert json.loads(checked.stdout)["status"] == 200
    assert json.loads(unauthorized.stdout)["status"] == 401
    assert [(s.method, s.ok) for s in receiver.seen] == [("POST", True), ("HEAD", True), ("HEAD", False)]


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_oauth_one_token_for_the_send_until_it_expires() -> None:
    clock = Clock()
    receiver = AuthReceiver("bearer", token_ttl=300, clock=clock)

    async def no_wait(seconds: float) -> None:
        pass

    with serve(receiver) as port:
        base = f"http://127.0.0.1:{port}"
        settings = AuthSettings(
            type="oauth2",
            token_url=base + "/oauth/token",
            client_id="the-client",
            client_secret="the-client-secret",
            scope="hooks",
        )
        flow = auth.build(settings, now=clock)

        async def send(count: int) -> list[str]:
            send_settings = SendSettings(url=base + "/hooks", targets=("receipt/sms/*",), policy=Policy(waits=()))
            target, notifications = prepare(send_settings, stdin=bytes)
            async with make_client(auth=flow) as client:
                done: list[Delivery] = []
                await deliver_all(
                    notifications[:count],
                    target.url,
                    send_settings.policy,
                    client=client,
                    clock=engine.Clock(sleep=no_wait, now=clock),
                    on_finish=done.append,
                )
            return [str(d.outcome) for d in done]

        first = run(send(3))
        clock.now += 299  # still valid for both sides
        second = run(send(1))
        clock.now += 1  # expired for both sides: fetched again, not refused
        third = run(send(1))
    assert first + second + third == ["delivered"] * 5
    assert len(receiver.token_requests) == 2
    assert receiver.token_requests[0] == {
        "grant_type": "client_credentials",
        "scope": "hooks",
        "client_id": "the-client",
        "client_secret": "the-client-secret",
    }
    assert len({s.headers["authorization"] for s in receiver.seen}) == 2


def test_oauth_from_the_command_line_and_a_failed_token_fetch() -> None:
    receiver = AuthReceiver("bearer")
    env = {"CONNECT_HOOKS_CLIENT_SECRET": "the-client-secret"}
    with serve(receiver) as port:
        base = f"http://127.0.0.1:{port}"
        args = ["--auth", "oauth2", "--token-url", base + "/oauth/token", "--client-id", "the-client", "--json"]
        good = cli("send", "receipt/sms/*", base + "/hooks", *args, "--client-auth", "basic", env=env)
        wrong = cli("send", "receipt/sms/delivered", base + "/hooks", *args, "--retries", "1", "--fast",
                    env={"CONNECT_HOOKS_CLIENT_SECRET": "wrong"})  # fmt: skip
        down = cli("send", "receipt/sms/delivered", base + "/hooks", "--auth", "oauth2", "--token-url",
                   "http://127.0.0.1:9/oauth/token", "--client-id", "the-client", "--json", "--retries", "1", "--fast",
                   env=env)  # fmt: skip
    assert good.exit_code == 0
    assert {d["outcome"] for d in json.loads(good.stdout)} == {"delivered"}
    assert len(receiver.token_requests) == 1 + 2  # one token for the whole send, then one per failed attempt
    expected = f"no OAuth token: the token endpoint {base}/oauth/token answered 401 (invalid_client)"
    assert (wrong.exit_code, attempts(wrong)) == (1, [(None, expected), (None, expected)])
    assert json.loads(wrong.stdout)["outcome"] == "dropped"
    assert attempts(down) == [
        (None, "no OAuth token: the token request to http://127.0.0.1:9/oauth/token failed: cannot connect: "
               "connection refused"),
    ] * 2  # fmt: skip
    assert all(s.ok for s in receiver.seen)  # nothing reached the webhook without a token


def test_aws_sigv4_verified_by_an_independent_check() -> None:
    receiver = AuthReceiver("aws-sigv4")
    with serve(receiver) as port:
        url = f"http://127.0.0.1:{port}/hooks?b=2&a=1"
        args = ["--auth", "aws-sigv4", "--aws-region", "eu-west-1", "--aws-service", "execute-api", "--json"]
        good = cli("send", "receipt/sms/delivered", url, *args, env=AWS_ENV)
        bad = cli("send", "receipt/sms/delivered", url, *args, "--retries", "0",
                  env={**AWS_ENV, "AWS_SECRET_ACCESS_KEY": "other"})  # fmt: skip
        token = cli("send", "receipt/sms/delivered", url, *args, env={**AWS_ENV, "AWS_SESSION_TOKEN": "sess-tok"})
    assert (good.exit_code, attempts(good)) == (0, [(200, None)])
    assert (bad.exit_code, attempts(bad)) == (1, [(401, None)])
    assert (token.exit_code, attempts(token)) == (0, [(200, None)])
    assert receiver.seen[2].headers["x-amz-security-token"] == "sess-tok"
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token," in receiver.seen[2].headers["authorization"]


@pytest.mark.parametrize(
    ("kind", "args", "env"),
    [
        ("basic", ["--auth", "basic", "--auth-user", "alice"], {"CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD}),
        ("digest", ["--auth", "digest", "--auth-user", "alice"], {"CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD}),
        ("bearer", ["--auth", "oauth2", "--token-url", "{base}/oauth/token", "--client-id", "the-client"],
         {"CONNECT_HOOKS_CLIENT_SECRET": "the-client-secret"}),
        ("aws-sigv4", ["--auth", "aws-sigv4", "--aws-region", "eu-west-1", "--aws-service", "execute-api"], AWS_ENV),
    ],
)  # fmt: skip
def test_the_head_of_check_carries_every_auth(kind: str, args: list[str], env: dict[str, str]) -> None:
    receiver = AuthReceiver(kind)
    with serve(receiver) as port:
        base = f"http://127.0.0.1:{port}"
        result = cli("check", base + "/hooks", *[a.replace("{base}", base) for a in args], "--json", env=env)
    assert json.loads(result.stdout)["status"] == 200
    assert [s.method for s in receiver.seen if s.ok] == ["HEAD"]


# -- mTLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    where = tmp_path_factory.mktemp("mtls")
    server_ca, client_ca = trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("localhost", "127.0.0.1")
    server_ca.cert_pem.write_to_path(str(where / "server-ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(where / "server.pem"))
    server.private_key_pem.write_to_path(str(where / "server-key.pem"))
    client_ca.cert_pem.write_to_path(str(where / "client-ca.pem"))
    client = client_ca.issue_cert("webex-connect@example.test")
    client.private_key_and_cert_chain_pem.write_to_path(str(where / "client.pem"))
    client.cert_chain_pems[0].write_to_path(str(where / "client-cert-only.pem"))
    client.private_key_pem.write_to_path(str(where / "client-key.pem"))
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # trustme's keys; PKCS#12 takes no other kind here
    (where / "client-encrypted.pem").write_bytes(
        client.cert_chain_pems[0].bytes()
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"key-pass"),
        )
    )
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes())
    (where / "client.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"client",
            key,
            cert,
            None,
            serialization.BestAvailableEncryption(b"p12-pass"),
        )
    )
    soon = client_ca.issue_cert("soon@example.test", not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=20, hours=1))
    soon.private_key_and_cert_chain_pem.write_to_path(str(where / "soon.pem"))
    options = mtls_options(str(where / "server.pem"), str(where / "server-key.pem"), str(where / "client-ca.pem"))
    return {"dir": where, "options": options}


def test_mtls_pem_p12_and_none(mtls: dict[str, Any]) -> None:
    where: Path = mtls["dir"]
    receiver = AuthReceiver("none")
    with serve(receiver, tls=mtls["options"]) as port:
        url = f"https://localhost:{port}/hooks"
        ca = ["--ca-bundle", str(where / "server-ca.pem"), "--json", "--retries", "0"]
        pem = cli("send", "receipt/sms/delivered", url, *ca, "--client-cert", str(where / "client.pem"))
        split = cli("send", "receipt/sms/delivered", url, *ca, "--client-cert", str(where / "client-cert-only.pem"),
                    "--client-key", str(where / "client-key.pem"))  # fmt: skip
        p12 = cli("send", "receipt/sms/delivered", url, *ca, "--client-cert", str(where / "client.p12"),
                  env={"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": "p12-pass"})  # fmt: skip
        encrypted = cli("send", "receipt/sms/delivered", url, *ca, "--client-cert", str(where / "client-encrypted.pem"),
                        env={"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": "key-pass"})  # fmt: skip
        none = cli("send", "receipt/sms/delivered", url, *ca)
        checked = cli(
            "check", url, "--ca-bundle", str(where / "server-ca.pem"), "--client-cert", str(where / "client.pem")
        )
    assert [attempts(r) for r in (pem, split, p12, encrypted)] == [[(200, None)]] * 4
    document = json.loads(none.stdout)
    assert none.exit_code == 1
    assert document["attempts"][0]["status"] is None
    assert document["attempts"][0]["error"]  # refused without a certificate (TLS alert or reset)
    assert checked.exit_code == 0, checked.stdout
    assert len(receiver.seen) == 5  # 4 POSTs and the HEAD of check


def test_client_certificate_expiry_warning(mtls: dict[str, Any]) -> None:
    where: Path = mtls["dir"]
    soon = cli("send", "receipt/sms/delivered", "http://127.0.0.1:9/hooks", "--client-cert", str(where / "soon.pem"),
               "--retries", "0")  # fmt: skip
    assert "warning: the client certificate" in soon.stderr
    assert "expires in 20 days" in soon.stderr
    fine = cli("send", "receipt/sms/delivered", "http://127.0.0.1:9/hooks", "--client-cert", str(where / "client.pem"),
               "--retries", "0")  # fmt: skip
    assert "warning" not in fine.stderr


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["--client-cert", "{dir}/client.p12"], {"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": "wrong"}, "wrong password in CONNECT_HOOKS_CLIENT_CERT_PASSWORD"),
        (["--client-cert", "{dir}/client.p12"], {}, "needs its password in CONNECT_HOOKS_CLIENT_CERT_PASSWORD"),
        (["--client-cert", "{dir}/missing.pem"], {}, "does not exist"),
        (["--client-cert", "{dir}/server-ca.pem"], {}, "holds no PEM private key"),
        (["--client-cert", "{dir}/client-cert-only.pem", "--client-key", "{dir}/server-key.pem"], {}, "the key does not belong to the certificate"),
        (["--client-cert", "{dir}/client-encrypted.pem"], {}, "is encrypted: set CONNECT_HOOKS_CLIENT_CERT_PASSWORD to its password"),
        (["--client-cert", "{dir}/client-encrypted.pem"], {"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": "nope"}, "wrong password in CONNECT_HOOKS_CLIENT_CERT_PASSWORD, or the key"),
        (["--client-key", "{dir}/client-key.pem"], {}, "--client-key goes with --client-cert"),
        (["--auth", "basic", "--auth-user", "alice"], {}, "set CONNECT_HOOKS_AUTH_PASSWORD"),
        (["--auth", "kerberos"], {}, "'kerberos' is not one of"),
        (["--auth", "aws-sigv4", "--aws-region", "r", "--aws-service", "s"], {}, "needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        (["--auth", "oauth2", "--client-id", "c"], {"CONNECT_HOOKS_CLIENT_SECRET": "x"}, "needs --token-url"),
        (["--api-key-header", "X-Key"], {}, "--api-key-header belongs to --auth api-key"),
    ],
)  # fmt: skip
def test_bad_credentials_are_one_line_exit_2(
    mtls: dict[str, Any], args: list[str], env: dict[str, str], fragment: str
) -> None:
    where: Path = mtls["dir"]
    argv = [a.replace("{dir}", str(where)) for a in args]
    for command in (["send", "receipt/sms/delivered"], ["check"]):
        result = cli(*command, "https://127.0.0.1:9/hooks", *argv, env=env)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
        assert fragment in result.stderr


def test_an_https_token_url_keeps_tls_for_a_plain_http_webhook(mtls: dict[str, Any]) -> None:
    """The token request goes through the sending client: a plain-http webhook URL must not turn off
    its certificate checks or its client certificate when the token URL is https."""
    where: Path = mtls["dir"]
    receiver = AuthReceiver("bearer")  # one app: the webhook on http, its token endpoint on https with mTLS
    env = {"CONNECT_HOOKS_CLIENT_SECRET": "the-client-secret"}
    with serve(receiver) as port, serve(receiver, tls=mtls["options"]) as token_port:
        hook = f"http://127.0.0.1:{port}/hooks"
        args = ["--auth", "oauth2", "--token-url", f"https://localhost:{token_port}/oauth/token",
                "--client-id", "the-client", "--json", "--retries", "0"]  # fmt: skip
        # the client certificate is presented to the token endpoint (verification off, the certificate still on)
        with_cert = cli("send", "receipt/sms/delivered", hook, *args, "--insecure",
                        "--client-cert", str(where / "client.pem"), env=env)  # fmt: skip
        # the token endpoint's certificate is still verified: this CA is not trusted
        untrusted = cli("send", "receipt/sms/delivered", hook, *args, "--client-cert", str(where / "client.pem"),
                        env=env)  # fmt: skip
    assert attempts(with_cert) == [(200, None)], with_cert.output
    assert untrusted.exit_code == 1
    [(status, error)] = attempts(untrusted)
    assert status is None
    assert error is not None and error.startswith(
        f"no OAuth token: the token request to https://localhost:{token_port}"
    )
    assert "certificate" in error
    assert len(receiver.token_requests) == 1
    assert [s.ok for s in receiver.seen if s.path == "/hooks"] == [True]


def test_replay_authorizes_afresh_and_never_resends_the_recorded_authorization(tmp_path: Path) -> None:
    receiver = AuthReceiver("basic")
    log = tmp_path / "send.ndjson"
    recorded = "Basic " + base64.b64encode(b"alice:old-pass").decode()
    fresh = "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    with serve(receiver) as port:
        url = f"http://127.0.0.1:{port}/hooks"
        sent = cli("send", "receipt/sms/delivered", url, "-H", f"Authorization: {recorded}", "--retries", "0",
                   "--json", "--log", str(log))  # fmt: skip
        bare = cli("replay", str(log), "--retries", "0", "--fast", "--json")
        replayed = cli("replay", str(log), "--auth", "basic", "--auth-user", "alice", "--retries", "0", "--fast",
                       "--json", env={"CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD})  # fmt: skip
    assert (sent.exit_code, attempts(sent)) == (1, [(401, None)])
    assert bare.exit_code == 1
    assert replayed.exit_code == 0, replayed.output
    assert [d["outcome"] for d in json.loads(replayed.stdout)] == ["delivered"]
    assert PASSWORD not in replayed.output
    seen = [(s.headers.get("authorization"), s.ok) for s in receiver.seen]
    assert seen == [(recorded, False), (None, False), (fresh, True)]  # the recorded header never again
    assert len({s.headers["x-wx-gtrid"] for s in receiver.seen}) == 1  # an exact replay of the same notification
