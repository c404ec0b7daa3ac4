"""The inspector app in-process: what reaches the page (never a credential), who may ask, and the download format."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from connect_hooks.logfile import NdjsonLog
from connect_hooks.receiver.app import Classification, Received, Signature
from connect_hooks.receiver.inspector import Inspector, redact
from connect_hooks.receiver.listening import log_record
from tests.support import run

TIME = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
BASIC = "Basic dXNlcjpzM2NyZXQtcGFzcw=="  # user:s3cret-pass


def received(gtrid: str, *, authorization: str | None = None, status: int = 200) -> Received:
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"), ("x-wx-gtrid", gtrid))
    if authorization is not None:
        headers += (("authorization", authorization),)
    return Received(
        time=TIME,
        method="POST",
        path="/hooks",
        headers=headers,
        body=b'{"a": "caf\xc3\xa9"}',
        size=14,
        gtrid=gtrid,
        attempt=1,
        classification=Classification("receipt", "SMS", "Delivered"),
        signature=Signature.VALID,
        algorithm="sha256",
        status=status,
        reason="accepted",
    )


def get(app: Inspector, path: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:4040") as client:
            return await client.get(path, headers=headers)

    return run(go())


def post(app: Inspector, path: str, document: dict[str, Any], **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:4040") as client:
            return await client.post(path, json=document, headers=headers)

    return run(go())


def events(response: httpx.Response) -> list[tuple[str | None, str | None, Any]]:
    """(event, id, data) per server-sent event."""
    out = []
    for block in response.text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields.get("event"), fields.get("id"), json.loads(fields["data"])))
    return out


def test_the_event_stream_sends_hello_then_the_kept_records_after_last_event_id() -> None:
    app = Inspector()
    app.config = {"receiver": "http://127.0.0.1:8787", "forward_to": None, "verifies": True}
    for gtrid in ("g-1", "g-2", "g-3"):
        app.observe(received(gtrid))
    app.stop()  # the stream ends after what is kept (ASGITransport waits for the end)
    answer = get(app, "/events", **{"last-event-id": f"{app.run}-1"})
    assert answer.headers["content-type"] == "text/event-stream; charset=utf-8"
    sent = events(answer)
    assert sent[0] == ("hello", None, {**app.config, "run": app.run})
    assert [(event_id, data["gtrid"], data["label"], data["body"]) for _, event_id, data in sent[1:]] == [
        (f"{app.run}-2", "g-2", "receipt SMS Delivered", '{"a": "café"}'),
        (f"{app.run}-3", "g-3", "receipt SMS Delivered", '{"a": "café"}'),
    ]
    # A page left open while listen restarted resumes from another run's id: it gets everything.
    assert [data["gtrid"] for _, _, data in events(get(app, "/events", **{"last-event-id": "0000-2"}))[1:]] == [
        "g-1",
        "g-2",
        "g-3",
    ]


def test_credentials_never_reach_the_page_nor_the_download() -> None:
    app = Inspector()
    app.observe(received("g-1", authorization=BASIC))
    app.observe(received("g-2", authorization="Bearer eyJhbGciOi.secret-token"))
    app.stop()
    streamed, download = get(app, "/events").text, get(app, "/requests.ndjson").text
    for text in (streamed, download):
        assert "dXNlcjpzM2NyZXQtcGFzcw" not in text and "secret-token" not in text
    assert [json.loads(line)["headers"]["authorization"] for line in download.splitlines()] == [
        "Basic [redacted]",
        "Bearer [redacted]",
    ]
    assert redact({"Cookie": "session=1", "X-Api-Key": "k", "x-other": "v"}) == {
        "Cookie": "[redacted]",
        "X-Api-Key": "[redacted]",
        "x-other": "v",
    }


def test_the_download_is_the_listen_log_format(tmp_path: Path) -> None:
    records = [received("g-1"), received("g-2", status=503)]
    app = Inspector()
    with NdjsonLog(tmp_path / "listen.ndjson") as log:
        for record in records:
            app.observe(record)
            log.write(log_record(record))
    answer = get(app, "/requests.ndjson")
    assert answer.headers["content-disposition"] == 'attachment; filename="listen.ndjson"'
    assert answer.text == (tmp_path / "listen.ndjson").read_text()


def test_kept_records_are_bounded_in_number_and_in_bytes() -> None:
    app = Inspector(kept=2)
    for gtrid in ("g-1", "g-2", "g-3"):
        app.observe(received(gtrid))
    assert [json.loads(line)["gtrid"] for line in get(app, "/requests.ndjson").text.splitlines()] == ["g-2", "g-3"]
    app = Inspector(kept_bytes=30)  # each body is 14 bytes: two fit
    for gtrid in ("g-1", "g-2", "g-3"):
        app.observe(received(gtrid))
    assert [entry.record.gtrid for entry in app.entries] == ["g-2", "g-3"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4040", "10.0.0.1:4040"])
def test_only_a_loopback_host_is_answered(host: str) -> None:
    answer = get(Inspector(), "/", host=host)
    assert answer.status_code == 421
    assert get(Inspector(), "/", host="localhost:4040").status_code == 200


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("evil.example", 421),  # DNS rebinding: a page of evil.example resolved its name to this machine
        ("evil.example:4040", 421),
        ("EVIL.example:4040", 421),
        ("", 421),
        ("mybox.lan:4040", 200),  # allowed by the user
        ("MyBox.LAN", 200),
        ("10.0.0.1:4040", 200),  # an address: no other site's page can make a browser send it as the Host
        ("[fd00::1]:4040", 200),
        ("localhost:4040", 200),
    ],
)
def test_widened_the_inspector_still_refuses_host_names_nobody_allowed(host: str, status: int) -> None:
    widened = Inspector(loopback_only=False, allowed_hosts=("mybox.lan",))
    assert get(widened, "/", host=host).status_code == status


def test_a_refused_host_is_told_how_to_get_in() -> None:
    answer = get(Inspector(loopback_only=False), "/", host="mybox.lan:4040")
    assert answer.text == (
        "the inspector answers only on an IP address or localhost: open it so, or start listen with --allow-host NAME\n"
    )


def test_the_page_and_its_assets_ship_with_a_strict_policy() -> None:
    app = Inspector()
    page = get(app, "/")
    assert page.status_code == 200 and "assets/inspector.js" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert get(app, "/assets/inspector.js").headers["content-type"] == "text/javascript; charset=utf-8"
    assert get(app, "/assets/inspector.css").status_code == 200
    assert get(app, "/assets/../inspector.py").status_code == 404


def test_a_replay_needs_the_page_header_and_an_existing_post() -> None:
    asked: list[tuple[str | None, str]] = []

    async def replayer(record: Received, to: str) -> dict[str, Any]:
        asked.append((record.gtrid, to))
        return {"to": to, "status": 200}

    app = Inspector()
    app.replayer = replayer
    app.config = {"forward_to": None}
    app.observe(received("g-1"))
    assert post(app, "/requests/1/replay", {"to": "receiver"}).status_code == 403  # a cross-site form
    page = {"x-connect-hooks-inspector": "1"}
    assert post(app, "/requests/9/replay", {"to": "receiver"}, **page).status_code == 404
    assert post(app, "/requests/1/replay", {"to": "app"}, **page).status_code == 400  # not relaying
    answer = post(app, "/requests/1/replay", {"to": "receiver"}, **page)
    assert answer.json() == {"to": "receiver", "status": 200}
    assert asked == [("g-1", "receiver")]
