"""The sample catalogue: every template checked against the documented shapes, and rendering."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from connect_hooks import catalogue
from connect_hooks.errors import BadInput

NAMES = catalogue.names()
RECEIPTS = [n for n in NAMES if n.startswith("receipt/")]
INBOUND = [n for n in NAMES if n.startswith("inbound/")]
CHANNELS = ("sms", "mms", "rcs", "whatsapp", "messenger", "email", "push", "rtm", "apple", "voice")
GOLDEN = Path(__file__).parent / "golden"

REQUIRED = {
    "receipt": {
        "sms": "submitted delivered undelivered failed clicked",
        "mms": "submitted delivered failed",
        "rcs": "submitted delivered read failed",
        "whatsapp": "submitted delivered read failed",
        "messenger": "submitted delivered read failed",
        "email": "submitted delivered read clicked bounced complaint not-verified failed",
        "push": "submitted delivered read failed",
        "rtm": "submitted delivered read failed clicked",
        "apple": "submitted failed",
        "voice": "answered released",
    },
    "inbound": {
        "sms": "mo",
        "mms": "mo",
        "rcs": "mo postback location",
        "whatsapp": "mo image postback list reply user-preference",
        "apple": "mo interactive-response",
        "messenger": "mo postback",
        "email": "inbound",
        "rtm": "mo profile-create form-response postback typing",
    },
}
REQUIRED_NAMES = sorted(
    f"{kind}/{channel}/{event}"
    for kind, channels in REQUIRED.items()
    for channel, events in channels.items()
    for event in events.split()
)

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def at(document: Any, dotted: str) -> Any:
    node = document
    for key in dotted.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


# ------------------------------------------------------------------------------------ the files


def test_the_catalogue_has_at_least_fifty_samples() -> None:
    assert len(NAMES) >= 50


@pytest.mark.parametrize("name", REQUIRED_NAMES)
def test_every_sample_the_issue_lists_is_there(name: str) -> None:
    assert name in NAMES


def test_every_channel_has_receipts() -> None:
    assert {catalogue.get(n).channel for n in RECEIPTS} == set(CHANNELS)
    assert {catalogue.get(n).channel for n in INBOUND} <= set(CHANNELS)


@pytest.mark.parametrize("name", NAMES)
def test_names_are_lowercase_hyphenated_kind_channel_event(name: str) -> None:
    kinds, channels = "receipt|inbound", "|".join(CHANNELS)
    assert re.fullmatch(rf"({kinds})/({channels})/[a-z0-9]+(-[a-z0-9]+)*", name)


@pytest.mark.parametrize("name", NAMES)
def test_template_files_are_clean_json_with_description_generated_payload(name: str) -> None:
    text = (catalogue.samples_root() / f"{name}.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    assert list(raw) == ["description", "generated", "payload"]
    assert text == json.dumps(raw, indent=2, ensure_ascii=False) + "\n"
    description = raw["description"]
    assert description.strip() == description and description and "\n" not in description
    assert isinstance(raw["payload"], dict)


@pytest.mark.parametrize("name", NAMES)
def test_generated_fields_exist_and_use_known_generators(name: str) -> None:
    template = catalogue.get(name)
    assert template.generated, "every sample has fresh ids and times"
    for path, generator in template.generated:
        assert generator in catalogue.GENERATORS
        assert isinstance(at(template.payload, path), str)


@pytest.mark.parametrize("name", NAMES)
def test_ids_and_times_are_the_generated_fields(name: str) -> None:
    template = catalogue.get(name)
    generated = dict(template.generated)
    if template.kind == "receipt":
        expected_id, expected_time = (
            "deliveryInfoNotification.transid",
            "deliveryInfoNotification.deliveryInfo.timeStamp",
        )
    else:
        expected_id, expected_time = "tid", "ts"
    assert generated[expected_id] == ("uuid_0" if template.channel == "whatsapp" else "uuid")
    assert generated[expected_time] in ("timestamp", "timestamp-utc")


def test_every_documented_generator_makes_strings_and_no_other_exists() -> None:
    gen = catalogue.Generators(seed=1, name="x")
    for generator in catalogue.GENERATORS:
        assert isinstance(gen.lookup(generator)(), str)
    assert gen.lookup("uuid_0")().endswith("_0")
    with pytest.raises(ValueError, match="unknown generator 'counter'"):
        gen.lookup("counter")


# ----------------------------------------------------------------------------- every rendering


@pytest.mark.parametrize("name", NAMES)
def test_renders_to_valid_compact_json(name: str) -> None:
    body = catalogue.render(name)
    document = json.loads(body)
    assert body == json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_two_unseeded_renders_differ_in_their_ids(name: str) -> None:
    first, second = json.loads(catalogue.render(name)), json.loads(catalogue.render(name))
    template = catalogue.get(name)
    ids = [path for path, generator in template.generated if generator.startswith("uuid")]
    assert ids
    for path in ids:
        value = at(first, path)
        assert UUID4.match(value.removesuffix("_0"))
        assert value != at(second, path)


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_bytes(name: str) -> None:
    assert catalogue.render(name, seed=7) == catalogue.render(name, seed=7)
    assert catalogue.render(name, seed=7) != catalogue.render(name, seed=8)


@pytest.mark.parametrize("name", NAMES)
def test_timestamps_are_iso8601_with_milliseconds_and_an_offset(name: str) -> None:
    template = catalogue.get(name)
    document = json.loads(catalogue.render(name))
    for path, generator in template.generated:
        if generator.startswith("timestamp"):
            assert ISO_MS.match(at(document, path)), at(document, path)


def test_unseeded_timestamps_are_now() -> None:
    before = dt.datetime.now(dt.UTC)
    stamp = json.loads(catalogue.render("receipt/sms/delivered"))["deliveryInfoNotification"]["deliveryInfo"]
    after = dt.datetime.now(dt.UTC)
    when = dt.datetime.fromisoformat(stamp["timeStamp"])
    assert before - dt.timedelta(milliseconds=1) <= when <= after


def test_seeded_renders_use_the_fixed_instant() -> None:
    document = json.loads(catalogue.render("inbound/sms/mo", seed=1))
    assert document["ts"] == document["datetime"] == "2026-01-15T09:30:00.000Z"
    receipt = json.loads(catalogue.render("receipt/sms/delivered", seed=1))
    assert receipt["deliveryInfoNotification"]["deliveryInfo"]["timeStamp"] == "2026-01-15T09:30:00.000+00:00"


def test_a_given_now_is_rendered_in_its_own_offset() -> None:
    now = dt.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    receipt = json.loads(catalogue.render("receipt/email/read", now=now))
    assert receipt["deliveryInfoNotification"]["deliveryInfo"]["timeStamp"] == "2024-03-01T12:00:00.123+05:30"
    inbound = json.loads(catalogue.render("inbound/sms/mo", now=now))
    assert inbound["ts"] == "2024-03-01T06:30:00.123Z"


def test_seeded_samples_of_one_glob_get_different_ids() -> None:
    transids = {
        json.loads(catalogue.render(name, seed=3))["deliveryInfoNotification"]["transid"]
        for name in catalogue.match("receipt/sms/*")
    }
    assert len(transids) == len(catalogue.match("receipt/sms/*"))


# ------------------------------------------------------------------------- receipts, per channel

CHANNEL_FACTS = {
    # channel: (deliveryChannel, allowed destinationTypes)
    "sms": ("SMS", {"msisdn"}),
    "mms": ("mms", {"msisdn"}),
    "rcs": ("rcs", {"msisdn"}),
    "whatsapp": ("whatsapp", {"waid"}),
    "messenger": ("fb", {"psid"}),
    "email": ("email", {"email"}),
    "push": ("push", {"android_pushid", "ios_pushid", "hms_pushid", "chrome_pushid", "userid"}),
    "rtm": ("rt", {"customerid", "userid"}),
    "apple": ("applebusinesschat", {"applebusinesschat"}),
    "voice": ("voice", {"msisdn"}),
}
STATUS_CODES = {"Submitted": "7501", "Delivered": "7500", "Read": "7502", "Clicked": "7528"}
VOICE_CODES = {
    "OFFERED": "7407",
    "ACCEPTED": "7408",
    "ANSWERED": "7519",
    "DROPPED": "7409",
    "REJECTED": "7402",
    "Released": "7405",
    "DISCONNECTED": "7410",
}
INFO_KEYS = (
    "timeStamp",
    "Description",
    "code",
    "deliveryChannel",
    "deliveryStatus",
    "destination",
    "destinationType",
)
ENVELOPE_KEYS = ("deliveryInfo", "subtid", "transid", "callbackData", "correlationid")


@pytest.mark.parametrize("name", RECEIPTS)
def test_receipts_carry_the_envelope(name: str) -> None:
    document = json.loads(catalogue.render(name))
    envelope = document["deliveryInfoNotification"]
    info = envelope["deliveryInfo"]
    for key in ENVELOPE_KEYS:
        assert key in envelope
    for key in (*INFO_KEYS, "additionalInfo"):
        assert isinstance(info[key], str), key
    assert info["code"].isdigit()
    if "messageCount" in info:
        assert isinstance(info["messageCount"], str) and info["messageCount"].isdigit()
    assert "transid" not in info
    assert set(document) <= {"deliveryInfoNotification", "deliveryTransInfo"}


@pytest.mark.parametrize("name", RECEIPTS)
def test_receipts_follow_their_channel(name: str) -> None:
    template = catalogue.get(name)
    envelope = json.loads(catalogue.render(name))["deliveryInfoNotification"]
    info = envelope["deliveryInfo"]
    delivery_channel, destination_types = CHANNEL_FACTS[template.channel]
    assert info["deliveryChannel"] == delivery_channel
    assert info["destinationType"] in destination_types
    status = info["deliveryStatus"]
    if status in STATUS_CODES:
        assert info["code"] == STATUS_CODES[status]
    first_word = template.event.split("-")[0]
    assert status.lower() == {"expired": "undelivered", "not": "failed"}.get(first_word, first_word)


@pytest.mark.parametrize("name", RECEIPTS)
def test_receipt_channel_extras(name: str) -> None:
    template = catalogue.get(name)
    document = json.loads(catalogue.render(name))
    envelope = document["deliveryInfoNotification"]
    info = envelope["deliveryInfo"]
    channel, status = template.channel, info["deliveryStatus"]
    if channel == "sms" and status in ("Delivered", "Failed"):
        assert info["messageCount"] == "1"
    if channel == "sms" and template.event == "delivered-branded":
        assert {"attemptedUpgradeto", "upgradeResult"} <= set(info)
    if channel == "mms":
        assert info["sentAs"] == "MMS"
    if channel == "rcs":
        assert envelope["serviceProvider"] == "GOOGLE" and envelope["carrier"]
    if channel == "whatsapp":
        assert envelope["transid"].endswith("_0")
        assert {"waid", "bsuid", "waidNormalized", "identityKeyHash"} <= set(info)
    if channel == "apple":
        assert info["destination"].startswith("urn:mbid:")
        assert status in ("Submitted", "Failed")
    if channel == "push":
        assert info["pushId"] and info["deviceid"]
    if channel == "rtm" and status == "Clicked":
        assert json.loads(info["interactiveData"])
    if channel == "voice":
        assert VOICE_CODES[status] == info["code"]
        assert isinstance(document["deliveryTransInfo"], str)
    else:
        assert "deliveryTransInfo" not in document
    if status == "Clicked" and channel in ("sms", "email"):
        url, ip = info["Description"].split("|")
        assert url.startswith("https://") and ip.count(".") == 3
        assert info["additionalInfo"].startswith("Mozilla/")
    if channel != "whatsapp":
        assert UUID4.match(envelope["transid"])


# -------------------------------------------------------------------------- inbound, per channel

INBOUND_FACTS: dict[str, tuple[tuple[str, str], tuple[str, ...], tuple[str, ...], set[str]]] = {
    # channel: ((channel key, its value), documented keys, keys holding JSON strings, events)
    "sms": (
        ("Channel", "SMS"),
        (
            "userId",
            "da",
            "message_source",
            "oa",
            "message",
            "messageCount",
            "tid",
            "datetime",
            "ts",
            "x_networkid",
        ),
        (),
        set(),
    ),
    "mms": (("channel", "MMS"), ("da", "oa", "message", "tid", "ts"), ("message",), set()),
    "rcs": (
        ("channel", "rcs"),
        ("msisdn", "message", "appId", "event", "ts", "tid", "serviceProvider", "carrier", "messageId"),
        (),
        {"MO", "ATTACHMENT", "Location", "postback", "SUBSCRIBE", "UNSUBSCRIBE"},
    ),
    "whatsapp": (
        ("channel", "WhatsApp"),
        (
            "userId",
            "username",
            "appId",
            "event",
            "waid",
            "ts",
            "tid",
            "identityKeyHash",
            "type",
            "bsuid",
            "message",
        ),
        ("attachments", "location", "contacts", "user_preferences"),
        {"MO", "postback", "list", "reply", "user_preference"},
    ),
    "apple": (
        ("channel", "AppleBusinessChat"),
        ("abcUserId", "abcAccountId", "appId", "event", "ts", "tid", "message", "attachments", "locale"),
        ("attachments",),
        {
            "MO",
            "INTERACTIVERESPONSE",
            "QuickReplyResponse",
            "AuthenticationResponse",
            "FormResponse",
            "TYPINGINDICATOR",
            "CONVERSATIONCLOSED",
            "PaymentResponse",
            "InvitationResponse",
        },
    ),
    "messenger": (
        ("channel", "Facebook Messenger"),
        (
            "userId",
            "psid",
            "appId",
            "event",
            "ts",
            "tid",
            "message",
            "attachments",
            "locale",
            "name",
            "profile_pic",
        ),
        ("attachments",),
        {"MO", "OnPostback", "OnOptin"},
    ),
    "email": (
        ("channel", "Email"),
        ("event", "from", "to", "subject", "textMessage", "htmlMessage", "attachments", "ts", "tid"),
        ("from", "to", "attachments"),
        {"Inbound Message", "Subscribe", "Unsubscribe"},
    ),
    "rtm": (
        ("channel", "Rtm"),
        (
            "userId",
            "appId",
            "event",
            "message",
            "ts",
            "tid",
            "attachments",
            "replyTo",
            "clientId",
            "thread_id",
            "thread_title",
            "thread",
            "extras",
        ),
        ("attachments", "thread", "extras"),
        {"MO", "OnProfileCreate", "OnProfileUpdate", "OnFormResponse", "OnPostback", "TypingIndicator"},
    ),
}
WHATSAPP_EVENT_KEYS = {
    "postback": ("buttonPayload", "buttonText"),
    "list": ("listRowIdentifier", "listRowTitle", "contextId"),
    "reply": ("replyButtonIdentifier", "replyButtonTitle"),
    "user_preference": ("user_preferences",),
}


@pytest.mark.parametrize("name", INBOUND)
def test_inbound_samples_carry_their_channels_documented_keys(name: str) -> None:
    template = catalogue.get(name)
    document = json.loads(catalogue.render(name))
    (channel_key, channel_value), keys, json_strings, events = INBOUND_FACTS[template.channel]
    assert document[channel_key] == channel_value
    for key in keys:
        assert isinstance(document[key], str), key
    for key in json_strings:
        if document.get(key):
            json.loads(document[key])
    if events:
        assert document["event"] in events
    assert "deliveryInfoNotification" not in document


@pytest.mark.parametrize("name", [n for n in INBOUND if n.startswith("inbound/whatsapp/")])
def test_whatsapp_inbound_events_carry_their_extra_keys(name: str) -> None:
    document = json.loads(catalogue.render(name))
    assert document["tid"].endswith("_0")
    for key in WHATSAPP_EVENT_KEYS.get(document["event"], ()):
        assert document[key], key
    if document["event"] == "user_preference":
        (preference,) = json.loads(document["user_preferences"])
        assert preference["category"] == "marketing_messages" and preference["value"] in ("stop", "resume")


def test_mms_message_is_a_json_list_of_files() -> None:
    files = json.loads(json.loads(catalogue.render("inbound/mms/mo"))["message"])
    assert [list(f) for f in files] == [["file"]]


# ---------------------------------------------------------------------------------- golden files


@pytest.mark.parametrize(
    ("name", "sets"),
    [
        ("receipt/sms/delivered", ()),
        ("inbound/whatsapp/postback", ()),
        ("receipt/email/bounced", ("deliveryInfoNotification.callbackData=order-4411", 'extra:={"n":[1,2]}')),
    ],
)
def test_seeded_renders_match_their_golden_files(name: str, sets: tuple[str, ...]) -> None:
    golden = GOLDEN / (name.replace("/", "-") + (".set" if sets else "") + ".json")
    body = catalogue.render(name, seed=42, sets=sets)
    if os.environ.get("CONNECT_HOOKS_UPDATE_GOLDEN") == "1":
        golden.write_bytes(body)
    assert body == golden.read_bytes()


# ----------------------------------------------------------------------------- --set via render


def test_set_changes_the_rendered_body_after_generation() -> None:
    body = catalogue.render(
        "receipt/sms/delivered",
        seed=1,
        sets=["deliveryInfoNotification.transid=fixed", "deliveryInfoNotification.deliveryInfo.code:=7500"],
    )
    envelope = json.loads(body)["deliveryInfoNotification"]
    assert envelope["transid"] == "fixed"
    assert envelope["deliveryInfo"]["code"] == 7500


def test_set_errors_name_the_sample() -> None:
    with pytest.raises(BadInput) as caught:
        catalogue.render("inbound/sms/mo", sets=["nope.deeper=1"])
    assert str(caught.value) == (
        "inbound/sms/mo: cannot set 'nope.deeper': 'nope' does not exist "
        "(nearest existing path: the top level); create it first with --set 'nope:={}'"
    )


def test_bad_set_syntax_is_reported_as_typed() -> None:
    with pytest.raises(BadInput, match=r"^--set 'tid' has no '='"):
        catalogue.render("inbound/sms/mo", sets=["tid"])


# ------------------------------------------------------------------------- names, globs, listing


def test_a_glob_matches_every_sample_it_covers_in_order() -> None:
    found = catalogue.match("receipt/sms/*")
    assert found == sorted(n for n in NAMES if n.startswith("receipt/sms/"))
    assert len(found) >= 5
    assert catalogue.match("receipt/*/read") == [n for n in RECEIPTS if n.endswith("/read")]


def test_a_glob_that_matches_nothing_is_bad_input() -> None:
    with pytest.raises(BadInput) as caught:
        catalogue.match("receipt/telegram/*")
    assert str(caught.value) == "no sample matches 'receipt/telegram/*': run 'connect-hooks samples list' to see them"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "receipt/sms/deliverd",
            "no sample named 'receipt/sms/deliverd': did you mean receipt/sms/delivered",
        ),
        (
            "reciept/whatsapp/read",
            "no sample named 'reciept/whatsapp/read': did you mean receipt/whatsapp/read",
        ),
        (
            "receipt/sms",
            "no sample named 'receipt/sms': it is a group, give a glob such as 'receipt/sms/*' or a full name",
        ),
        ("inbound/telegram/postback", "no sample named 'inbound/telegram/postback': did you mean inbound/"),
        ("zzz", "no sample named 'zzz': run 'connect-hooks samples list' to see them"),
    ],
)
def test_unknown_names_suggest_the_closest(name: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        catalogue.match(name)
    assert str(caught.value).startswith(message)


def test_select_takes_a_glob_a_text_or_nothing() -> None:
    assert [t.name for t in catalogue.select()] == list(NAMES)
    assert [t.name for t in catalogue.select("inbound/rtm/*")] == [n for n in INBOUND if "/rtm/" in n]
    assert {t.channel for t in catalogue.select("whatsapp")} == {"whatsapp"}
    with pytest.raises(BadInput, match="no sample matches 'telegram'"):
        catalogue.select("telegram")


def test_template_records_describe_themselves() -> None:
    template = catalogue.get("receipt/whatsapp/read")
    assert template.as_dict() == {
        "name": "receipt/whatsapp/read",
        "kind": "receipt",
        "channel": "whatsapp",
        "event": "read",
        "description": template.description,
        "generated": ["deliveryInfoNotification.transid", "deliveryInfoNotification.deliveryInfo.timeStamp"],
    }
