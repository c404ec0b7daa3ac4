"""The receiver with ``auth`` set, in-process through httpx.ASGITransport: 401s, challenges, tokens, records."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx

from connect_hooks import sign
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings, Script, Signature
from connect_hooks.receiver.auth import ApiKeyVerifier, BasicVerifier, BearerVerifier, DigestVerifier, Verifier
from tests.support import run

T0 = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
BODY = b'{"channel":"SMS","message":"hi"}'
PASSWORD = "Pw-7f!basic-secret"


class Clock:
    def __init__(self) -> None:
        self.time = T0

    def __call__(self) -> dt.datetime:
        return self.time


def app_with(auth: Verifier, **settings: Any) -> tuple[ReceiverApp, list[Received]]:
    records: list[Received] = []
    return ReceiverApp(ReceiverSettings(auth=auth, **settings), records.append), records


def exchange(app: ReceiverApp, *requests: dict[str, Any], auth: httpx.Auth | None = None) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test", auth=auth) as client:
            return [await client.request(**{"method": "POST", "url": "/hooks", **r}) for r in requests]

    return run(go())


def test_basic_refuses_with_a_challenge_and_a_reason_then_accepts_and_redacts() -> None:
    app, records = app_with(BasicVerifier("webex", PASSWORD))
    refused, wrong, accepted, head = exchange(
        app,
        {"content": BODY},
        {"content": BODY, "auth": httpx.BasicAuth("webex", "nope")},
        {"content": BODY, "auth": httpx.BasicAuth("webex", PASSWORD)},
        {"method": "HEAD", "auth": httpx.BasicAuth("webex", PASSWORD)},
    )
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="connect-hooks", charset="UTF-8"'
    assert refused.text == "Basic auth: no Authorization header\n"
    assert (wrong.status_code, wrong.text) == (401, "Basic auth: wrong user name or password\n")
    assert (accepted.status_code, head.status_code) == (200, 200)
    assert [(r.status, r.attempt, r.auth and r.auth.ok) for r in records] == [
        (401, None, False),
        (401, None, False),
        (200, 1, True),
        (200, None, True),
    ]
    assert records[0].signature is Signature.SKIPPED
    assert records[0].body == BODY  # nothing the sender sent is lost, only credentials are hidden
    documents = [r.as_dict() for r in records]
    assert documents[2]["headers"]["authorization"] == "Basic [redacted]"
    assert documents[2]["auth"] == {"type": "basic", "ok": True, "reason": "Basic auth: user 'webex'"}
    assert documents[1]["auth"]["reason"] == "Basic auth: wrong user name or password"
    text = json.dumps(documents) + repr(records)
    assert PASSWORD not in text
    assert httpx.BasicAuth("webex", "nope")._auth_header.split()[1] not in text


def test_an_unauthenticated_head_gets_401() -> None:
    app, records = app_with(BasicVerifier("webex", PASSWORD))
    (head,) = exchange(app, {"method": "HEAD"})
    assert head.status_code == 401
    assert "www-authenticate" in head.headers
    assert records[0].auth is not None and not records[0].auth.ok


def test_digest_challenge_rounds_are_not_deliveries_so_the_script_still_counts_right() -> None:
    app, records = app_with(DigestVerifier("webex", PASSWORD), script=Script((503, 200)))
    auth = httpx.DigestAuth("webex", PASSWORD)
    first, second = exchange(
        app,
        {"content": BODY, "headers": {"x-wx-gtrid": "g-1"}},
        {"content": BODY, "headers": {"x-wx-gtrid": "g-1"}},
        auth=auth,
    )
    assert (first.status_code, second.status_code) == (503, 200)
    assert [(r.status, r.attempt) for r in records] == [(401, None), (503, 1), (200, 2)]  # httpx reuses the nonce
    assert records[1].auth is not None and "SHA-256" in records[1].auth.reason
    assert all(r.as_dict()["headers"].get("authorization", "Digest [redacted]") == "Digest [redacted]" for r in records)


def test_both_layers_are_enforced_credentials_first_then_the_hub_signature() -> None:
    app, records = app_with(ApiKeyVerifier("X-API-Key", "key-1"), secret="hub")
    good_sig = sign(BODY, "hub")
    no_key, bad_sig, both = exchange(
        app,
        {"content": BODY, "headers": {"x-hub-signature": good_sig}},
        {"content": BODY, "headers": {"x-api-key": "key-1", "x-hub-signature": sign(BODY, "other")}},
        {"content": BODY, "headers": {"x-api-key": "key-1", "x-hub-signature": good_sig}},
    )
    assert (no_key.status_code, no_key.text) == (401, "API key: no X-API-Key header\n")
    assert "www-authenticate" not in no_key.headers
    assert bad_sig.status_code == 401 and "x-hub-signature does not verify" in bad_sig.text
    assert both.status_code == 200
    assert [r.signature for r in records] == [Signature.SKIPPED, Signature.MISMATCH, Signature.VALID]
    assert records[1].auth is not None and records[1].auth.ok
    assert all(r.as_dict()["headers"].get("x-api-key", "[redacted]") == "[redacted]" for r in records)


def test_oauth_token_endpoint_then_bearer_deliveries_until_the_token_expires() -> None:
    clock = Clock()
    verifier = BearerVerifier("webex", "client-secret-XYZ", ttl=60, now=clock)
    app, records = app_with(verifier)
    form = {"grant_type": "client_credentials", "client_id": "webex", "client_secret": "client-secret-XYZ"}
    (token_answer,) = exchange(app, {"url": "/oauth/token", "data": form})
    assert token_answer.status_code == 200
    assert token_answer.headers["content-type"] == "application/json"
    assert token_answer.headers["cache-control"] == "no-store"
    document = token_answer.json()
    assert set(document) == {"access_token", "token_type", "expires_in"}
    assert (document["token_type"], document["expires_in"]) == ("Bearer", 60)
    token = document["access_token"]
    bearer = {"authorization": f"Bearer {token}"}
    (ok,) = exchange(app, {"content": BODY, "headers": bearer})
    clock.time += dt.timedelta(seconds=60)
    expired, wrong_client = exchange(
        app,
        {"content": BODY, "headers": bearer},
        {"url": "/oauth/token", "data": {**form, "client_secret": "guess"}},
    )
    assert ok.status_code == 200
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert "expired" in expired.text
    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")
    assert [(r.path, r.status) for r in records] == [
        ("/oauth/token", 200),
        ("/hooks", 200),
        ("/hooks", 401),
        ("/oauth/token", 401),
    ]
    assert records[0].body == b"" and records[0].size > 0  # the form held the client secret: not kept
    text = json.dumps([r.as_dict() for r in records]) + repr(records)
    assert token not in text
    assert "client-secret-XYZ" not in text
    assert "guess" not in text


def test_without_auth_the_authorization_header_is_still_redacted() -> None:
    records: list[Received] = []
    app = ReceiverApp(ReceiverSettings(), records.append)
    (answer,) = exchange(app, {"content": BODY, "auth": httpx.BasicAuth("u", PASSWORD)})
    assert answer.status_code == 200
    assert records[0].auth is None
    assert records[0].as_dict()["auth"] is None
    assert records[0].as_dict()["headers"]["authorization"] == "Basic [redacted]"
