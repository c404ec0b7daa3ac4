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
