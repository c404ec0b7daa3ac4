"""``listen --forward-to``: a real listener relays to a real app on 127.0.0.1, and answers with what the app said."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks import sign
from connect_hooks.cli.main import main
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings, Script
from connect_hooks.receiver.listening import Listener, ListenSettings, Started
from connect_hooks.receiver.relay import Relay, forwarded_headers
from connect_hooks.receiver.server import bind, serving
from tests.support import run

pytestmark = pytest.mark.e2e

SECRET = "relay-hub-secret"
# Not canonical JSON on purpose: spaces, key order and a non-ASCII character must survive the hop.
BODY = '{ "deliveryInfoNotification": {"deliveryInfo": {"deliveryChannel": "SMS", "deliveryStatus": "Delivered"}}, "note": "café" }'.encode()
T = TypeVar("T")


class View:
    def __init__(self) -> None:
        self.where: list[Started] = []
        self.up = asyncio.Event()

    def started(self, started: Started) -> None:
        self.where.append(started)
        self.up.set()

    def line(self, record: Received) -> str:
        return record.reason


def relaying(
    app_settings: ReceiverSettings | None,
    story: Callable[[str], Awaitable[T]],
    *,
    forward_timeout: float = 5.0,
    log: Path | None = None,
) -> tuple[T, list[Received], str]:
    """Run an app (a scripted receiver; None: nothing listening) and a relaying listener in front of it."""
    app_records: list[Received] = []

    async def scenario() -> T:
        async with asyncio.timeout(60):
            if app_settings is None:
                with socket.socket() as closed:  # bound, never listening: connections are refused
                    closed.bind(("127.0.0.1", 0))
                    return await in_front_of(f"http://127.0.0.1:{closed.getsockname()[1]}/app")
            app = ReceiverApp(app_settings, app_records.append)
            async with serving(app, bind("127.0.0.1", 0), log_level="critical") as where:
                return await in_front_of(where.url + "/app")

    out = io.StringIO()

    async def in_front_of(url: str) -> T:
        settings = ListenSettings(
            receiver=ReceiverSettings(secret=SECRET),
            port=0,
            forward_to=url,
            forward_timeout=forward_timeout,
            log_path=str(log) if log else None,
        )
        view = View()
        with Listener(settings, view, out=out) as listener:
            task = asyncio.create_task(listener.run(signals=False))
            await view.up.wait()
            try:
                return await story(view.where[0].where.url + "/hooks")
            finally:
                listener.stop("the test")
                await task

    result = run(scenario())
    return result, app_records, out.getvalue()


def signed(**extra: str) -> dict[str, str]:
    return {"x-hub-signature": sign(BODY, SECRET), "x-wx-gtrid": "g-relay", "content-type": "application/json", **extra}


def test_forwards_the_exact_body_and_headers_and_passes_the_answer_back(tmp_path: Path) -> None:
    log = tmp_path / "relay.ndjson"

    async def story(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(trust_env=False) as client:
            headers = signed(**{"user-agent": "Webex-Connect", "x-custom": "a, b", "connection": "keep-alive"})
            return [await client.post(url, content=BODY, headers=headers) for _ in range(2)]

    answers, app_records, out = relaying(ReceiverSettings(secret=SECRET, script=Script((503, 201))), story, log=log)
    assert [(a.status_code, a.text) for a in answers] == [
        (503, "scripted: delivery 1 gets 503\n"),
        (201, "scripted: delivery 2 gets 201\n"),
    ]
    assert answers[0].headers["content-type"] == "text/plain; charset=utf-8"
    first = app_records[0]
    assert first.body == BODY
    assert first.signature.value == "valid"  # the app verifies the very signature Webex Connect made
    received = dict(first.headers)
    assert received["host"] == first.headers[0][1]  # httpx's Host for the app, nothing else of its own
    assert {k: v for k, v in received.items() if k != "host"} == {
        "x-hub-signature": sign(BODY, SECRET),
        "x-wx-gtrid": "g-relay",
        "content-type": "application/json",
        "user-agent": "Webex-Connect",
        "x-custom": "a, b",
        "accept": "*/*",
        "accept-encoding": httpx.Client().headers[
            "accept-encoding"
        ],  # what the test's client sent (br with brotli installed)
        "content-length": str(len(BODY)),
    }
    assert [(r.attempt, r.status) for r in app_records] == [(1, 503), (2, 201)]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["status"], r["forward"]["status"], r["forward"]["body"]) for r in records] == [
        (503, 503, "scripted: delivery 1 gets 503\n"),
        (201, 201, "scripted: delivery 2 gets 201\n"),
    ]
    assert records[0]["forward"]["url"].endswith("/app")
    # The app's address as the app itself saw it (the Host it was sent), and a whole number of milliseconds.
    app_url = re.escape(f"http://{received['host']}/app")
    assert re.fullmatch(f"relayed to {app_url}: the app answered 503 in [0-9]+ ms", out.splitlines()[0])


def test_a_bad_signature_is_401_and_never_reaches_the_app() -> None:
    async def story(url: str) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await client.post(url, content=BODY, headers=signed(**{"x-hub-signature": "sha256=" + "0" * 64}))

    answer, app_records, _ = relaying(ReceiverSettings(), story)
    assert answer.status_code == 401
    assert app_records == []


def test_an_unreachable_app_is_502_with_the_reason() -> None:
    async def story(url: str) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await client.post(url, content=BODY, headers=signed())

    answer, _, out = relaying(None, story)
    assert answer.status_code == 502
    assert "cannot reach the app" in answer.text
    assert "cannot reach the app" in out


def test_an_app_slower_than_the_deadline_is_502() -> None:
    async def story(url: str) -> httpx.Response:
        async with httpx.AsyncClient(trust_env=False) as client:
            return await client.post(url, content=BODY, headers=signed())

    # The app stalls 60 s; the relay's deadline is 0.5 s (the stall ends when the test stops the app).
    answer, app_records, _ = relaying(ReceiverSettings(script=Script((200,), delay=60)), story, forward_timeout=0.5)
    assert answer.status_code == 502
    assert answer.text.endswith("the app did not answer within 0.5 s\n")
    assert [r.status for r in app_records] == [None]  # it got the request; its answer never came


def test_hop_by_hop_headers_and_those_named_in_connection_stay_behind() -> None:
    headers = (
        ("host", "a"),
        ("connection", "close, x-drop"),
        ("x-drop", "1"),
        ("te", "trailers"),
        ("expect", "100-continue"),
        ("x-keep", "2"),
    )
    assert forwarded_headers(headers) == (("x-keep", "2"),)


def test_the_app_answer_comes_back_undecoded() -> None:
    gzipped = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00"

    def app(request: httpx.Request) -> httpx.Response:
        assert "user-agent" not in request.headers  # httpx adds none of its own
        return httpx.Response(200, stream=httpx.ByteStream(gzipped), headers={"content-encoding": "gzip", "date": "x"})

    async def story() -> tuple[int | None, bytes, dict[str, str]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(app)) as client:
            hop = await Relay("http://app.test/", client=client).forward((("x-a", "1"),), b"{}")
        return hop.status, hop.body, dict(hop.headers)

    assert run(story()) == (200, gzipped, {"content-encoding": "gzip"})


def test_headers_the_app_names_in_connection_and_hop_by_hop_ones_are_not_passed_back() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        headers = [
            ("Connection", "X-Per-Hop, close"),
            ("X-Per-Hop", "only for the relay"),
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Authenticate", "Basic"),
            ("Upgrade", "h2c"),
            ("X-End-To-End", "kept"),
        ]
        return httpx.Response(202, stream=httpx.ByteStream(b"ok"), headers=headers)

    async def story() -> list[tuple[str, str]]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(app)) as client:
            hop = await Relay("http://app.test/", client=client).forward((("x-a", "1"),), b"{}")
        return list(hop.headers)

    assert run(story()) == [("x-end-to-end", "kept")]


@pytest.mark.parametrize("option", ["--respond=503", "--delay=1"])
def test_respond_or_delay_with_forward_to_is_bad_input(option: str) -> None:
    result = CliRunner().invoke(main, ["listen", "--port", "0", "--forward-to", "http://127.0.0.1:9/app", option])
    assert result.exit_code == 2
    name = option.split("=")[0]
    assert result.stderr == (
        f"error: {name} and --forward-to exclude each other: with --forward-to your app answers; "
        f"drop {name}, or drop --forward-to to script the answers\n"
    )


def test_the_inspector_replays_a_relayed_request_to_the_app_and_shows_the_hop() -> None:
    app_records: list[Received] = []

    async def scenario() -> tuple[httpx.Response, list[dict[str, Any]]]:
        app = ReceiverApp(ReceiverSettings(secret=SECRET), app_records.append)
        async with asyncio.timeout(60), serving(app, bind("127.0.0.1", 0), log_level="critical") as where:
            settings = ListenSettings(
                receiver=ReceiverSettings(secret=SECRET),
                port=0,
                forward_to=where.url + "/app",
                inspect=True,
                inspect_port=0,
            )
            view = View()
            with Listener(settings, view, out=io.StringIO()) as listener:
                task = asyncio.create_task(listener.run(signals=False))
                await view.up.wait()
                started = view.where[0]
                assert started.inspector is not None
                async with httpx.AsyncClient(trust_env=False) as client:
                    assert (
                        await client.post(started.where.url + "/hooks", content=BODY, headers=signed())
                    ).status_code == 200
                    replayed = await client.post(
                        started.inspector.url + "/requests/1/replay",
                        json={"to": "app"},
                        headers={"x-connect-hooks-inspector": "1"},
                    )
                    download = await client.get(started.inspector.url + "/requests.ndjson")
                listener.stop("the test")
                await task
        return replayed, [json.loads(line) for line in download.text.splitlines()]

    replayed, records = run(scenario())
    assert replayed.json()["status"] == 200 and replayed.json()["to"] == "app"
    assert [(r.body, r.gtrid, r.attempt, r.signature.value) for r in app_records] == [
        (BODY, "g-relay", 1, "valid"),
        (BODY, "g-relay", 2, "valid"),  # the replay: the same bytes, gtrid and signature, straight to the app
    ]
    (record,) = records  # the replay went around the receiver: one request seen there
    assert record["forward"]["status"] == 200 and str(record["forward"]["url"]).endswith("/app")


async def raw_post(url: str, extra: bytes) -> bytes:
    """POST BODY to ``url`` over a plain socket, with raw header lines ``extra`` (httpx refuses to send obs-text)."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", parts.port)
    head = f"POST {parts.path} HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\nConnection: close\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in signed().items())
    writer.write(head.encode("ascii") + extra + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


def test_a_header_with_obs_text_is_relayed_byte_for_byte_and_logged(tmp_path: Path) -> None:
    log = tmp_path / "relay.ndjson"
    answer, app_records, _ = relaying(
        ReceiverSettings(secret=SECRET), lambda url: raw_post(url, b"X-Latin: caf\xe9\r\n"), log=log
    )
    assert answer.startswith(b"HTTP/1.1 200 ")  # the app's answer, not a 500
    # The app got the very byte 0xE9 (its receiver keeps header bytes as latin-1 text: one char per byte).
    assert [dict(r.headers)["x-latin"].encode("latin-1") for r in app_records] == [b"caf\xe9"]
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert (record["status"], record["headers"]["x-latin"]) == (200, "caf\N{LATIN SMALL LETTER E WITH ACUTE}")
    assert record["forward"]["status"] == 200


def test_a_relay_that_fails_is_a_502_and_a_record_never_a_500() -> None:
    records: list[Received] = []

    async def broken(headers: tuple[tuple[str, str], ...], body: bytes) -> Any:
        raise UnicodeEncodeError("ascii", "caf\xe9", 3, 4, "ordinal not in range(128)")

    async def story() -> httpx.Response:
        app = ReceiverApp(ReceiverSettings(), records.append, forward=broken)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            return await client.post("/hooks", content=BODY)

    answer = run(story())
    assert answer.status_code == 502
    assert answer.text == (
        "relay to the app: the relay failed (UnicodeEncodeError: 'ascii' codec can't encode "
        "character '\\xe9' in position 3: ordinal not in range(128))\n"
    )
    assert [(r.status, r.body) for r in records] == [(502, BODY)]


def test_errors_name_what_the_relay_sends_to() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async def story() -> str | None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(refused)) as client:
            hop = await Relay("http://127.0.0.1:9/", client=client, name="the receiver").forward((), b"{}")
        return hop.error

    assert run(story()) == "cannot reach the receiver (connection refused)"


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (httpx.RemoteProtocolError("illegal status line"), "bad HTTP answer: illegal status line"),
        (httpx.ReadError("connection reset"), "connection failed: connection reset"),
    ],
)
def test_the_relay_words_faults_as_every_sender_does(fault: Exception, said: str) -> None:
    """The relay's attempt is the senders' attempt: its faults carry the words send and conform use."""

    def failing(request: httpx.Request) -> httpx.Response:
        raise fault

    async def story() -> str | None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(failing)) as client:
            hop = await Relay("http://127.0.0.1:9/", client=client).forward((), b"{}")
        return hop.error

    assert run(story()) == f"cannot reach the app ({said})"
