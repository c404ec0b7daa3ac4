"""One notification builder and one signing-settings check, shared by send, replay, conform and the plugin."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from connect_hooks import signing
from connect_hooks.conform.conformance import ConformSettings, run_conformance
from connect_hooks.errors import BadInput
from connect_hooks.sender.delivery import USER_AGENT, build_notification
from connect_hooks.sender.replay import ReplaySettings, prepare_replay
from connect_hooks.sender.sending import SendSettings, check_send
from connect_hooks.testing.webex_connect import Defaults

BODY = b'{"a":1}'


def send_check(algorithm: str) -> None:
    check_send(SendSettings(url="https://r.test/", targets=("receipt/sms/delivered",), secret="s", algorithm=algorithm))


def replay_check(algorithm: str) -> None:
    prepare_replay(ReplaySettings(log="-", secret="s", algorithm=algorithm), stdin=bytes)


def conform_check(algorithm: str) -> None:
    async def go() -> None:
        async with httpx.AsyncClient() as client:
            await run_conformance(
                ConformSettings(url="https://r.test/", secret="s", algorithm=algorithm), client=client
            )

    asyncio.run(go())


def plugin_check(algorithm: str) -> None:
    Defaults(secret="s", algorithm=algorithm)


@pytest.mark.parametrize("checked", [send_check, replay_check, conform_check, plugin_check])
def test_every_sender_refuses_an_unknown_algorithm_in_the_same_words(checked: Callable[[str], None]) -> None:
    with pytest.raises(BadInput) as caught:
        checked("sha1")
    assert str(caught.value) == "unknown algorithm 'sha1': use sha256 or sha512"


def test_the_check_names_what_to_give_for_an_empty_secret() -> None:
    with pytest.raises(BadInput, match=r"^the hub secret is empty: give a non-empty --secret"):
        signing.check_settings("", "sha256")
    with pytest.raises(BadInput, match="must be a str"):
        signing.check_settings(b"bytes", "sha256")
    signing.check_settings(None, "sha512")  # unsigned is fine


def test_a_notification_carries_webex_connects_headers_its_signature_and_the_users_headers_last() -> None:
    made = build_notification(
        "t", BODY, secret="s3cret", algorithm="sha512", headers=[("user-agent", "mine"), ("X-Extra", "1")], gtrid="g"
    )
    assert made.headers == (
        ("Content-Type", "application/json"),
        ("user-agent", "mine"),  # replaced in place: the user's header wins
        ("x-wx-gtrid", "g"),
        ("x-hub-signature", "sha512=" + signing.digest(BODY, "s3cret", "sha512")),
        ("X-Extra", "1"),
    )
    assert made.algorithm == "sha512"
    assert USER_AGENT.startswith("connect-hooks/")


def test_a_recorded_set_of_headers_keeps_its_signature_unless_signed_again() -> None:
    recorded = [("X-Hub-Signature", "sha256=" + "0" * 64), ("x-wx-gtrid", "old"), ("Content-Type", "application/json")]
    kept = build_notification("t", BODY, base=recorded, gtrid="old")
    assert kept.headers == tuple(recorded) and kept.algorithm == "sha256"
    again = build_notification("t", BODY, base=recorded, secret="s", style="bare")
    assert again.headers[0] == ("X-Hub-Signature", signing.digest(BODY, "s"))
    assert again.gtrid != "old" and dict(again.headers)["x-wx-gtrid"] == again.gtrid
