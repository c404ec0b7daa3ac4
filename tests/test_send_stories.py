"""``send story/...``: every step of a message its own notification, at its offset, on the one engine."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from click.testing import CliRunner

from connect_hooks.catalogue import stories
from connect_hooks.cli.main import main
from tests.servers import ScriptedServer, Step

SECRET = "hub-secret-for-stories"


def send(script: list[Step], *args: str) -> tuple[int, list[dict[str, Any]], ScriptedServer, str]:
    with ScriptedServer(script=script) as server:
        result = CliRunner().invoke(main, ["send", *args, server.url, "--fast", "--json", "--secret", SECRET])
    documents = json.loads(result.stdout) if result.stdout else []
    return result.exit_code, documents, server, result.stderr


def receipt(body: bytes) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(body)["deliveryInfoNotification"]
    return info


def test_a_story_is_one_signed_notification_per_step_at_its_offset_sharing_the_message_id() -> None:
    code, records, server, _ = send([200], "story/whatsapp/read", "--concurrency", "1")
    assert code == 0
    steps = stories.get("story/whatsapp/read").steps
    assert [r["target"] for r in records] == [s.sample for s in steps]
    assert [r["attempts"][0]["scheduled_at"] for r in records] == [s.at for s in steps]
    posts = server.posts
    assert [receipt(p.body)["deliveryInfo"]["deliveryStatus"] for p in posts] == ["Submitted", "Delivered", "Read"]
    assert len({receipt(p.body)["transid"] for p in posts}) == 1  # one message
    assert len({p.headers["x-wx-gtrid"] for p in posts}) == 3  # three notifications
    for post in posts:
        expected = hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
        assert post.headers["x-hub-signature"] == f"sha256={expected}"


def test_a_refused_receipt_comes_back_after_the_next_one_as_webex_connect_would_send_it() -> None:
    # delivered (T+2) gets 503: its retry is due at T+62, after read (T+40): the receiver sees read first.
    code, records, server, _ = send([200, 503, 200, 200], "story/whatsapp/read", "--concurrency", "1")
    assert code == 0
    statuses = [receipt(p.body)["deliveryInfo"]["deliveryStatus"] for p in server.posts]
    assert statuses == ["Submitted", "Delivered", "Read", "Delivered"]
    delivered = next(r for r in records if r["target"] == "receipt/whatsapp/delivered")
    assert [a["scheduled_at"] for a in delivered["attempts"]] == [2, 62]
    assert len({p.headers["x-wx-gtrid"] for p in server.posts if b"Delivered" in p.body}) == 1  # a retry


def test_out_of_order_delivers_the_steps_last_first_with_the_same_gaps() -> None:
    code, records, server, _ = send([200], "story/whatsapp/read", "--out-of-order", "--concurrency", "1")
    assert code == 0
    offsets = [s.at for s in stories.get("story/whatsapp/read").steps]
    assert [r["attempts"][0]["scheduled_at"] for r in records] == [offsets[-1] - at for at in reversed(offsets)]
    statuses = [receipt(p.body)["deliveryInfo"]["deliveryStatus"] for p in server.posts]
    assert statuses == ["Read", "Delivered", "Submitted"]
    # the payloads still tell the story's own time: read is the latest
    stamps = [receipt(p.body)["deliveryInfo"]["timeStamp"] for p in server.posts]
    assert stamps == sorted(stamps, reverse=True)


def test_count_plays_that_many_messages_interleaved_each_with_its_own_ids() -> None:
    code, _, server, _ = send([200], "story/sms/delivered", "--count", "3", "--concurrency", "1")
    assert code == 0
    statuses = [receipt(p.body)["deliveryInfo"]["deliveryStatus"] for p in server.posts]
    assert statuses == ["Submitted"] * 3 + ["Delivered"] * 3  # every message submitted before any delivered
    by_message: dict[str, list[str]] = {}
    for post in server.posts:
        info = receipt(post.body)
        by_message.setdefault(info["transid"], []).append(info["deliveryInfo"]["deliveryStatus"])
    assert sorted(by_message.values()) == [["Submitted", "Delivered"]] * 3


def test_a_seed_replays_the_same_messages() -> None:
    first = send([200], "story/email/clicked", "--seed", "7", "--concurrency", "1")[2]
    again = send([200], "story/email/clicked", "--seed", "7", "--concurrency", "1")[2]
    assert [p.body for p in first.posts] == [p.body for p in again.posts]
    assert [p.body for p in first.posts] == [s.body for s in stories.render("story/email/clicked", seed=7 * 1_000_003)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["receipt/sms/delivered", "--out-of-order"], "--out-of-order reverses a story's steps: give a story target"),
        (["story/sms/delivered", "--set", "a=b"], "--set changes samples only: a story's steps carry their own"),
        (["story/sms/delivred"], "no story named 'story/sms/delivred': did you mean story/sms/delivered"),
    ],
)
def test_bad_story_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, _, server, err = send([200], *args)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert server.requests == []


# ------------------------------------------------------------------------------- the pytest plugin's send


def receipts_app(seen: list[dict[str, Any]], refuse_read_before_delivered: bool = False) -> Any:
    """A Flask receiver storing receipts; optionally one that 500s on "read" before "delivered" (the bug)."""
    from flask import Flask, request

    app = Flask("receipts")

    @app.post("/hooks")
    def hooks() -> tuple[str, int]:
        info = receipt(request.get_data())
        status = info["deliveryInfo"]["deliveryStatus"]
        known = {s["deliveryInfo"]["deliveryStatus"] for s in seen if s["transid"] == info["transid"]}
        seen.append(info)
        if refuse_read_before_delivered and status == "Read" and "Delivered" not in known:
            return "read before delivered", 500
        return "", 200

    return app


def test_webex_connect_send_of_a_story_returns_every_steps_record_in_story_order() -> None:
    from connect_hooks.testing.webex_connect import Defaults, WebexConnect

    seen: list[dict[str, Any]] = []
    connect = WebexConnect(Defaults(secret=SECRET))
    records = connect.send("story/whatsapp/read", app=receipts_app(seen), path="/hooks")
    assert [r.target for r in records] == [s.sample for s in stories.get("story/whatsapp/read").steps]
    assert [r.outcome for r in records] == ["delivered"] * 3
    assert [s["deliveryInfo"]["deliveryStatus"] for s in seen] == ["Submitted", "Delivered", "Read"]
    assert len({s["transid"] for s in seen}) == 1
    assert list(connect.deliveries) == sorted(records, key=lambda r: r.attempts[0].scheduled_at)


def test_out_of_order_finds_the_receiver_that_needs_delivered_before_read() -> None:
    from connect_hooks.testing.webex_connect import Defaults, WebexConnect

    seen: list[dict[str, Any]] = []
    records = WebexConnect(Defaults(secret=SECRET)).send(
        "story/whatsapp/read", app=receipts_app(seen, True), path="/hooks", out_of_order=True, retries=0
    )
    assert [r.outcome for r in records] == ["delivered", "delivered", "dropped"]  # read: 500, no retry left
    assert [s["deliveryInfo"]["deliveryStatus"] for s in seen] == ["Read", "Delivered", "Submitted"]


def test_the_plugins_story_names_are_the_catalogues() -> None:
    from typing import get_args

    from connect_hooks.testing.webex_connect import StoryName

    assert get_args(StoryName) == stories.names()
