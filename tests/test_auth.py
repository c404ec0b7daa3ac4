"""auth.py: settings from options and the environment, and each httpx.Auth flow on its own."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from connect_hooks.client import auth
from connect_hooks.client.attempt import attempt_once
from connect_hooks.client.auth import AuthSettings, AuthSpec, resolve, sigv4_headers
from connect_hooks.client.transport import make_client
from connect_hooks.errors import BadInput
from connect_hooks.policy import Fault
from tests.support import run

# AWS Signature Version 4 test suite (the 2015 suite: example.amazonaws.com, 20150830T123600Z),
# as shipped in awslabs/aws-c-auth tests/aws-signing-test-suite/v4/<case>/header-signed-request.txt
# and context.json. Only the cases whose signed headers are host;x-amz-date[;x-amz-security-token],
# the headers connect-hooks signs.
SUITE_KEY = "AKIDEXAMPLE"
SUITE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
SUITE_SCOPE = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
SUITE_VECTORS = [
    # (case, method, path and query, session token, signed headers, signature)
    (
        "get-vanilla",
        "GET",
        "/",
        None,
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    ),
    (
        "post-vanilla",
        "POST",
        "/",
        None,
        "host;x-amz-date",
        "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    ),
    (
        "get-vanilla-query-order-key-case",
        "GET",
        "/?Param2=value2&Param1=value1",
        None,
        "host;x-amz-date",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    (
        "get-vanilla-with-session-token",
        "GET",
        "/",
        SUITE_TOKEN,
        "host;x-amz-date;x-amz-security-token",
        "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "token", "signed", "signature"),
    [v[1:] for v in SUITE_VECTORS],
    ids=[v[0] for v in SUITE_VECTORS],
)
def test_sigv4_matches_the_aws_test_suite(
    method: str, path: str, token: str | None, signed: str, signature: str
) -> None:
    headers = sigv4_headers(
        method,
        "https://example.amazonaws.com" + path,
        "example.amazonaws.com",
        b"",
        access_key=SUITE_KEY,
        secret_key=SUITE_SECRET,
        session_token=token,
        region="us-east-1",
        service="service",
        stamp="20150830T123600Z",
    )
    assert headers["Authorization"] == f"AWS4-HMAC-SHA256 {SUITE_SCOPE}, SignedHeaders={signed}, Signature={signature}"
    assert headers["X-Amz-Date"] == "20150830T123600Z"
    assert headers.get("X-Amz-Security-Token") == token


def sigv4_settings(token: str | None = None) -> AuthSettings:
    return AuthSettings(
        type="aws-sigv4",
        aws_region="us-east-1",
        aws_service="service",
        aws_access_key_id=SUITE_KEY,
        aws_secret_access_key=SUITE_SECRET,
        aws_session_token=token,
    )


def test_sigv4_signs_each_request_afresh_over_the_exact_body() -> None:
    stamps = iter([dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC), dt.datetime(2015, 8, 30, 12, 37, tzinfo=dt.UTC)])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async def scenario() -> None:
        signer = auth.build(sigv4_settings(), clock=lambda: next(stamps))
        async with make_client(transport=httpx.MockTransport(handler), auth=signer) as client:
            for _ in range(2):
                await client.post("https://example.amazonaws.com/", content=b'{"a":1}')

    run(scenario())
    assert [r.headers["x-amz-date"] for r in seen] == ["20150830T123600Z", "20150830T123700Z"]
    expected = sigv4_headers(
        "POST",
        "https://example.amazonaws.com/",
        "example.amazonaws.com",
        b'{"a":1}',
        access_key=SUITE_KEY,
        secret_key=SUITE_SECRET,
        session_token=None,
        region="us-east-1",
        service="service",
        stamp="20150830T123600Z",
    )
    assert seen[0].headers["authorization"] == expected["Authorization"]
    assert seen[0].headers["authorization"] != seen[1].headers["authorization"]
    empty_body = sigv4_headers(
        "POST",
        "https://example.amazonaws.com/",
        "example.amazonaws.com",
        b"",
        access_key=SUITE_KEY,
        secret_key=SUITE_SECRET,
        session_token=None,
        region="us-east-1",
        service="service",
        stamp="20150830T123600Z",
    )
    assert empty_body["Authorization"] != expected["Authorization"]  # the body is signed


ENV = {
    "CONNECT_HOOKS_AUTH_PASSWORD": "pw-from-env",
    "CONNECT_HOOKS_API_KEY": "key-from-env",
    "CONNECT_HOOKS_CLIENT_SECRET": "secret-from-env",
    "AWS_ACCESS_KEY_ID": "AKID",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
}


def test_resolve_reads_secrets_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert resolve(AuthSpec(), ENV) is None
    basic = resolve(AuthSpec(type="basic", user="alice"), ENV)
    assert basic == AuthSettings(type="basic", user="alice", password="pw-from-env")
    (tmp_path / "pw").write_text("pw-from-file\n")
    digest = resolve(AuthSpec(type="digest", user="bob", password_file=str(tmp_path / "pw")), ENV)
    assert digest is not None and digest.password == "pw-from-file"
    key = resolve(AuthSpec(type="api-key", api_key_header="X-API-Key"), ENV)
    assert key is not None and (key.api_key_header, key.api_key) == ("X-API-Key", "key-from-env")
    oauth = resolve(
        AuthSpec(type="oauth2", token_url="http://127.0.0.1/t", client_id="c", scope=" a   b ", client_auth="basic"),
        ENV,
    )
    assert oauth is not None and (oauth.client_secret, oauth.scope, oauth.client_auth) == (
        "secret-from-env",
        "a b",
        "basic",
    )
    aws = resolve(AuthSpec(type="aws-sigv4", aws_region="eu-west-1", aws_service="execute-api"), ENV)
    assert aws is not None and (aws.aws_access_key_id, aws.aws_secret_access_key, aws.aws_session_token) == (
        "AKID",
        "aws-secret",
        None,
    )
    assert "pw-from-env" not in repr(basic) and "aws-secret" not in repr(aws) and "secret-from-env" not in repr(oauth)


@pytest.mark.parametrize(
    ("spec", "env", "fragment"),
    [
        (AuthSpec(type="basic", user="alice"), {}, "set CONNECT_HOOKS_AUTH_PASSWORD or give --auth-password-file"),
        (AuthSpec(type="basic", user="alice"), {"CONNECT_HOOKS_AUTH_PASSWORD": ""}, "is set but empty"),
        (AuthSpec(type="digest"), ENV, "needs --auth-user"),
        (AuthSpec(type="api-key"), ENV, "needs --api-key-header"),
        (AuthSpec(type="api-key", api_key_header="X-Key"), {}, "set CONNECT_HOOKS_API_KEY"),
        (AuthSpec(type="oauth2", client_id="c"), ENV, "needs --token-url"),
        (AuthSpec(type="oauth2", token_url="ftp://x", client_id="c"), ENV, "is not an http(s) URL"),
        (AuthSpec(type="oauth2", token_url="http://127.0.0.1/t", client_id="c"), {}, "CONNECT_HOOKS_CLIENT_SECRET"),
        (AuthSpec(type="aws-sigv4", aws_region="r"), ENV, "needs --aws-service"),
        (
            AuthSpec(type="aws-sigv4", aws_region="r", aws_service="s"),
            {},
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ),
        (AuthSpec(type="kerberos"), ENV, "unknown auth type 'kerberos'"),
        (AuthSpec(user="alice"), ENV, "--auth-user belongs to --auth basic or --auth digest"),
        (AuthSpec(type="basic", user="alice", token_url="http://x"), ENV, "--token-url belongs to --auth oauth2"),
        (
            AuthSpec(type="api-key", api_key_header="X", client_auth="basic"),
            ENV,
            "--client-auth belongs to --auth oauth2",
        ),
        (AuthSpec(type="basic", user="alice", password_file="/nonexistent/pw"), ENV, "does not exist"),
    ],
)
def test_resolve_bad_input(spec: AuthSpec, env: dict[str, str], fragment: str) -> None:
    with pytest.raises(BadInput, match=None) as caught:
        resolve(spec, env)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def oauth_settings(client_auth: str = "body", scope: str | None = "hooks.write") -> AuthSettings:
    return AuthSettings(
        type="oauth2",
        token_url="https://auth.test/oauth/token",
        client_id="the-client",
        client_secret="the-client-secret",
        scope=scope,
        client_auth=client_auth,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("client_auth", ["body", "basic"])
def test_oauth_token_request_and_reuse_until_expiry(client_auth: str) -> None:
    clock = Clock()
    token_requests: list[httpx.Request] = []
    bearer: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            token_requests.append(request)
            return httpx.Response(200, json={"access_token": f"tok-{len(token_requests)}", "expires_in": 60})
        bearer.append(request.headers["authorization"])
        return httpx.Response(200)

    async def scenario() -> None:
        flow = auth.build(oauth_settings(client_auth), now=clock)
        async with make_client(transport=httpx.MockTransport(handler), auth=flow) as client:
            await client.post("https://hooks.test/a", content=b"{}")
            clock.now += 59
            await client.post("https://hooks.test/a", content=b"{}")
            clock.now += 1
            await client.post("https://hooks.test/a", content=b"{}")

    run(scenario())
    assert bearer == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    first = token_requests[0]
    form = parse_qs(first.content.decode())
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == ["hooks.write"]
    if client_auth == "body":
        assert (form["client_id"], form["client_secret"]) == (["the-client"], ["the-client-secret"])
        assert "authorization" not in first.headers
    else:
        assert "client_secret" not in form
        assert first.headers["authorization"] == "Basic " + base64.b64encode(b"the-client:the-client-secret").decode()


def test_oauth_concurrent_requests_share_one_fetch() -> None:
    fetched: list[int] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            fetched.append(1)
            await asyncio.sleep(0.05)  # the others arrive while the token is on its way
            return httpx.Response(200, json={"access_token": "tok", "expires_in": 60})
        return httpx.Response(200 if request.headers["authorization"] == "Bearer tok" else 401)

    async def scenario() -> list[int]:
        flow = auth.build(oauth_settings(), now=Clock())
        async with make_client(transport=httpx.MockTransport(handler), auth=flow) as client:
            answers = await asyncio.gather(*(client.post("https://hooks.test/a", content=b"{}") for _ in range(5)))
            return [a.status_code for a in answers]

    assert run(scenario()) == [200] * 5
    assert fetched == [1]


def test_oauth_401_discards_the_token() -> None:
    fetched: list[str] = []
    answers = iter([401, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            fetched.append("x")
            return httpx.Response(200, json={"access_token": f"tok-{len(fetched)}"})  # no expires_in: kept
        return httpx.Response(next(answers))

    async def scenario() -> list[int]:
        flow = auth.build(oauth_settings(), now=Clock())
        async with make_client(transport=httpx.MockTransport(handler), auth=flow) as client:
            return [(await client.post("https://hooks.test/a", content=b"{}")).status_code for _ in range(2)]

    assert run(scenario()) == [401, 200]
    assert len(fetched) == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (
            httpx.Response(401, json={"error": "invalid_client"}),
            "no OAuth token: the token endpoint https://auth.test/oauth/token answered 401 (invalid_client)",
        ),
        (
            httpx.Response(200, json={"token_type": "bearer"}),
            "no OAuth token: the token endpoint https://auth.test/oauth/token answered 200 without an access_token",
        ),
        (
            httpx.Response(200, text="<html>"),
            "no OAuth token: the token endpoint https://auth.test/oauth/token answered 200 without an access_token",
        ),
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "no OAuth token: the token request to https://auth.test/oauth/token failed: cannot connect: "
            "[Errno 111] Connection refused",
        ),
    ],
)
def test_a_failed_token_fetch_fails_the_attempt_like_a_connection_error(
    answer: httpx.Response | Exception, error: str
) -> None:
    hooks: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            if isinstance(answer, Exception):
                raise answer
            return answer
        hooks.append(request)
        return httpx.Response(200)

    async def scenario() -> tuple[Fault | None, str | None]:
        flow = auth.build(oauth_settings(), now=Clock())
        async with make_client(transport=httpx.MockTransport(handler), auth=flow) as client:
            exchange = await attempt_once(client, client.build_request("POST", "https://hooks.test/a"), 10)
            return exchange.fault, exchange.error

    assert run(scenario()) == (Fault.CONNECTION_ERROR, error)
    assert hooks == []  # the webhook itself was never sent


def test_an_attempt_fault_reads_as_its_description_and_keeps_its_fault() -> None:
    failed = auth.TokenFetchFailed(Fault.CONNECTION_ERROR, "no OAuth token: the token endpoint answered 500")
    assert (failed.fault, failed.description) == (
        Fault.CONNECTION_ERROR,
        "no OAuth token: the token endpoint answered 500",
    )
    assert str(failed) == "no OAuth token: the token endpoint answered 500"  # as a traceback or a log shows it


def test_api_key_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async def scenario() -> None:
        flow = auth.build(AuthSettings(type="api-key", api_key_header="X-API-Key", api_key="k-123"))
        async with make_client(transport=httpx.MockTransport(handler), auth=flow) as client:
            await client.head("https://hooks.test/a")

    run(scenario())
    assert seen[0].headers["x-api-key"] == "k-123"
    assert "authorization" not in seen[0].headers


def test_describe_names_no_secret() -> None:
    for settings in (
        AuthSettings(type="basic", user="alice", password="pw-1"),
        AuthSettings(type="api-key", api_key_header="X-Key", api_key="pw-1"),
        oauth_settings(),
        sigv4_settings(token="pw-1"),
    ):
        line = settings.describe()
        assert "pw-1" not in line and "the-client-secret" not in line and SUITE_SECRET not in line
    assert json.dumps(oauth_settings().describe())
