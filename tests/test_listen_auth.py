"""``listen --require-auth`` and ``--require-client-cert`` as a real subprocess on 127.0.0.1 (``--port 0``),
with independent clients as peers, always installed: httpx's own auth (Basic, Digest), headers built here
(base64, the token request's form), botocore's SigV4 signer, and Python's ssl with the issued PEM and PKCS#12.

Every test also checks that no credential it used appears in listen's stdout, stderr or log.
"""

from __future__ import annotations

import base64
import json
import os
import re
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

pytestmark = pytest.mark.e2e

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


def call(
    url: str,
    *,
    method: str = "POST",
    content: str | None = BODY,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | tuple[str, str] | None = None,
    verify: ssl.SSLContext | bool = True,
) -> tuple[int, str]:
    """(HTTP status, body) of one request on a fresh connection; status 0 when there was no answer (no handshake)."""
    try:
        with httpx.Client(trust_env=False, verify=verify, timeout=10) as client:
            answer = client.request(
                method, url, content=None if data is not None else content, data=data, headers=headers, auth=auth
            )
    except httpx.TransportError:
        return 0, ""
    return answer.status_code, answer.text.removesuffix("\n")


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header built by hand (RFC 7617), not by the client library."""
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def sigv4(url: str, key_id: str, secret_key: str, region: str, service: str) -> dict[str, str]:
    """The headers of a POST of BODY signed by botocore (not by connect-hooks' own canonical request)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url, data=BODY.encode(), headers={"content-type": "application/json"})
    SigV4Auth(Credentials(key_id, secret_key), service, region).add_auth(request)
    return dict(request.headers.items())


def with_cert(ca: str, pem: str | Path) -> ssl.SSLContext:
    """Trusts the listener's CA and presents the certificate and key in ``pem``."""
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(str(pem))
    return context


def p12_as_pem(p12: str | Path, password: str, where: Path) -> Path:
    """The PKCS#12 file opened with ``password`` (cryptography), its certificate and key written out as PEM."""
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

    key, cert, _ = pkcs12.load_key_and_certificates(Path(p12).read_bytes(), password.encode())
    assert key is not None and cert is not None
    out = where / "from-p12.pem"
    out.write_bytes(
        cert.public_bytes(Encoding.PEM) + key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    return out


def assert_secret_free(running: Listening, *secrets: str) -> None:
    everything = running.out + running.err + running.log.read_text()
    for secret in secrets:
        assert secret not in everything


def auth_verdicts(running: Listening) -> list[tuple[int, bool]]:
    return [(r["status"], r["auth"]["ok"]) for r in running.records]


def test_basic_with_a_hand_made_header_and_httpx(tmp_path: Path) -> None:
    password = "b4sic-Pa55word!"
    env = {"CONNECT_HOOKS_AUTH_PASSWORD": password}
    with listen(tmp_path, "--require-auth", "basic", "--auth-user", "webex", env=env) as running:
        hooks = running.url + "/hooks"
        assert call(hooks, headers=basic("webex", password))[0] == 200
        assert call(hooks, headers=basic("webex", "guess")) == (401, "Basic auth: wrong user name or password")
        with httpx.Client(trust_env=False) as client:
            assert client.post(hooks, content=BODY, auth=httpx.BasicAuth("webex", password)).status_code == 200
            missing = client.post(hooks, content=BODY)
            assert missing.headers["www-authenticate"] == 'Basic realm="connect-hooks", charset="UTF-8"'
    assert "auth required: Basic: user 'webex' and the password; 401 without" in running.banner
    assert "send with: --auth basic --auth-user webex (and CONNECT_HOOKS_AUTH_PASSWORD)" in running.banner
    assert auth_verdicts(running) == [(200, True), (401, False), (200, True), (401, False)]
    assert running.records[0]["headers"]["authorization"] == "Basic [redacted]"
    assert_secret_free(running, password, "guess")


def test_digest_with_httpx(tmp_path: Path) -> None:
    password = "d1gest-Pa55word!"
    env = {"CONNECT_HOOKS_AUTH_PASSWORD": password}
    with listen(tmp_path, "--require-auth", "digest", "--auth-user", "webex", env=env) as running:
        hooks = running.url + "/hooks?n=1"
        assert call(hooks, auth=httpx.DigestAuth("webex", password))[0] == 200  # a fresh client: challenge first
        status, text = call(hooks, auth=httpx.DigestAuth("webex", "guess"))
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


def test_api_key(tmp_path: Path) -> None:
    key = "k3y-0f-the-api"
    env = {"CONNECT_HOOKS_API_KEY": key}
    with listen(tmp_path, "--require-auth", "api-key", "--api-key-header", "X-Api-Key", env=env) as running:
        hooks = running.url + "/hooks"
        assert call(hooks, headers={"X-Api-Key": key})[0] == 200
        assert call(hooks, headers={"X-Api-Key": "nope"}) == (401, "API key: wrong key in X-Api-Key")
        assert call(hooks) == (401, "API key: no X-Api-Key header")
    assert running.records[0]["headers"]["x-api-key"] == "[redacted]"
    assert_secret_free(running, key)


def test_bearer_tokens_from_the_token_endpoint(tmp_path: Path) -> None:
    secret = "cl1ent-secret-value"
    env = {"CONNECT_HOOKS_CLIENT_SECRET": secret}
    with listen(tmp_path, "--require-auth", "bearer", "--client-id", "webex", "--token-ttl", "120", env=env) as running:
        token_url = running.url + "/oauth/token"
        form = {"grant_type": "client_credentials"}
        status, text = call(token_url, data={**form, "client_id": "webex", "client_secret": secret})
        assert status == 200
        in_body = json.loads(text)
        assert (in_body["token_type"], in_body["expires_in"]) == ("Bearer", 120)
        status, text = call(token_url, data=form, headers=basic("webex", secret))
        with_basic = json.loads(text)
        assert status == 200 and with_basic["access_token"] != in_body["access_token"]
        assert call(token_url, data=form, headers=basic("webex", "guess"))[0] == 401
        hooks = running.url + "/hooks"
        for token in (in_body["access_token"], with_basic["access_token"]):
            assert call(hooks, headers={"authorization": f"Bearer {token}"})[0] == 200
        assert call(hooks, headers={"authorization": "Bearer made-up"})[0] == 401
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


def test_aws_sigv4_signed_by_botocore(tmp_path: Path) -> None:
    key_id, secret_key = "AKIDCONNECTHOOKS", "s3cr3t/Access+Key"
    env = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret_key}
    region = ["--aws-region", "eu-west-1", "--aws-service", "execute-api"]
    with listen(tmp_path, "--require-auth", "aws-sigv4", *region, env=env) as running:
        hooks = running.url + "/hooks?b=2&a=1"  # the query is signed too, sorted as SigV4 wants
        signed = sigv4(hooks, key_id, secret_key, "eu-west-1", "execute-api")
        assert call(hooks, headers=signed)[0] == 200
        wrong = call(hooks, headers=sigv4(hooks, key_id, "other", "eu-west-1", "execute-api"))
        assert wrong == (
            401,
            "AWS SigV4: the signature does not match (wrong secret key, or the request changed after signing)",
        )
        elsewhere = call(hooks, headers=sigv4(hooks, key_id, secret_key, "us-east-1", "execute-api"))
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
    password = "p12-Pa55word"
    env = {"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": password}
    with listen(tmp_path, "--tls", "--require-client-cert", env=env) as running:
        pem = re.search(r"certificate and key \(PEM\): (\S+)", running.banner)
        p12 = re.search(r"PKCS#12: (\S+) \(password from CONNECT_HOOKS_CLIENT_CERT_PASSWORD\)", running.banner)
        assert pem is not None and p12 is not None
        ca = ca_path(running)
        hooks = running.url + "/hooks"
        assert f"send with: --client-cert {pem.group(1)}" in running.banner
        assert call(hooks, verify=with_cert(ca, pem.group(1)))[0] == 200
        assert call(hooks, verify=with_cert(ca, p12_as_pem(p12.group(1), password, tmp_path)))[0] == 200
        assert call(hooks, verify=ssl.create_default_context(cafile=ca))[0] == 0  # no client certificate: no handshake
        other = trustme.CA().issue_cert("intruder.test")
        stranger = ssl.create_default_context(cafile=ca)
        other.configure_cert(stranger)
        with httpx.Client(verify=stranger, trust_env=False) as client, pytest.raises(httpx.TransportError):
            client.post(hooks, content=BODY)
    assert [r["status"] for r in running.records] == [200, 200]
    assert not Path(pem.group(1)).exists() and not Path(p12.group(1)).exists()  # removed with the CA
    assert_secret_free(running, password)


def test_a_generated_p12_password_is_shown_once_and_opens_the_p12(tmp_path: Path) -> None:
    with listen(tmp_path, "--tls", "--require-client-cert") as running:
        shown = re.search(r"PKCS#12: (\S+) \(password (\S+) \(generated, shown only now\)\)", running.banner)
        assert shown is not None
        p12, password = Path(shown.group(1)), shown.group(2)
        context = with_cert(ca_path(running), p12_as_pem(p12, password, tmp_path))  # the password opens it
        assert call(running.url + "/h", method="GET", verify=context)[0] == 405
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
        assert call(hooks, verify=with_cert(ca_path(running), mine))[0] == 200
        assert call(hooks, verify=ssl.create_default_context(cafile=ca_path(running)))[0] == 0
    assert [r["status"] for r in running.records] == [200]


def test_the_inspector_replays_to_the_receiver_with_the_credentials_listen_was_given(tmp_path: Path) -> None:
    password = "1nspect-Pa55word!"
    env = {"CONNECT_HOOKS_AUTH_PASSWORD": password}
    args = ("--require-auth", "basic", "--auth-user", "webex", "--inspect", "--inspect-port", "0")
    with listen(tmp_path, *args, env=env) as running:
        inspector = re.search(r"inspector: (http://127\.0\.0\.1:\d+)/", running.banner)
        assert inspector is not None
        assert call(running.url + "/hooks", headers=basic("webex", password))[0] == 200
        with httpx.Client(trust_env=False) as client:
            page = {"x-connect-hooks-inspector": "1"}
            replayed = client.post(inspector.group(1) + "/requests/1/replay", json={"to": "receiver"}, headers=page)
    assert (replayed.json()["status"], replayed.json()["error"]) == (200, None)
    assert [(r["status"], r["attempt"], r["auth"]["ok"]) for r in running.records] == [(200, 1, True), (200, 2, True)]
    assert running.records[1]["headers"]["authorization"] == "Basic [redacted]"
    assert_secret_free(running, password)
