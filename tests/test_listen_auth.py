"""``listen --require-auth`` and ``--require-client-cert`` as a real subprocess on 127.0.0.1 (``--port 0``),
with independent clients as peers: curl (``--digest``, ``--aws-sigv4``, ``--cert``) and httpx's own auth.

Every test also checks that no credential it used appears in listen's stdout, stderr or log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is the independent client here"),
]

BODY = '{"channel":"SMS","message":"hi"}'
STOP_BOUND = 10.0


@dataclass
class Listening:
    process: subprocess.Popen[str]
    url: str
    banner: str
    log: Path
    out: str = ""
    err: str = ""
    records: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def listen(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Listening]:
    log = tmp_path / "listen.ndjson"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECT_HOOKS_", "AWS_"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", "listen", "--port", "0", "--json", "--log", str(log), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**base, **(env or {})},
    )
    banner: list[str] = []
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    while not banner or "Ctrl-C to stop" not in banner[-1]:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"listen exited early: {''.join(banner)}{process.communicate()}")
        banner.append(line)
        assert time.monotonic() < deadline, "listen did not come up"
    match = re.search(r"listening on (\S+)", "".join(banner))
    assert match is not None
    running = Listening(process, match.group(1), "".join(banner), log)
    try:
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=STOP_BOUND)
        running.out, running.err = out, running.banner + err
        running.records = [json.loads(line) for line in out.splitlines()]


def curl(*args: str) -> tuple[int, str]:
    """(HTTP status, body) of one curl call; status 0 when curl got no answer (e.g. a refused handshake)."""
    done = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "10", *args],
        capture_output=True,
        text=True,
        timeout=20,
    )
    body, _, status = done.stdout.rpartition("\n")
    return int(status or 0), body.removesuffix("\n")


def assert_secret_free(running: Listening, *secrets: str) -> None:
    everything = running.out + running.err + running.log.read_text()
    for secret in secrets:
        assert secret not in everything


def auth_verdicts(running: Listening) -> list[tuple[int, bool]]:
    return [(r["status"], r["auth"]["ok"]) for r in running.records]


def test_basic_with_curl_and_httpx(tmp_path: Path) -> None:
    password = "b4sic-Pa55word!"
    env = {"CONNECT_HOOKS_AUTH_PASSWORD": password}
    with listen(tmp_path, "--require-auth", "basic", "--auth-user", "webex", env=env) as running:
        hooks = running.url + "/hooks"
        assert curl("-u", f"webex:{password}", "-d", BODY, hooks)[0] == 200
        assert curl("-u", "webex:guess", "-d", BODY, hooks) == (401, "Basic auth: wrong user name or password")
        with httpx.Client(trust_env=False) as client:
            assert client.post(hooks, content=BODY, auth=httpx.BasicAuth("webex", password)).status_code == 200
            missing = client.post(hooks, content=BODY)
            assert missing.headers["www-authenticate"] == 'Basic realm="connect-hooks", charset="UTF-8"'
    assert "auth required: Basic: user 'webex' and the password; 401 without" in running.banner
    assert "send with: --auth basic --auth-user webex (and CONNECT_HOOKS_AUTH_PASSWORD)" in running.banner
    assert auth_verdicts(running) == [(200, True), (401, False), (200, True), (401, False)]
    assert running.records[0]["headers"]["authorization"] == "Basic [redacted]"
    assert_secret_free(running, password, "guess")


def test_digest_with_curl_and_httpx(tmp_path: Path) -> None:
    password = "d1gest-Pa55word!"
    env = {"CONNECT_HOOKS_AUTH_PASSWORD": password}
    with listen(tmp_path, "--require-auth", "digest", "--auth-user", "webex", env=env) as running:
        hooks = running.url + "/hooks?n=1"
        assert curl("--digest", "-u", f"webex:{password}", "-d", BODY, hooks)[0] == 200
        status, text = curl("--digest", "-u", "webex:guess", "-d", BODY, hooks)
        assert (status, text) == (401, "Digest auth: wrong user name or password (the response does not match)")
        with httpx.Client(trust_env=False, auth=httpx.DigestAuth("webex", password)) as client:
            assert [client.post(hooks, content=BODY).status_code for _ in range(2)] == [200, 200]
    # each client's first request is the challenge round; httpx reuses its nonce for the second
    assert [(r["status"], r["attempt"]) for r in running.records] == [
        (401, None),
        (200, 1),
        (401, None),
        (401, None),
        (401, None),
        (200, 2),
        (200, 3),
    ]
    assert running.records[1]["auth"]["reason"] == "Digest auth (SHA-256): user 'webex'"
    assert_secret_free(running, password, "guess")


def test_api_key_with_curl(tmp_path: Path) -> None:
    key = "k3y-0f-the-api"
    env = {"CONNECT_HOOKS_API_KEY": key}
    with listen(tmp_path, "--require-auth", "api-key", "--api-key-header", "X-Api-Key", env=env) as running:
        hooks = running.url + "/hooks"
        assert curl("-H", f"X-Api-Key: {key}", "-d", BODY, hooks)[0] == 200
        assert curl("-H", "X-Api-Key: nope", "-d", BODY, hooks) == (401, "API key: wrong key in X-Api-Key")
        assert curl("-d", BODY, hooks) == (401, "API key: no X-Api-Key header")
    assert running.records[0]["headers"]["x-api-key"] == "[redacted]"
    assert_secret_free(running, key)


def test_bearer_tokens_from_the_token_endpoint_with_curl(tmp_path: Path) -> None:
    secret = "cl1ent-secret-value"
    env = {"CONNECT_HOOKS_CLIENT_SECRET": secret}
    with listen(tmp_path, "--require-auth", "bearer", "--client-id", "webex", "--token-ttl", "120", env=env) as running:
        token_url = running.url + "/oauth/token"
        status, text = curl(
            "-d", "grant_type=client_credentials", "-d", "client_id=webex", "-d", f"client_secret={secret}", token_url
        )
        assert status == 200
        in_body = json.loads(text)
        assert (in_body["token_type"], in_body["expires_in"]) == ("Bearer", 120)
        status, text = curl("-u", f"webex:{secret}", "-d", "grant_type=client_credentials", token_url)
        with_basic = json.loads(text)
        assert status == 200 and with_basic["access_token"] != in_body["access_token"]
        assert curl("-u", "webex:guess", "-d", "grant_type=client_credentials", token_url)[0] == 401
        hooks = running.url + "/hooks"
        for token in (in_body["access_token"], with_basic["access_token"]):
            assert curl("-H", f"Authorization: Bearer {token}", "-d", BODY, hooks)[0] == 200
        assert curl("-H", "Authorization: Bearer made-up", "-d", BODY, hooks)[0] == 401
    assert f"OAuth 2.0 token endpoint: {running.url}/oauth/token" in running.banner
    assert f"send with: --auth oauth2 --token-url {running.url}/oauth/token --client-id webex" in running.banner
    assert [(r["path"], r["status"]) for r in running.records] == [
        ("/oauth/token", 200),
        ("/oauth/token", 200),
        ("/oauth/token", 401),
        ("/hooks", 200),
        ("/hooks", 200),
        ("/hooks", 401),
    ]
    assert running.records[0]["body"] == ""  # the form held the client secret
    assert_secret_free(running, secret, in_body["access_token"], with_basic["access_token"])


def test_aws_sigv4_with_curl(tmp_path: Path) -> None:
    key_id, secret_key = "AKIDCONNECTHOOKS", "s3cr3t/Access+Key"
    env = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret_key}
    region = ["--aws-region", "eu-west-1", "--aws-service", "execute-api"]
    with listen(tmp_path, "--require-auth", "aws-sigv4", *region, env=env) as running:
        hooks = running.url + "/hooks"  # no query: curl 7.x does not sort query parameters as SigV4 wants
        signed = ["-H", "Content-Type: application/json", "-d", BODY]
        assert (
            curl("--aws-sigv4", "aws:amz:eu-west-1:execute-api", "--user", f"{key_id}:{secret_key}", *signed, hooks)[0]
            == 200
        )
        wrong = curl("--aws-sigv4", "aws:amz:eu-west-1:execute-api", "--user", f"{key_id}:other", *signed, hooks)
        assert wrong == (
            401,
            "AWS SigV4: the signature does not match (wrong secret key, or the request changed after signing)",
        )
        elsewhere = curl(
            "--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", f"{key_id}:{secret_key}", *signed, hooks
        )
        assert elsewhere == (
            401,
            "AWS SigV4: signed for us-east-1/execute-api, this receiver expects eu-west-1/execute-api",
        )
    assert auth_verdicts(running) == [(200, True), (401, False), (401, False)]
    assert_secret_free(running, secret_key)


def ca_path(running: Listening) -> str:
    match = re.search(r"--ca-bundle (\S+)", running.banner)
    assert match is not None
    return match.group(1)


def test_mtls_client_certificate_as_pem_and_p12(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    password = "p12-Pa55word"
    env = {"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": password}
    with listen(tmp_path, "--tls", "--require-client-cert", env=env) as running:
        pem = re.search(r"certificate and key \(PEM\): (\S+)", running.banner)
        p12 = re.search(r"PKCS#12: (\S+) \(password from CONNECT_HOOKS_CLIENT_CERT_PASSWORD\)", running.banner)
        assert pem is not None and p12 is not None
        ca = ca_path(running)
        hooks = running.url + "/hooks"
        assert f"send with: --client-cert {pem.group(1)}" in running.banner
        assert curl("--cacert", ca, "--cert", pem.group(1), "-d", BODY, hooks)[0] == 200
        assert (
            curl("--cacert", ca, "--cert-type", "P12", "--cert", f"{p12.group(1)}:{password}", "-d", BODY, hooks)[0]
            == 200
        )
        assert curl("--cacert", ca, "-d", BODY, hooks)[0] == 0  # no client certificate: no handshake
        key, cert, _ = pkcs12.load_key_and_certificates(Path(p12.group(1)).read_bytes(), password.encode())
        assert key is not None and cert is not None
        context = ssl.create_default_context(cafile=ca)
        context.load_cert_chain(pem.group(1))
        with httpx.Client(verify=context, trust_env=False) as client:
            assert client.post(hooks, content=BODY).status_code == 200
        other = trustme.CA().issue_cert("intruder.test")
        stranger = ssl.create_default_context(cafile=ca)
        other.configure_cert(stranger)
        with httpx.Client(verify=stranger, trust_env=False) as client, pytest.raises(httpx.TransportError):
            client.post(hooks, content=BODY)
    assert [r["status"] for r in running.records] == [200, 200, 200]
    assert not Path(pem.group(1)).exists() and not Path(p12.group(1)).exists()  # removed with the CA
    assert_secret_free(running, password)


def test_a_generated_p12_password_is_shown_once_and_opens_the_p12(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs12

    with listen(tmp_path, "--tls", "--require-client-cert") as running:
        shown = re.search(r"PKCS#12: (\S+) \(password (\S+) \(generated, shown only now\)\)", running.banner)
        assert shown is not None
        p12, password = Path(shown.group(1)), shown.group(2)
        key, _, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), password.encode())
        assert key is not None
        assert (
            curl("--cacert", ca_path(running), "--cert-type", "P12", "--cert", f"{p12}:{password}", running.url + "/h")[
                0
            ]
            == 405
        )
    assert (running.out + running.err).count(password) == 1
    assert password not in running.log.read_text()


def test_client_ca_trusts_the_users_own_ca(tmp_path: Path) -> None:
    users_ca = trustme.CA()
    users_ca_file = tmp_path / "clients-ca.pem"
    users_ca.cert_pem.write_to_path(str(users_ca_file))
    mine = tmp_path / "mine.pem"
    leaf = users_ca.issue_cert("webex.test")
    mine.write_bytes(leaf.cert_chain_pems[0].bytes() + leaf.private_key_pem.bytes())
    with listen(tmp_path, "--tls", "--client-ca", str(users_ca_file)) as running:
        assert f"mTLS: handshakes need a client certificate signed by {users_ca_file}" in running.banner
        assert "PKCS#12" not in running.banner
        hooks = running.url + "/hooks"
        assert curl("--cacert", ca_path(running), "--cert", str(mine), "-d", BODY, hooks)[0] == 200
        assert curl("--cacert", ca_path(running), "-d", BODY, hooks)[0] == 0
    assert [r["status"] for r in running.records] == [200]
