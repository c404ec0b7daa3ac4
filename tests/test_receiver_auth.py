"""The receiver's verifiers, one by one: good, missing, wrong, malformed, expired or skewed credentials."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from connect_hooks.errors import BadInput
from connect_hooks.receiver.auth import (
    REDACTED,
    ApiKeyVerifier,
    AuthRequest,
    BasicVerifier,
    BearerVerifier,
    DigestVerifier,
    RequiredAuth,
    SigV4Verifier,
    canonical_request,
    digest_response,
    make_verifier,
    read_credential,
    redact_headers,
    sigv4_signature,
)

T0 = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


class Clock:
    def __init__(self, start: dt.datetime = T0) -> None:
        self.time = start

    def __call__(self) -> dt.datetime:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += dt.timedelta(seconds=seconds)


def counter(prefix: str) -> Iterator[str]:
    return (f"{prefix}-{n}" for n in itertools.count(1))


def request(authorization: str | None = None, *, method: str = "POST", **headers: str) -> AuthRequest:
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    if authorization is not None:
        pairs.append(("authorization", authorization))
    return AuthRequest(method, "/hooks", "", tuple(pairs), b'{"a":1}')


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- Basic ----------------------------------------------------------------------------------------


def test_basic_accepts_the_right_pair_and_says_what_is_wrong_otherwise() -> None:
    v = BasicVerifier("webex", "pa:ss wörd")
    assert v.verify(request(basic("webex", "pa:ss wörd"))).ok
    cases = {
        None: "no Authorization header",
        basic("webex", "pa:ss"): "wrong user name or password",
        basic("other", "pa:ss wörd"): "wrong user name or password",
        "Basic !!!notbase64": "not base64",
        "Basic " + base64.b64encode(b"no-colon").decode(): "no ':'",
        "Bearer abc": "Authorization is Bearer, not Basic",
    }
    for header, fragment in cases.items():
        verdict = v.verify(request(header))
        assert not verdict.ok
        assert fragment in verdict.reason
        assert verdict.challenges == ('Basic realm="connect-hooks", charset="UTF-8"',)
        assert "pa:ss" not in verdict.reason


def near_misses(right: str) -> list[str]:
    """Strings a sloppy comparison takes for ``right``: prefixes, extensions, other cases, one character off."""
    misses = [right[:n] for n in range(len(right))]  # every proper prefix, the empty string first
    misses += [right + " ", right + "x", right + right, " " + right, "x" + right]
    misses += [right.upper(), right.lower(), right.swapcase(), right.casefold()]
    misses += [right[:i] + chr(ord(c) + 1) + right[i + 1 :] for i, c in enumerate(right)]
    misses += [right.strip(), right.replace("ö", "o"), right[1:], right[:-1]]
    return [m for m in misses if m != right]


def test_basic_takes_exactly_the_password_and_the_user_not_a_prefix_a_longer_one_or_another_case() -> None:
    user, password = "Webex", "Pa:ss wörd"
    v = BasicVerifier(user, password)
    assert v.verify(request(basic(user, password))).ok
    taken_passwords = [p for p in near_misses(password) if v.verify(request(basic(user, p))).ok]
    taken_users = [u for u in near_misses(user) if ":" not in u and v.verify(request(basic(u, password))).ok]
    assert taken_passwords == taken_users == []


# -- Digest ---------------------------------------------------------------------------------------


def test_digest_response_matches_the_rfc_examples() -> None:
    # RFC 2617 section 3.5 (MD5) and RFC 7616 section 3.9.1 (MD5 and SHA-256)
    assert (
        digest_response(
            "MD5",
            user="Mufasa",
            realm="testrealm@host.com",
            password="Circle Of Life",
            method="GET",
            uri="/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            nc="00000001",
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )
    rfc7616 = {
        "user": "Mufasa",
        "realm": "http-auth@example.org",
        "password": "Circle of Life",
        "method": "GET",
        "uri": "/dir/index.html",
        "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "nc": "00000001",
        "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    }
    assert digest_response("MD5", **rfc7616) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest_response("SHA-256", **rfc7616) == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def digest_header(
    v: DigestVerifier, nonce: str, *, algorithm: str = "SHA-256", password: str = "s3cret", **over: str
) -> str:
    fields = {
        "username": "webex",
        "realm": "connect-hooks",
        "nonce": nonce,
        "uri": "/hooks",
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "c-1",
        "algorithm": algorithm,
        "opaque": v.opaque,
    }
    fields.update(over)
    fields["response"] = over.get("response") or digest_response(
        algorithm,
        user=fields["username"],
        realm="connect-hooks",
        password=password,
        method="POST",
        uri=fields["uri"],
        nonce=nonce,
        nc=fields["nc"],
        cnonce=fields["cnonce"],
    )
    return "Digest " + ", ".join(
        f'{k}="{val}"' if k not in ("nc", "qop", "algorithm") else f"{k}={val}" for k, val in fields.items()
    )


def issued_nonce(v: DigestVerifier) -> str:
    challenge = v.verify(request()).challenges[0]
    return challenge.split('nonce="')[1].split('"')[0]


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5", "MD5-sess", "SHA-256-sess"])
def test_digest_accepts_an_answer_to_its_challenge(algorithm: str) -> None:
    v = DigestVerifier("webex", "s3cret", random=counter("n").__next__)
    first = v.verify(request())
    assert not first.ok
    assert [c.split("algorithm=")[1].split(",")[0] for c in first.challenges] == ["SHA-256", "MD5"]
    assert all('qop="auth"' in c and 'realm="connect-hooks"' in c for c in first.challenges)
    verdict = v.verify(request(digest_header(v, issued_nonce(v), algorithm=algorithm)))
    assert verdict.ok, verdict.reason
    assert algorithm in verdict.reason


def test_digest_refuses_wrong_made_up_replayed_and_stale_answers() -> None:
    clock = Clock()
    v = DigestVerifier("webex", "s3cret", now=clock, random=counter("n").__next__)
    nonce = issued_nonce(v)
    cases = [
        (digest_header(v, nonce, password="wrong"), "wrong user name or password"),
        (digest_header(v, nonce, username="mallory"), "wrong user name or password"),
        (digest_header(v, "made-up"), "unknown nonce"),
        (digest_header(v, nonce, uri="/elsewhere"), "uri is not the request"),
        (digest_header(v, nonce, qop="auth-int"), "qop must be 'auth'"),
        (digest_header(v, nonce, nc="1"), "nc (8 hex digits)"),
        (digest_header(v, nonce, algorithm="SHA-512", response="0" * 128), "not supported"),
        (digest_header(v, nonce, realm="other"), "realm"),
        (digest_header(v, nonce, opaque="forged"), "opaque"),
        ("Digest garbage", "not a list of name=value"),
        ('Digest username="webex"', "lacks realm, nonce, uri, response"),
        ("Basic abc", "not Digest"),
    ]
    for header, fragment in cases:
        verdict = v.verify(request(header))
        assert not verdict.ok
        assert fragment in verdict.reason, (fragment, verdict.reason)
        assert len(verdict.challenges) == 2
    good = digest_header(v, nonce)
    assert v.verify(request(good)).ok
    replay = v.verify(request(good))
    assert not replay.ok and "already used" in replay.reason
    assert v.verify(request(digest_header(v, nonce, nc="00000002"))).ok
    clock.advance(301)
    stale = v.verify(request(digest_header(v, nonce, nc="00000003")))
    assert not stale.ok and "stale" in stale.reason
    assert all("stale=true" in c for c in stale.challenges)


def test_httpx_digest_auth_as_a_client() -> None:
    """httpx's own DigestAuth answers the challenge and the verifier accepts it, then its reuse."""
    v = DigestVerifier("webex", "s3cret")

    def handler(r: httpx.Request) -> httpx.Response:
        verdict = v.verify(AuthRequest(r.method, r.url.path, r.url.query.decode(), tuple(r.headers.items()), r.content))
        if verdict.ok:
            return httpx.Response(200)
        return httpx.Response(401, headers=[("www-authenticate", c) for c in verdict.challenges])

    with httpx.Client(transport=httpx.MockTransport(handler), auth=httpx.DigestAuth("webex", "s3cret")) as client:
        assert client.post("http://receiver.test/hooks?x=1", content=b"{}").status_code == 200
        assert client.post("http://receiver.test/hooks", content=b"{}").status_code == 200
    with httpx.Client(transport=httpx.MockTransport(handler), auth=httpx.DigestAuth("webex", "nope")) as client:
        assert client.post("http://receiver.test/hooks", content=b"{}").status_code == 401


# -- API key --------------------------------------------------------------------------------------


def test_api_key() -> None:
    v = ApiKeyVerifier("X-Api-Key", "k-123")
    assert v.verify(request(x_api_key="k-123")).ok
    assert "no X-Api-Key header" in v.verify(request()).reason
    assert "wrong key" in v.verify(request(x_api_key="k-124")).reason
    twice = AuthRequest("POST", "/", "", (("x-api-key", "k-123"), ("x-api-key", "k-123")))
    assert "2 X-Api-Key headers" in v.verify(twice).reason
    assert v.verify(request()).challenges == ()
    assert v.redact((("x-api-key", "k-123"), ("accept", "*/*"))) == (("x-api-key", REDACTED), ("accept", "*/*"))


# -- Bearer and the token endpoint ----------------------------------------------------------------


def token_request(
    form: dict[str, str], authorization: str | None = None, content_type: str | None = None
) -> AuthRequest:
    headers = [("content-type", content_type or "application/x-www-form-urlencoded")]
    if authorization is not None:
        headers.append(("authorization", authorization))
    return AuthRequest("POST", "/oauth/token", "", tuple(headers), urllib.parse.urlencode(form).encode())


def test_tokens_are_issued_for_either_client_authentication_and_expire() -> None:
    clock = Clock()
    v = BearerVerifier("webex", "c-secret", ttl=60, now=clock, random=counter("tok").__next__)
    in_body = v.token(
        token_request({"grant_type": "client_credentials", "client_id": "webex", "client_secret": "c-secret"})
    )
    assert (in_body.status, in_body.document) == (
        200,
        {"access_token": "tok-1", "token_type": "Bearer", "expires_in": 60},
    )
    assert "the form body" in in_body.verdict.reason
    with_basic = v.token(
        token_request({"grant_type": "client_credentials", "scope": "a b"}, authorization=basic("webex", "c-secret"))
    )
    assert with_basic.document == {"access_token": "tok-2", "token_type": "Bearer", "expires_in": 60, "scope": "a b"}
    assert "HTTP Basic" in with_basic.verdict.reason
    assert v.verify(request("Bearer tok-1")).ok
    clock.advance(59)
    assert v.verify(request("Bearer tok-2")).ok
    clock.advance(1)
    expired = v.verify(request("Bearer tok-1"))
    assert not expired.ok and "expired 0 s ago" in expired.reason
    assert expired.challenges == (
        'Bearer realm="connect-hooks", error="invalid_token", error_description="the access token expired"',
    )
    unknown = v.verify(request("Bearer tok-99"))
    assert not unknown.ok and "unknown token" in unknown.reason
    missing = v.verify(request())
    assert missing.challenges == ('Bearer realm="connect-hooks"',) and "POST /oauth/token" in missing.reason


@pytest.mark.parametrize(
    ("form", "authorization", "content_type", "status", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "webex", "client_secret": "x"},
            None,
            None,
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, basic("webex", "wrong"), None, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, None, 401, "invalid_client"),
        (
            {"grant_type": "password", "client_id": "webex", "client_secret": "c-secret"},
            None,
            None,
            400,
            "unsupported_grant_type",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "webex"},
            basic("webex", "c-secret"),
            None,
            400,
            "invalid_request",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "webex", "client_secret": "c-secret"},
            None,
            "application/json",
            400,
            "invalid_request",
        ),
    ],
    ids=[
        "wrong-secret-in-body",
        "wrong-secret-basic",
        "no-credentials",
        "password-grant",
        "authenticated-twice",
        "json-body",
    ],
)
def test_bad_token_requests(
    form: dict[str, str], authorization: str | None, content_type: str | None, status: int, error: str
) -> None:
    v = BearerVerifier("webex", "c-secret", random=counter("tok").__next__)
    answer = v.token(token_request(form, authorization, content_type))
    assert (answer.status, answer.document["error"]) == (status, error)
    assert not answer.verdict.ok
    assert "c-secret" not in json.dumps(answer.document) + answer.verdict.reason
    assert v.verify(request("Bearer tok-1")).ok is False  # nothing was issued


# -- AWS SigV4 ------------------------------------------------------------------------------------

# The AWS Signature Version 4 test suite (aws-sig-v4-test-suite, published with AWS's General Reference,
# "Signature Version 4 test suite"): credentials, date, scope and expected signatures of a few of its cases.
SUITE_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SUITE_DATE = "20150830T123600Z"
SUITE_HOST = {"host": ["example.amazonaws.com"], "x-amz-date": [SUITE_DATE]}
SUITE = [
    # name, method, path, query, extra headers, body, signature
    ("get-vanilla", "GET", "/", "", {}, b"", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    (
        "get-vanilla-query-order-key-case",
        "GET",
        "/",
        "Param2=value2&Param1=value1",
        {},
        b"",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    ),
    ("get-utf8", "GET", "/ሴ", "", {}, b"", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    (
        "get-vanilla-utf8-query",
        "GET",
        "/",
        "%E1%88%B4=bar",
        {},
        b"",
        "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
    ),
    (
        "get-header-value-trim",
        "GET",
        "/",
        "",
        {"my-header1": [" value1"], "my-header2": [' "a   b   c"']},
        b"",
        "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
    ),
    ("post-vanilla", "POST", "/", "", {}, b"", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    (
        "post-x-www-form-urlencoded",
        "POST",
        "/",
        "",
        {"content-type": ["application/x-www-form-urlencoded"]},
        b"Param1=value1",
        "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "extra", "body", "signature"), [c[1:] for c in SUITE], ids=[c[0] for c in SUITE]
)
def test_sigv4_matches_the_aws_test_suite(
    method: str, path: str, query: str, extra: dict[str, list[str]], body: bytes, signature: str
) -> None:
    headers = {**SUITE_HOST, **extra}
    signed = sorted(headers)
    canonical = canonical_request(
        method, path, query, headers, signed, hashlib.sha256(body).hexdigest(), service="service"
    )
    assert sigv4_signature(SUITE_KEY, SUITE_DATE, "us-east-1", "service", canonical) == signature


SUITE_NOW = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC)


def suite_request(signature: str, **over: str) -> AuthRequest:
    auth = (
        f"AWS4-HMAC-SHA256 Credential={over.pop('credential', 'AKIDEXAMPLE/20150830/us-east-1/service/aws4_request')}, "
        f"SignedHeaders={over.pop('signed', 'content-type;host;x-amz-date')}, Signature={signature}"
    )
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "host": "example.amazonaws.com",
        "x-amz-date": SUITE_DATE,
        "authorization": auth,
        **over,
    }
    return AuthRequest("POST", "/", "", tuple(headers.items()), b"Param1=value1")


GOOD = "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"


def test_sigv4_verifier_accepts_the_suite_request_and_refuses_every_change() -> None:
    clock = Clock(SUITE_NOW)
    v = SigV4Verifier("AKIDEXAMPLE", SUITE_KEY, "us-east-1", "service", now=clock)
    assert v.verify(suite_request(GOOD)).ok
    cases = [
        (suite_request(GOOD[:-1] + "0"), "signature does not match"),
        (suite_request(GOOD, credential="AKIDOTHER/20150830/us-east-1/service/aws4_request"), "unknown access key"),
        (suite_request(GOOD, credential="AKIDEXAMPLE/20150830/eu-west-1/service/aws4_request"), "eu-west-1/service"),
        (suite_request(GOOD, credential="AKIDEXAMPLE/20150831/us-east-1/service/aws4_request"), "date"),
        (suite_request(GOOD, credential="AKIDEXAMPLE/20150830/us-east-1"), "Credential is not"),
        (suite_request(GOOD, signed="host;content-type;x-amz-date"), "sorted"),
        (suite_request(GOOD, signed="content-type;host"), "x-amz-date must be among"),
        (suite_request(GOOD, signed="content-type;host;my-header;x-amz-date"), "my-header is not in the request"),
        (suite_request(GOOD, **{"x-amz-date": "2015-08-30"}), "not YYYYMMDDTHHMMSSZ"),
        (suite_request(GOOD, **{"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}), "x-amz-content-sha256"),
        (AuthRequest("POST", "/", "", (("authorization", "AWS4-HMAC-SHA256 Signature=x"),)), "needs Credential="),
        (AuthRequest("POST", "/", "", ()), "no Authorization header"),
    ]
    for req, fragment in cases:
        verdict = v.verify(req)
        assert not verdict.ok
        assert fragment in verdict.reason, (fragment, verdict.reason)
        assert SUITE_KEY not in verdict.reason
    changed_body = AuthRequest("POST", "/", "", suite_request(GOOD).headers, b"Param1=value2")
    assert "does not match" in v.verify(changed_body).reason


def test_sigv4_clock_skew_of_more_than_five_minutes_is_refused() -> None:
    clock = Clock(SUITE_NOW + dt.timedelta(seconds=300))
    v = SigV4Verifier("AKIDEXAMPLE", SUITE_KEY, "us-east-1", "service", now=clock)
    assert v.verify(suite_request(GOOD)).ok
    clock.advance(1)
    late = v.verify(suite_request(GOOD))
    assert not late.ok and "301 s behind this receiver's clock" in late.reason
    clock.time = SUITE_NOW - dt.timedelta(seconds=301)
    early = v.verify(suite_request(GOOD))
    assert not early.ok and "301 s ahead of" in early.reason


def test_sigv4_session_token_is_required_when_configured() -> None:
    v = SigV4Verifier("AKIDEXAMPLE", SUITE_KEY, "us-east-1", "service", "sess-token", now=lambda: SUITE_NOW)
    assert "x-amz-security-token" in v.verify(suite_request(GOOD)).reason
    assert "x-amz-security-token" in v.verify(suite_request(GOOD, **{"x-amz-security-token": "other"})).reason
    assert v.verify(suite_request(GOOD, **{"x-amz-security-token": "sess-token"})).ok


# -- Redaction and settings -----------------------------------------------------------------------


@given(st.text(min_size=1).filter(lambda s: s.strip() == s and " " not in s))
def test_redaction_keeps_only_the_scheme(secret: str) -> None:
    headers = (("authorization", f"Basic {secret}"), ("x-amz-security-token", secret), ("accept", "x"))
    redacted = redact_headers(headers)
    assert redacted == (("authorization", f"Basic {REDACTED}"), ("x-amz-security-token", REDACTED), ("accept", "x"))
    assert redact_headers((("authorization", secret),)) == (("authorization", REDACTED),)
    spaced = ApiKeyVerifier("X-Key", "k").redact((("x-key", f"part {secret}"),))
    assert spaced == (("x-key", REDACTED),)


def test_credentials_come_from_a_file_first_then_the_environment(tmp_path: Path) -> None:
    file = tmp_path / "pw"
    file.write_text("from-file\n")
    env = {"CONNECT_HOOKS_AUTH_PASSWORD": "from-env"}
    args = ("CONNECT_HOOKS_AUTH_PASSWORD",)
    assert read_credential(env, *args, str(file), "--auth-password-file", "password", "x") == "from-file"
    assert read_credential(env, *args, None, "--auth-password-file", "password", "x") == "from-env"
    with pytest.raises(BadInput, match="set but empty"):
        read_credential({"CONNECT_HOOKS_AUTH_PASSWORD": ""}, *args, None, "--auth-password-file", "password", "x")
    with pytest.raises(BadInput, match="x needs the password: set CONNECT_HOOKS_AUTH_PASSWORD or give"):
        read_credential({}, *args, None, "--auth-password-file", "password", "x")
    with pytest.raises(BadInput, match="does not exist"):
        read_credential(env, *args, str(tmp_path / "nope"), "--auth-password-file", "password", "x")


def test_make_verifier_needs_every_piece() -> None:
    with pytest.raises(BadInput, match="--auth-user USER"):
        make_verifier(RequiredAuth("basic", password="p"))
    with pytest.raises(BadInput, match="--client-id ID"):
        make_verifier(RequiredAuth("bearer", client_secret="s"))
    with pytest.raises(BadInput, match="--aws-region"):
        make_verifier(RequiredAuth("aws-sigv4", aws_access_key_id="a", aws_secret_access_key="b", aws_service="s"))
    with pytest.raises(BadInput, match="not one of"):
        make_verifier(RequiredAuth("kerberos"))
    assert "pw-secret" not in repr(RequiredAuth("basic", user="u", password="pw-secret"))


@pytest.mark.parametrize(
    ("url", "session_token"),
    [
        ("http://127.0.0.1:8787/hooks", None),
        ("http://127.0.0.1:8787/hooks?b=2&a=1&empty=", None),
        ("http://127.0.0.1:8787/hooks/a%20b/%E1%88%B4?q=x%2Fy", None),
        ("http://127.0.0.1:8787/hooks", "session-token-1"),
    ],
    ids=["plain", "query-unsorted", "encoded-path", "session-token"],
)
def test_sigv4_verifies_what_botocore_signs(url: str, session_token: str | None) -> None:
    """AWS's own SDK as an independent signer (botocore's SigV4Auth), on the real clock."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b'{"channel":"SMS","message":"hi"}'
    signed = AWSRequest("POST", url, data=body, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("AKIDBOTO", "boto/secret+key", session_token), "execute-api", "eu-west-1").add_auth(signed)
    split = urllib.parse.urlsplit(url)
    headers = (("host", split.netloc), *((k.lower(), v) for k, v in signed.headers.items()))
    request = AuthRequest("POST", split.path, split.query, headers, body)
    verifier = SigV4Verifier("AKIDBOTO", "boto/secret+key", "eu-west-1", "execute-api", session_token)
    verdict = verifier.verify(request)
    assert verdict.ok, verdict.reason
    tampered = AuthRequest("POST", split.path, split.query, headers, body + b" ")
    assert not verifier.verify(tampered).ok


def test_listen_offers_exactly_the_verifiers_types() -> None:
    from connect_hooks.cli.commands import listen_auth
    from connect_hooks.receiver.auth import AUTH_TYPES

    assert listen_auth.AUTH_TYPES == AUTH_TYPES


HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=200)
SCHEMES = st.sampled_from(["Basic ", "Digest ", "Bearer ", "AWS4-HMAC-SHA256 ", ""])


@given(scheme=SCHEMES, rest=HEADER_TEXT, amz_date=HEADER_TEXT)
@example(scheme="Digest ", rest="=", amz_date="")  # found by hypothesis: parse_keqv_list raised IndexError
def test_no_authorization_header_makes_a_verifier_raise(scheme: str, rest: str, amz_date: str) -> None:
    verifiers = [
        BasicVerifier("webex", "pw"),
        DigestVerifier("webex", "pw"),
        ApiKeyVerifier("X-Key", "k\x01"),  # a key the generated headers cannot hold
        BearerVerifier("webex", "s"),
        SigV4Verifier("AKID", "secret", "eu-west-1", "execute-api", now=lambda: T0),
    ]
    headers = (("authorization", scheme + rest), ("x-key", rest), ("x-amz-date", amz_date), ("host", "h"))
    for verifier in verifiers:
        verdict = verifier.verify(AuthRequest("POST", "/hooks", "", headers, b"{}"))
        assert not verdict.ok
        assert "\n" not in verdict.reason


@given(body=st.binary(max_size=200), authorization=st.one_of(st.none(), HEADER_TEXT))
def test_no_token_request_makes_the_endpoint_raise(body: bytes, authorization: str | None) -> None:
    headers = [("content-type", "application/x-www-form-urlencoded")]
    if authorization is not None:
        headers.append(("authorization", authorization))
    answer = BearerVerifier("webex", "s").token(AuthRequest("POST", "/oauth/token", "", tuple(headers), body))
    assert answer.status in (200, 400, 401)
    assert answer.status != 200 or b"client_secret=s" in body or authorization is not None
