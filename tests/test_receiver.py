"""The receiver app in-process, through httpx.ASGITransport: every answer it can give, and why."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from connect_hooks import sign
from connect_hooks.errors import BadInput
from connect_hooks.receiver import app as receiver
from connect_hooks.receiver.app import (
    MAX_BODY,
    Classification,
    Message,
    Received,
    ReceiverApp,
    ReceiverSettings,
    Script,
    Signature,
    classify,
    parse_respond,
)
from tests.support import run

SECRET = "hub-secret-for-tests"
RECEIPT = json.dumps(
    {
        "deliveryInfoNotification": {
            "deliveryInfo": {"deliveryChannel": "SMS", "deliveryStatus": "Delivered", "code": "7500"},
            "transid": "7f3af32c-8d6a-4c1e-b1c8-4805135ada71",
        }
    },
    separators=(",", ":"),
).encode()
INBOUND = b'{"userId":"8765","Channel":"SMS","oa":"447700900123","message":"hi","tid":"t-1"}'
FIXED_TIME = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


class Harness:
    """An app with a recording observer, an injected clock and an injected sleep."""

    def __init__(self, settings: ReceiverSettings, sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.records: list[Received] = []
        self.slept: list[float] = []

        async def record_sleep(seconds: float) -> None:
            self.slept.append(seconds)

        self.app = ReceiverApp(settings, self.records.append, sleep=sleep or record_sleep, clock=lambda: FIXED_TIME)

    async def request(self, method: str, path: str = "/hooks", **kwargs: Any) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://receiver.test") as client:
            return await client.request(method, path, **kwargs)

    def post(self, body: bytes, *, gtrid: str | None = "g-1", path: str = "/hooks", **headers: str) -> httpx.Response:
        sent = {"content-type": "application/json", **{k.replace("_", "-"): v for k, v in headers.items()}}
        if gtrid is not None:
            sent["x-wx-gtrid"] = gtrid
        return run(self.request("POST", path, content=body, headers=sent))

    @property
    def last(self) -> Received:
        return self.records[-1]


def signed(body: bytes, secret: str = SECRET, algorithm: str = "sha256", style: str = "prefixed") -> str:
    return sign(body, secret, algorithm, style)


# ------------------------------------------------------------------------------------------ methods


def test_head_answers_200_with_no_body() -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    response = run(h.request("HEAD", "/anything"))
    assert (response.status_code, response.content) == (200, b"")
    assert (h.last.method, h.last.path, h.last.status, h.last.attempt) == ("HEAD", "/anything", 200, None)


def test_other_methods_answer_405_and_name_the_allowed_ones() -> None:
    h = Harness(ReceiverSettings())
    methods = ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"]
    answers = [run(h.request(method)) for method in methods]
    assert [(r.status_code, r.headers["allow"]) for r in answers] == [(405, "HEAD, POST")] * len(methods)
    assert [(r.method, r.status, r.reason) for r in h.records] == [
        (m, 405, f"{m} is not how Webex Connect delivers: only POST (and HEAD)") for m in methods
    ]


# ------------------------------------------------------------------------------- accepted deliveries


def test_post_without_a_secret_is_accepted_unchecked_and_recognised() -> None:
    h = Harness(ReceiverSettings())
    response = h.post(RECEIPT, x_hub_signature="sha256=" + "0" * 64)
    assert response.status_code == 200
    record = h.last
    assert record.signature is Signature.UNCHECKED
    assert record.algorithm == "sha256"
    assert record.classification == Classification("receipt", "SMS", "Delivered")
    assert (record.gtrid, record.attempt, record.body, record.size) == ("g-1", 1, RECEIPT, len(RECEIPT))
    assert record.reason == "accepted"


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
@pytest.mark.parametrize("style", ["prefixed", "bare"])
def test_a_valid_signature_of_either_algorithm_and_style_is_accepted(algorithm: str, style: str) -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    response = h.post(INBOUND, x_hub_signature=signed(INBOUND, algorithm=algorithm, style=style))
    assert response.status_code == 200
    assert (h.last.signature, h.last.algorithm) == (Signature.VALID, algorithm)
    assert h.last.classification == Classification("inbound", "SMS", "MO")


def _spelled(header: str, how: str) -> str:
    digest = header.removeprefix("sha256=")
    return {
        "as Webex Connect sends it": header,
        "upper-case hex": "sha256=" + digest.upper(),
        "upper-case algorithm": "SHA256=" + digest,
        "spaces around": f"  sha256 = {digest} ",
        "bare": digest,
    }[how]


@pytest.mark.parametrize(
    "how", ["as Webex Connect sends it", "upper-case hex", "upper-case algorithm", "spaces around", "bare"]
)
def test_every_spelling_of_a_valid_sha256_signature_verifies_the_same(how: str) -> None:
    # the usual spelling is compared whole, without parsing; the others are parsed: one verdict for all
    h = Harness(ReceiverSettings(secret=SECRET))
    assert h.post(RECEIPT, x_hub_signature=_spelled(signed(RECEIPT), how)).status_code == 200
    assert (h.last.signature, h.last.algorithm, h.last.reason) == (Signature.VALID, "sha256", "accepted")


def test_a_signature_with_bytes_beyond_ascii_is_malformed_not_an_error() -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    header = ("sha256=" + "\xe9" * 64).encode("latin-1")
    response = run(h.request("POST", "/hooks", content=RECEIPT, headers={"x-hub-signature": header}))
    assert response.status_code == 401
    assert h.last.signature is Signature.MALFORMED


def _asgi_post(app: ReceiverApp, headers: list[tuple[bytes, bytes]], body: bytes) -> list[Message]:
    """One POST straight through the ASGI interface, headers exactly as given; the messages sent back."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/hooks", "headers": headers}
    run(app(scope, receive, send))
    return sent


def test_header_names_are_matched_whatever_their_case_and_few_are_kept() -> None:
    # ASGI servers lower-case header names; the receiver does not count on it. Names are decoded once
    # and kept, but only so many: a sender can make up any number.
    h = Harness(ReceiverSettings(secret=SECRET))
    made_up = [(f"X-Made-Up-{n}".encode(), b"1") for n in range(2 * receiver.NAMES_KEPT)]
    signature = signed(RECEIPT).encode()
    sent = _asgi_post(h.app, [(b"X-Hub-Signature", signature), (b"X-WX-GTRID", b"g-7"), *made_up], RECEIPT)
    assert sent[0]["status"] == 200
    assert (h.last.signature, h.last.gtrid) == (Signature.VALID, "g-7")
    assert h.last.headers[:3] == (("x-hub-signature", signature.decode()), ("x-wx-gtrid", "g-7"), ("x-made-up-0", "1"))
    assert len(receiver._NAMES) <= receiver.NAMES_KEPT


def test_a_header_given_twice_is_looked_up_by_its_first_value_and_joined_in_json() -> None:
    h = Harness(ReceiverSettings())
    headers = [(b"x-wx-gtrid", b"first"), (b"x-note", b"a"), (b"x-wx-gtrid", b"second"), (b"x-note", b"b")]
    assert _asgi_post(h.app, headers, RECEIPT)[0]["status"] == 200
    assert (h.last.gtrid, h.last.as_dict()["headers"]) == ("first", {"x-wx-gtrid": "first, second", "x-note": "a, b"})


# ------------------------------------------------------------------------------------------- refusals


def test_a_missing_signature_with_a_secret_set_is_401() -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    response = h.post(RECEIPT)
    assert response.status_code == 401
    assert response.text == "no x-hub-signature header, but a hub secret is set\n"
    assert h.last.signature is Signature.MISSING


def test_a_forged_signature_is_401_saying_why() -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    response = h.post(RECEIPT, x_hub_signature=signed(RECEIPT, secret="not-the-secret"))
    assert response.status_code == 401
    assert h.last.signature is Signature.MISMATCH
    assert h.last.reason == (
        "x-hub-signature does not verify (sha256): wrong hub secret, or the body is not the one signed"
    )


def test_a_malformed_signature_is_401_saying_what_is_expected() -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    response = h.post(RECEIPT, x_hub_signature="sha1=abcdef")
    assert response.status_code == 401
    assert h.last.signature is Signature.MALFORMED
    assert h.last.reason == (
        "x-hub-signature is malformed: expected sha256=<64 hex>, sha512=<128 hex> or the bare hex digest"
    )


def test_a_signature_of_the_compact_body_over_a_pretty_one_is_401_with_the_diagnosis() -> None:
    pretty = json.dumps(json.loads(RECEIPT), indent=2).encode()
    h = Harness(ReceiverSettings(secret=SECRET))
    response = h.post(pretty, x_hub_signature=signed(RECEIPT))
    assert response.status_code == 401
    assert h.last.reason == (
        "x-hub-signature does not verify; it matches with "
        "the body re-serialized as compact JSON (how Webex Connect sends it)"
    )


def test_a_body_that_is_not_json_is_400() -> None:
    h = Harness(ReceiverSettings())
    response = h.post(b"hello")
    assert response.status_code == 400
    assert response.text.startswith("the body is not JSON (Expecting value")
    assert h.last.classification is None


def test_json_the_standard_library_reads_is_json_here_too() -> None:
    """orjson reads the usual body; what it is too strict for, the standard library still reads."""
    h = Harness(ReceiverSettings())
    for body in (
        '{"channel":"SMS"}'.encode("utf-16"),
        b'{"channel":"SMS","rate":NaN}',
        b'\xef\xbb\xbf{"channel":"SMS"}',
    ):
        assert h.post(body).status_code == 200, body
        assert h.last.classification == Classification("inbound", "SMS", "MO")


def test_the_signature_is_judged_before_the_json() -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    assert h.post(b"hello", x_hub_signature=signed(b"other")).status_code == 401
    assert h.post(b"hello", x_hub_signature=signed(b"hello")).status_code == 400


def test_a_declared_length_over_one_mib_is_413_before_reading() -> None:
    h = Harness(ReceiverSettings())
    body = b'"' + b"a" * MAX_BODY + b'"'
    response = h.post(body)
    assert response.status_code == 413
    assert h.last.size == len(body)
    assert h.last.body == b""
    assert h.last.attempt is None


def test_exactly_one_mib_is_accepted() -> None:
    h = Harness(ReceiverSettings())
    body = b'"' + b"a" * (MAX_BODY - 2) + b'"'
    assert h.post(body).status_code == 200


def test_a_streamed_body_without_length_is_cut_at_one_mib_with_413() -> None:
    h = Harness(ReceiverSettings())

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536  # 1.25 MiB in all

    response = run(h.request("POST", content=chunks(), headers={"x-wx-gtrid": "big"}))
    assert response.status_code == 413
    assert "content-length" not in dict(h.last.headers)
    assert h.last.size > MAX_BODY
    assert h.last.reason == f"the body is over {MAX_BODY} bytes ({h.last.size} bytes or more)"


# ----------------------------------------------------------------------------------- scripted answers


def test_respond_script_is_counted_per_gtrid_and_the_last_code_repeats() -> None:
    h = Harness(ReceiverSettings(script=Script((503, 503, 200))))
    seen = [(gtrid, h.post(RECEIPT, gtrid=gtrid).status_code) for gtrid in ["a", "a", "b", "a", "a", "b", "b"]]
    assert seen == [("a", 503), ("a", 503), ("b", 503), ("a", 200), ("a", 200), ("b", 503), ("b", 200)]
    assert [r.attempt for r in h.records] == [1, 2, 1, 3, 4, 2, 3]
    assert h.records[0].reason == "scripted: delivery 1 gets 503"


def test_without_a_gtrid_a_notification_is_told_by_its_exact_bytes() -> None:
    h = Harness(ReceiverSettings(script=Script((500, 200))))
    statuses = [h.post(body, gtrid=None).status_code for body in (RECEIPT, RECEIPT, INBOUND)]
    assert statuses == [500, 200, 500]
    assert [r.gtrid for r in h.records] == [None, None, None]


def test_paths_can_have_their_own_scripts() -> None:
    settings = ReceiverSettings(script=Script((200,)), paths=(("/gone", Script((404,))),))
    h = Harness(settings)
    assert h.post(RECEIPT, path="/gone").status_code == 404
    assert h.post(RECEIPT, path="/gone/deeper", gtrid="g-2").status_code == 200


def test_refusals_still_count_as_deliveries_of_the_gtrid() -> None:
    h = Harness(ReceiverSettings(secret=SECRET, script=Script((503, 200))))
    assert h.post(RECEIPT, x_hub_signature="sha256=" + "0" * 64).status_code == 401
    assert h.post(RECEIPT, x_hub_signature=signed(RECEIPT)).status_code == 200
    assert [r.attempt for r in h.records] == [1, 2]


def test_delay_stalls_before_answering_through_the_injected_sleep() -> None:
    h = Harness(ReceiverSettings(script=Script((200,), delay=12.0)))
    assert h.post(RECEIPT).status_code == 200
    assert h.slept == [12.0]
    assert h.post(b"not json").status_code == 400
    assert h.slept == [12.0, 12.0]


# ------------------------------------------------------------------- raw ASGI: hang-ups and stopping


class RawExchange:
    """Drive the app with hand-made ASGI messages: what a real server would do."""

    def __init__(self, body: bytes, hang_up: asyncio.Event) -> None:
        self.messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        self.hang_up = hang_up
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        await self.hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


def scope(method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": "/hooks",
        "headers": headers or [(b"x-wx-gtrid", b"g-9")],
    }


def test_a_sender_hanging_up_during_the_delay_is_recorded_unanswered() -> None:
    async def scenario() -> tuple[list[Received], list[Message]]:
        records: list[Received] = []
        never = asyncio.Event()
        hang_up = asyncio.Event()

        async def forever(seconds: float) -> None:
            await never.wait()

        app = ReceiverApp(ReceiverSettings(script=Script((503,), delay=30)), records.append, sleep=forever)
        exchange = RawExchange(RECEIPT, hang_up)
        call = asyncio.create_task(app(scope(), exchange.receive, exchange.send))
        await asyncio.sleep(0)
        hang_up.set()
        await call
        return records, exchange.sent

    records, sent = run(scenario())
    assert sent == []
    assert records[0].status is None
    assert records[0].reason == "the sender hung up during the 30 s delay (it would have got 503)"


def test_stopping_the_app_ends_pending_delays_unanswered() -> None:
    async def scenario() -> list[Received]:
        records: list[Received] = []
        never = asyncio.Event()

        async def forever(seconds: float) -> None:
            await never.wait()

        app = ReceiverApp(ReceiverSettings(script=Script((200,), delay=30)), records.append, sleep=forever)
        exchange = RawExchange(RECEIPT, asyncio.Event())
        call = asyncio.create_task(app(scope(), exchange.receive, exchange.send))
        await asyncio.sleep(0)
        app.stop()
        await call
        return records

    records = run(scenario())
    assert (records[0].status, records[0].reason) == (
        None,
        "the receiver stopped during the delay (it would have got 200)",
    )


def test_a_sender_hanging_up_while_sending_the_body_is_recorded() -> None:
    async def scenario() -> list[Received]:
        records: list[Received] = []
        app = ReceiverApp(ReceiverSettings(), records.append)
        exchange = RawExchange(b"", asyncio.Event())
        exchange.messages = [
            {"type": "http.request", "body": b"{", "more_body": True},
            {"type": "http.disconnect"},
        ]
        await app(scope(), exchange.receive, exchange.send)
        assert exchange.sent == []
        return records

    records = run(scenario())
    assert (records[0].status, records[0].reason) == (None, "the sender hung up while sending the body")


def test_non_http_scopes_are_ignored() -> None:
    async def scenario() -> None:
        async def receive() -> Message:
            raise AssertionError("nothing should be read")

        async def send(message: Message) -> None:
            raise AssertionError("nothing should be sent")

        await ReceiverApp(ReceiverSettings())({"type": "websocket"}, receive, send)

    run(scenario())


# ------------------------------------------------------------------------------------------ records


def test_records_serialise_for_the_log_and_never_carry_the_secret() -> None:
    h = Harness(ReceiverSettings(secret=SECRET))
    h.post(RECEIPT, x_hub_signature=signed(RECEIPT))
    h.post(b"\xff\xfe not utf-8", x_hub_signature=signed(b"\xff\xfe not utf-8"))
    h.post(RECEIPT, x_hub_signature=signed(RECEIPT, secret=SECRET + "\n"))
    documents = [r.as_dict() for r in h.records]
    text = json.dumps(documents)
    assert SECRET not in text
    first = documents[0]
    assert first["time"] == "2026-01-15T09:30:00.000+00:00"
    assert (first["method"], first["path"], first["status"], first["signature"]) == (
        "POST",
        "/hooks",
        200,
        "valid",
    )
    assert first["body"] == RECEIPT.decode()
    assert first["headers"]["x-wx-gtrid"] == "g-1"
    assert (first["kind"], first["channel"], first["what"]) == ("receipt", "SMS", "Delivered")
    assert (documents[1]["body"], documents[1]["body_base64"]) == (None, "//4gbm90IHV0Zi04")
    assert documents[2]["reason"] == (
        "x-hub-signature does not verify; it matches with the secret with a trailing newline"
    )


# --------------------------------------------------------------------------------- classify, respond


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (json.loads(RECEIPT), ("receipt", "SMS", "Delivered")),
        (
            {"deliveryInfoNotification": {"deliveryInfo": {"deliveryChannel": "whatsapp"}}},
            ("receipt", "whatsapp", None),
        ),
        ({"deliveryInfoNotification": "odd"}, ("unknown", None, None)),
        (json.loads(INBOUND), ("inbound", "SMS", "MO")),
        ({"channel": "WhatsApp", "event": "postback"}, ("inbound", "WhatsApp", "postback")),
        ({"channel": "Email", "event": "Inbound Message"}, ("inbound", "Email", "Inbound Message")),
        ({"channel": 3}, ("unknown", None, None)),
        ({"hello": "world"}, ("unknown", None, None)),
        ([1, 2], ("unknown", None, None)),
        (None, ("unknown", None, None)),
    ],
)
def test_classify(payload: Any, expected: tuple[str, str | None, str | None]) -> None:
    assert classify(payload) == Classification(*expected)


def test_classification_labels() -> None:
    assert Classification("receipt", "SMS", "Delivered").label == "receipt SMS Delivered"
    assert Classification("receipt", None, None).label == "receipt"
    assert Classification("unknown", None, None).label == "JSON, not a Webex Connect notification"


def test_parse_respond() -> None:
    assert parse_respond("503, 503,200") == (503, 503, 200)
    assert parse_respond("404") == (404,)


@pytest.mark.parametrize("text", ["", "200,", "abc", "99", "600", "1e3", "-200", "200;503"])
def test_parse_respond_refuses_anything_but_statuses(text: str) -> None:
    with pytest.raises(BadInput, match="write it like --respond 503,503,200"):
        parse_respond(text)


def test_script_codes() -> None:
    script = Script((503, 404, 200))
    assert [script.code_for(n) for n in range(1, 6)] == [503, 404, 200, 200, 200]
    assert script.describe() == "answers 503, 404, 200 (the last one repeats)"
    assert Script((200,), delay=12).describe() == "answers 200, after 12 s"
