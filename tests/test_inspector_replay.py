"""The inspector's "Replay to the receiver" against a real ``listen`` on 127.0.0.1: what it sends again, and with
which credentials when the receiver requires them (the recorded ones are redacted)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from connect_hooks.receiver.app import Received, ReceiverSettings
from connect_hooks.receiver.auth import RequiredAuth, make_verifier
from connect_hooks.receiver.listening import Listener, ListenSettings, Started
from tests.support import run

pytestmark = pytest.mark.e2e

BODY = b'{"deliveryInfoNotification":{"deliveryInfo":{"deliveryChannel":"SMS","deliveryStatus":"Delivered"}}}'
PAGE = {"x-connect-hooks-inspector": "1"}  # the header the inspector's page sends with a replay
PASSWORD = "replay-Pa55word!"
API_KEY = "replay-api-key-value"
CLIENT_SECRET = "replay-client-secret"
AWS_KEY_ID, AWS_SECRET = "AKIDREPLAYTEST", "replay/Secret+Access"
SECRETS = (PASSWORD, API_KEY, CLIENT_SECRET, AWS_SECRET)


class View:
    def __init__(self) -> None:
        self.where: list[Started] = []
        self.up = asyncio.Event()

    def started(self, started: Started) -> None:
        self.where.append(started)
        self.up.set()

    def line(self, record: Received) -> str:
        return record.reason


Story = Callable[[httpx.AsyncClient, str], Awaitable[None]]


def replayed(
    settings: ListenSettings, first: Story, number: int = 1, *, seen: list[Started] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``first(client, receiver URL)`` posts one request; the inspector replays request ``number`` to the receiver.

    Returns what the replay answered (what the page shows) and the inspector's download afterwards.
    """

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        view = View()
        with Listener(settings, view, out=io.StringIO()) as listener:
            task = asyncio.create_task(listener.run(signals=False))
            try:
                async with asyncio.timeout(60):
                    await view.up.wait()
                    started = view.where[0]
                    assert started.inspector is not None
                    if seen is not None:
                        seen.append(started)
                    async with httpx.AsyncClient(trust_env=False) as client:
                        await first(client, started.where.url)
                        answer = await client.post(
                            f"{started.inspector.url}/requests/{number}/replay", json={"to": "receiver"}, headers=PAGE
                        )
                        assert answer.status_code == 200, answer.text
                        download = await client.get(started.inspector.url + "/requests.ndjson")
            finally:
                listener.stop("the test")
                await task
        return answer.json(), [json.loads(line) for line in download.text.splitlines()]

    return run(scenario())


def inspecting(required: RequiredAuth | None = None, **extra: Any) -> ListenSettings:
    verifier = make_verifier(required) if required is not None else None
    return ListenSettings(
        receiver=ReceiverSettings(auth=verifier), port=0, inspect=True, inspect_port=0, required_auth=required, **extra
    )


def test_a_header_with_obs_text_is_replayed_byte_for_byte() -> None:
    async def first(client: httpx.AsyncClient, url: str) -> None:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # httpx refuses to send the byte 0xE9
        writer.write(
            b"POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Latin: caf\xe9\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
        )
        assert (await reader.read()).startswith(b"HTTP/1.1 200 ")
        writer.close()
        await writer.wait_closed()

    answer, records = replayed(inspecting(), first)
    assert (answer["status"], answer["error"]) == (200, None)
    e_acute = "\N{LATIN SMALL LETTER E WITH ACUTE}"  # the byte 0xE9 read as latin-1, as every header byte is
    assert [(r["status"], r["attempt"], r["headers"]["x-latin"]) for r in records] == [
        (200, 1, "caf" + e_acute),
        (200, 2, "caf" + e_acute),
    ]


async def basic(client: httpx.AsyncClient, url: str) -> None:
    assert (await client.post(url + "/hooks", content=BODY, auth=httpx.BasicAuth("webex", PASSWORD))).is_success


async def digest(client: httpx.AsyncClient, url: str) -> None:
    assert (await client.post(url + "/hooks", content=BODY, auth=httpx.DigestAuth("webex", PASSWORD))).is_success


async def api_key(client: httpx.AsyncClient, url: str) -> None:
    assert (await client.post(url + "/hooks", content=BODY, headers={"X-Api-Key": API_KEY})).is_success


async def bearer(client: httpx.AsyncClient, url: str) -> None:
    form = {"grant_type": "client_credentials", "client_id": "webex", "client_secret": CLIENT_SECRET}
    token = (await client.post(url + "/oauth/token", data=form)).json()["access_token"]
    headers = {"authorization": f"Bearer {token}"}
    assert (await client.post(url + "/hooks", content=BODY, headers=headers)).is_success


async def sigv4(client: httpx.AsyncClient, url: str) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url + "/hooks", data=BODY, headers={"content-type": "application/json"})
    SigV4Auth(Credentials(AWS_KEY_ID, AWS_SECRET), "execute-api", "eu-west-1").add_auth(request)
    assert (await client.post(url + "/hooks", content=BODY, headers=dict(request.headers.items()))).is_success


CASES = {
    "basic": (RequiredAuth("basic", user="webex", password=PASSWORD), basic),
    "digest": (RequiredAuth("digest", user="webex", password=PASSWORD), digest),
    "api-key": (RequiredAuth("api-key", api_key_header="X-Api-Key", api_key=API_KEY), api_key),
    "bearer": (RequiredAuth("bearer", client_id="webex", client_secret=CLIENT_SECRET), bearer),
    "aws-sigv4": (
        RequiredAuth(
            "aws-sigv4",
            aws_region="eu-west-1",
            aws_service="execute-api",
            aws_access_key_id=AWS_KEY_ID,
            aws_secret_access_key=AWS_SECRET,
        ),
        sigv4,
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_under_require_auth_the_replay_presents_the_receivers_own_credentials(kind: str) -> None:
    required, first = CASES[kind]
    answer, records = replayed(inspecting(required), first, 2 if kind == "bearer" else 1)  # 1: its token request
    assert (answer["status"], answer["error"]) == (200, None)
    hooks = [r for r in records if r["path"] == "/hooks" and r["status"] == 200]
    assert [(r["attempt"], r["auth"]["ok"]) for r in hooks] == [(1, True), (2, True)]  # the replay got in
    assert hooks[0]["body"] == hooks[1]["body"] == BODY.decode()
    shown = json.dumps(answer) + json.dumps(records)
    assert not [secret for secret in SECRETS if secret in shown]


def test_without_the_credentials_the_replay_is_not_sent_and_says_why() -> None:
    required = RequiredAuth("basic", user="webex", password=PASSWORD)
    settings = inspecting(required)
    settings = ListenSettings(  # a library user who gave the verifier but not what it was made from
        receiver=settings.receiver, port=0, inspect=True, inspect_port=0
    )
    answer, records = replayed(settings, basic)
    assert answer["status"] is None
    assert answer["error"] == (
        "not sent: the receiver requires basic auth, and the inspector was not given its credentials"
    )
    assert [r["status"] for r in records] == [200]  # nothing more reached the receiver


def test_a_token_request_is_not_replayed_its_body_was_not_kept() -> None:
    required, first = CASES["bearer"]
    answer, records = replayed(inspecting(required), first, 1)
    assert answer["status"] is None
    assert answer["error"] == "not sent: a token request's body (it holds the client secret) is not kept"
    assert [r["path"] for r in records] == ["/oauth/token", "/hooks"]


def test_under_require_client_cert_the_replay_presents_the_issued_certificate() -> None:
    from connect_hooks.receiver.tls import MutualTLS

    settings = inspecting(tls=True, mutual=MutualTLS())
    seen: list[Started] = []

    async def with_cert(client: httpx.AsyncClient, url: str) -> None:
        import ssl

        started = seen[0]
        assert started.tls is not None and started.tls.client is not None
        context = ssl.create_default_context(cafile=started.tls.ca_path)
        context.load_cert_chain(started.tls.client.pem_path)
        async with httpx.AsyncClient(trust_env=False, verify=context) as mtls:
            assert (await mtls.post(url + "/hooks", content=BODY)).status_code == 200

    answer, records = replayed(settings, with_cert, seen=seen)
    assert (answer["status"], answer["error"]) == (200, None)
    assert [(r["status"], r["attempt"]) for r in records] == [(200, 1), (200, 2)]


def test_under_client_ca_the_replay_is_not_sent_and_says_why(tmp_path: Path) -> None:
    import ssl

    import trustme

    from connect_hooks.receiver.tls import MutualTLS

    users_ca = trustme.CA()
    users_ca.cert_pem.write_to_path(str(tmp_path / "clients-ca.pem"))
    mine = users_ca.issue_cert("webex.test")
    seen: list[Started] = []

    async def with_cert(client: httpx.AsyncClient, url: str) -> None:
        started = seen[0]
        assert started.tls is not None
        context = ssl.create_default_context(cafile=started.tls.ca_path)
        mine.configure_cert(context)
        async with httpx.AsyncClient(trust_env=False, verify=context) as mtls:
            assert (await mtls.post(url + "/hooks", content=BODY)).status_code == 200

    settings = inspecting(tls=True, mutual=MutualTLS(client_ca=tmp_path / "clients-ca.pem"))
    answer, records = replayed(settings, with_cert, seen=seen)
    assert (answer["status"], answer["error"]) == (
        None,
        "not sent: the receiver requires a client certificate signed by --client-ca, and the inspector holds none",
    )
    assert [r["status"] for r in records] == [200]
