"""One redaction rule: credential headers and URL passwords never reach an output, a log or JSON.

The unit tests pin the rule (``connect_hooks.redaction``) with literal expected values. The sweeps
run the real commands against loopback servers with distinctive random secrets, and check both
that no secret appears anywhere (stdout, stderr, --json, log files) and that the redacted form
does appear (so a header that was simply dropped would fail too).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from connect_hooks import redaction
from connect_hooks.cli.main import main
from connect_hooks.client.credentials import AuthSettings
from connect_hooks.receiver import inspector
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings
from connect_hooks.receiver.auth import ApiKeyVerifier, redact_headers
from connect_hooks.receiver.relay import Hop
from connect_hooks.redaction import REDACTED, redact_lists, redact_mapping, redact_pairs, redact_url, redact_value
from tests.servers import ScriptedServer
from tests.support import listening_on

# -- the rule ---------------------------------------------------------------------------------


def test_the_marker_and_the_header_set() -> None:
    assert REDACTED == "[redacted]"
    for name in ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-amz-security-token"):
        assert name in redaction.CREDENTIAL_HEADERS
    assert "x-hub-signature" not in redaction.CREDENTIAL_HEADERS  # an HMAC of the body, not a credential
    assert redaction.secret_headers("X-My-Key") == redaction.CREDENTIAL_HEADERS | {"x-my-key"}
    assert redaction.secret_headers(None) is redaction.CREDENTIAL_HEADERS


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("Authorization", "Basic YWxpY2U6cHc=", "Basic [redacted]"),
        ("authorization", "Bearer eyJ.abc.def", "Bearer [redacted]"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/2026/x, Signature=00", "AWS4-HMAC-SHA256 [redacted]"),
        ("Proxy-Authorization", "Digest username=a, response=b", "Digest [redacted]"),
        ("Authorization", "just-a-token", "[redacted]"),  # no scheme word to keep
        ("Authorization", "a-very-long-scheme-word-that-is-a-secret rest", "[redacted]"),
        ("Authorization", "A" * 20 + " rest", "A" * 20 + " [redacted]"),  # a scheme word of up to 20 characters
        ("Authorization", "A" * 21 + " rest", "[redacted]"),  # longer: it may be the secret itself
        ("Authorization", "  Bearer eyJ.abc.def", "Bearer [redacted]"),  # leading blanks
        ("Authorization", "Bea.rer tok", "[redacted]"),  # not a scheme word (letters, digits and '-')
        ("Cookie", "session=abc; other=def", "[redacted]"),
        ("X-API-Key", "Basic looks-like-a-scheme", "[redacted]"),  # only Authorization keeps a scheme
    ],
)
def test_a_credential_value(name: str, value: str, shown: str) -> None:
    assert redact_value(name, value) == shown


def test_pairs_mappings_and_lists_in_any_case() -> None:
    pairs = (("Cookie", "c=1"), ("accept", "x"), ("X-Api-Key", "k"))
    assert redact_pairs(pairs) == (("Cookie", "[redacted]"), ("accept", "x"), ("X-Api-Key", "[redacted]"))
    clean = (("accept", "x"), ("x-hub-signature", "sha256=00"))
    assert redact_pairs(clean) is clean  # nothing to redact: no copy
    assert redact_mapping({"SET-COOKIE": "sid=1", "a": "b"}) == {"SET-COOKIE": "[redacted]", "a": "b"}
    assert redact_lists(
        [["x-custom", "v"], ["Authorization", "Bearer t"], ["Accept", "*/*"]], redaction.secret_headers("X-Custom")
    ) == [
        ["x-custom", "[redacted]"],
        ["Authorization", "Bearer [redacted]"],
        ["Accept", "*/*"],  # not a credential: kept
    ]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://alice:pw@127.0.0.1:8080/hooks?a=1#f", "http://alice:[redacted]@127.0.0.1:8080/hooks?a=1#f"),
        ("https://u:p%40ss@h.example.test", "https://u:[redacted]@h.example.test"),
        ("https://u:p@ss@h.example.test/x", "https://u:[redacted]@h.example.test/x"),  # '@' in the password
        ("https://user@h.example.test/x", "https://user@h.example.test/x"),  # no password
        ("https://h.example.test/a@b?c=d@e", "https://h.example.test/a@b?c=d@e"),  # '@' past the authority
        ("https://h.example.test/hooks", "https://h.example.test/hooks"),
        ("http://alice:[redacted]@h/x", "http://alice:[redacted]@h/x"),  # already redacted
        ("https://u:pa:ss@h.example.test/x", "https://u:[redacted]@h.example.test/x"),  # ':' in the password
        ("redis://:pw@127.0.0.1:6379/0", "redis://:[redacted]@127.0.0.1:6379/0"),  # a password without a user
        ("//u:pw@h.example.test/x", "//u:[redacted]@h.example.test/x"),  # no scheme
        ("https://Xavier:pXw@h.example.test/", "https://Xavier:[redacted]@h.example.test/"),
        ("http://u:pw@h.example.test/a//b", "http://u:[redacted]@h.example.test/a//b"),  # '//' in the path
        ("https://h.example.test/a:b@c/d", "https://h.example.test/a:b@c/d"),  # 'a:b@' in the path is no password
        ("not a url", "not a url"),
    ],
)
def test_a_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_redacted_password_is_recognised() -> None:
    assert redaction.has_redacted_password("http://alice:[redacted]@h/x")
    assert not redaction.has_redacted_password("http://alice:pw@h/x")
    assert not redaction.has_redacted_password("http://h/x?p=[redacted]")


def test_the_receiver_and_the_inspector_apply_the_same_rule() -> None:
    """What used to differ: a log kept a Cookie or an X-API-Key the inspector hid, with another marker."""
    headers = (
        ("authorization", "Basic YWxpY2U6cHc="),
        ("proxy-authorization", "Bearer t"),
        ("cookie", "session=s"),
        ("set-cookie", "sid=s"),
        ("x-api-key", "k"),
        ("api-key", "k"),
        ("x-auth-token", "t"),
        ("x-amz-security-token", "t"),
        ("accept", "application/json"),
    )
    expected = {
        "authorization": "Basic [redacted]",
        "proxy-authorization": "Bearer [redacted]",
        "cookie": "[redacted]",
        "set-cookie": "[redacted]",
        "x-api-key": "[redacted]",
        "api-key": "[redacted]",
        "x-auth-token": "[redacted]",
        "x-amz-security-token": "[redacted]",
        "accept": "application/json",
    }
    assert dict(redact_headers(headers)) == expected
    assert inspector.redact(dict(headers)) == expected
    assert dict(ApiKeyVerifier("X-Team-Key", "k").redact((*headers, ("x-team-key", "k")))) == {
        **expected,
        "x-team-key": "[redacted]",
    }


def test_a_receiver_record_without_require_auth() -> None:
    records: list[Received] = []
    app = ReceiverApp(ReceiverSettings(), records.append)
    headers = {"Cookie": "session=c00kie", "X-API-Key": "k3y", "Authorization": "Bearer t0ken"}

    async def post() -> None:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await client.post("/hooks", content=b"{}", headers=headers)

    import asyncio

    asyncio.run(post())
    shown = records[0].as_dict()["headers"]
    assert (shown["cookie"], shown["x-api-key"], shown["authorization"]) == (
        "[redacted]",
        "[redacted]",
        "Bearer [redacted]",
    )


def test_the_app_answer_behind_a_relay_keeps_no_cookie() -> None:
    hop = Hop("http://u:pw@127.0.0.1:9/app", 200, (("set-cookie", "sid=s3cr3t"), ("x-a", "b")), b"", 1.0)
    document = hop.as_dict()
    assert document["url"] == "http://u:[redacted]@127.0.0.1:9/app"
    assert document["headers"] == {"set-cookie": "[redacted]", "x-a": "b"}


def test_aws_sigv4_is_described_without_its_key_id() -> None:
    settings = AuthSettings(
        type="aws-sigv4", aws_region="eu-west-1", aws_service="execute-api", aws_access_key_id="AKIDSHOWN"
    )
    assert "AKIDSHOWN" not in settings.describe()
    assert settings.describe().startswith("aws-sigv4 for execute-api in eu-west-1")
    oauth = AuthSettings(type="oauth2", token_url="https://c:s3cr3t@auth.test/token", client_id="c")
    assert "s3cr3t" not in oauth.describe() + " ".join(oauth.command_args())
    assert "https://c:[redacted]@auth.test/token" in oauth.describe()


# -- the sweeps: the real commands, every output --------------------------------------------------


def _secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(8)}"


TOKEN, COOKIE, API_KEY, PROXY = _secret("tok"), _secret("cookie"), _secret("apikey"), _secret("proxy")
URL_PASSWORD, PASSWORD, AWS_KEY_ID, AWS_SECRET = _secret("urlpw"), _secret("pw"), _secret("AKID"), _secret("aws")
CLIENT_SECRET = _secret("client")
SENDER_SECRETS = (TOKEN, COOKIE, API_KEY, PROXY, URL_PASSWORD, PASSWORD, AWS_KEY_ID, AWS_SECRET, CLIENT_SECRET)
HEADERS = (
    ("-H", f"Authorization: Bearer {TOKEN}"),
    ("-H", f"Cookie: session={COOKIE}"),
    ("-H", f"X-API-Key: {API_KEY}"),
    ("-H", f"Proxy-Authorization: Basic {PROXY}"),
)
ENV = {
    "CONNECT_HOOKS_AUTH_PASSWORD": PASSWORD,
    "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    "CONNECT_HOOKS_CLIENT_SECRET": CLIENT_SECRET,
    "CONNECT_HOOKS_SECRET": "hub-" + secrets.token_hex(8),
}


def _invoke(texts: list[str], *args: str | Path, code: int | None = 0) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args], env=ENV)
    texts += [result.stdout, result.stderr]
    if code is not None:
        assert result.exit_code == code, (args, result.stdout, result.stderr)
    return result


def _sends(texts: list[str], tmp_path: Path, url: str, port: int) -> dict[str, Path]:
    """Every sending command once, in text and in --json, each with a log; the logs by name."""
    logs = {name: tmp_path / f"{name}.ndjson" for name in ("send", "send-json", "aws", "basic", "replay")}
    headers = [part for pair in HEADERS for part in pair]
    _invoke(texts, "send", "receipt/sms/delivered", url, "--fast", "--log", logs["send"], *headers)
    _invoke(texts, "send", "receipt/sms/*", url, "--fast", "--json", "--log", logs["send-json"], *headers)
    aws = ("--auth", "aws-sigv4", "--aws-region", "eu-west-1", "--aws-service", "execute-api")
    _invoke(texts, "send", "receipt/sms/delivered", url, "--fast", "--log", logs["aws"], *aws)
    _invoke(texts, "send", "receipt/sms/delivered", url, "--fast", "--json", *aws)
    basic = ("--auth", "basic", "--auth-user", "alice")
    _invoke(texts, "send", "receipt/sms/delivered", url, "--fast", "--json", "--log", logs["basic"], *basic)
    _invoke(texts, "replay", logs["send"], url, "--fast", "--log", logs["replay"])
    _invoke(texts, "replay", logs["send"], url, "--dry-run")
    _invoke(texts, "replay", logs["send"], "--json", "--dry-run", url)
    refused = _invoke(texts, "replay", logs["send"], "--fast", code=2)  # the log's URL lost its password
    assert "password redacted: give the URL" in refused.stderr
    for extra in ((), ("--json",)):
        _invoke(texts, "check", url, *extra, code=1)  # plain http: Webex Connect would refuse it
        _invoke(texts, "conform", url, "--only", "url,accepts/receipt/sms/delivered", *extra, code=None)
    profiles = tmp_path / "connect-hooks.toml"
    profiles.write_text(
        f'[webhooks.local]\nurl = "{url}"\n\n[webhooks.local.auth]\ntype = "oauth2"\n'
        f'token_url = "{url}/token"\nclient_id = "c"\n'
    )
    _invoke(texts, "webhooks", "--config", profiles)
    _invoke(texts, "webhooks", "--config", profiles, "--json")
    _invoke(
        texts, "send", "receipt/sms/delivered", "--webhook", "local", "--config", profiles, "--fast", "--json", code=1
    )
    remote = url.replace(f"127.0.0.1:{port}", "hooks.example.test")
    bad = _invoke(texts, "send", "receipt/sms/delivered", remote, code=2)  # plain http to a remote host
    assert bad.stderr.count("\n") == 1 and "alice:[redacted]@hooks.example.test" in bad.stderr
    return logs


def test_sender_commands_never_show_a_credential(tmp_path: Path) -> None:
    texts: list[str] = []
    with ScriptedServer(script=[200]) as server:
        url = f"http://alice:{URL_PASSWORD}@127.0.0.1:{server.port}/hooks"
        logs = _sends(texts, tmp_path, url, server.port)
    # the secrets were really used: the receiver got them
    received = [request.headers for request in server.posts]
    from_url = "Basic " + base64.b64encode(f"alice:{URL_PASSWORD}".encode()).decode()  # httpx: the URL's wins
    assert any(h.get("authorization") == from_url and h.get("x-api-key") == API_KEY for h in received)
    assert any(h.get("cookie") == f"session={COOKIE}" for h in received)
    assert any(AWS_KEY_ID in h.get("authorization", "") for h in received)
    texts += [path.read_text() for path in logs.values()]
    everything = "\n".join(texts)
    encoded = (base64.b64encode(f"alice:{pw}".encode()).decode() for pw in (URL_PASSWORD, PASSWORD))
    for secret in (*SENDER_SECRETS, *encoded):
        assert secret not in everything, secret
    # ... and the redacted forms are there, not a header or a URL simply left out
    shown = f"http://alice:[redacted]@127.0.0.1:{server.port}/hooks"
    notification = json.loads(logs["send"].read_text().splitlines()[0])
    assert notification["url"] == shown
    headers = dict(map(tuple, notification["headers"]))
    assert headers["Authorization"] == "Bearer [redacted]"
    assert headers["Proxy-Authorization"] == "Basic [redacted]"
    assert (headers["Cookie"], headers["X-API-Key"]) == ("[redacted]", "[redacted]")
    for name in ("send-json", "aws", "replay"):
        assert f'"url":"{shown}"' in logs[name].read_text().replace(" ", "")
    for text in (
        f"check {shown}",
        f"conform {shown}",
        f"replay --dry-run to {shown}",
        f"url                   {shown}",
    ):
        assert text in everything, text
    assert f'"url": "{shown}"' in everything  # --json of send, check, conform, replay --dry-run
    assert f"the token endpoint {shown}/token answered 200 without an access_token" in everything
    assert f"token_url={shown}/token" in everything and f'"token_url": "{shown}/token"' in everything
    assert "authorization: aws-sigv4 for execute-api in eu-west-1" in everything


def test_listen_records_never_show_a_credential(tmp_path: Path) -> None:
    """Without --require-auth: --log, --json and the banner (with a --forward-to URL holding a password)."""
    log = tmp_path / "listen.ndjson"
    cookie, key, token, proxy, amz, forward_pw = (_secret(k) for k in ("c", "k", "t", "p", "amz", "fwd"))
    with ScriptedServer(script=[200]) as app:
        forward = f"http://bob:{forward_pw}@127.0.0.1:{app.port}/app"
        argv = ["listen", "--port", "0", "--json", "--log", str(log), "--forward-to", forward]
        env = {k: v for k, v in os.environ.items() if k != "CONNECT_HOOKS_SECRET"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "connect_hooks", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        try:
            base, _, banner = listening_on(proc)
            headers = {
                "Cookie": f"session={cookie}",
                "X-API-Key": key,
                "Authorization": f"Bearer {token}",
                "Proxy-Authorization": f"Basic {proxy}",
                "X-Amz-Security-Token": amz,
            }
            with httpx.Client(trust_env=False) as client:
                answer = client.post(base + "/hooks", content=b'{"a":1}', headers=headers)
            assert answer.status_code == 200
        finally:
            proc.terminate()
            out, rest = proc.communicate(timeout=10)
    assert app.posts and app.posts[0].headers["cookie"] == f"session={cookie}"  # the app still got them
    texts = ["".join(banner), rest.decode(), out.decode(), log.read_text()]
    for text in texts:
        for secret in (cookie, key, token, proxy, amz, forward_pw):
            assert secret not in text, secret
    for record in (json.loads(out.decode().splitlines()[0]), json.loads(log.read_text().splitlines()[0])):
        assert record["headers"]["cookie"] == "[redacted]"
        assert record["headers"]["x-api-key"] == "[redacted]"
        assert record["headers"]["authorization"] == "Bearer [redacted]"
        assert record["headers"]["proxy-authorization"] == "Basic [redacted]"
        assert record["headers"]["x-amz-security-token"] == "[redacted]"
        assert record["forward"]["url"] == f"http://bob:[redacted]@127.0.0.1:{app.port}/app"
    assert f"to http://bob:[redacted]@127.0.0.1:{app.port}/app (502" in rest.decode()  # the banner
