"""The sample catalogue: what the fact sheet says Webex Connect sends, the page examples, rendering."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.errors import BadInput
from connect_hooks.receiver.app import classify

NAMES = catalogue.names()
RECEIPTS = [n for n in NAMES if n.startswith("receipt/")]
INBOUND = [n for n in NAMES if n.startswith("inbound/")]
HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
PAGE_EXAMPLES = json.loads((HERE / "data" / "page_examples.json").read_text(encoding="utf-8"))

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

#: Per channel, the receipt statuses (deliveryStatus as the pages spell them) and the incoming events
#: the fact sheet lists. Push and Voice have no incoming events; Messenger sends no "OnOptin"; the
#: deprecated "appmessaging" Interactive-Read and Instagram are not imitated.
SHEET_STATUSES = {
    "sms": {"Submitted", "Delivered", "Failed", "Un-Delivered", "Clicked"},
    "mms": {"Submitted", "Delivered", "Failed"},
    "rcs": {"Submitted", "Delivered", "Read", "Failed"},
    "whatsapp": {"Submitted", "Delivered", "Read", "Failed"},
    "apple": {"Submitted", "Failed"},
    "messenger": {"Submitted", "Delivered", "Read", "Failed"},
    "email": {"Submitted", "Delivered", "Read", "Clicked", "Not Verified", "Failed", "Bounce", "Complaint"},
    "push": {"Submitted", "Delivered", "Read", "Failed"},
    "rtm": {"Submitted", "Delivered", "Read", "Failed", "Clicked"},
    "voice": {
        *("OFFERED", "ACCEPTED", "ANSWERED", "DROPPED", "REJECTED", "Released", "DISCONNECTED"),
        *("TROMBONE_CONNECTED", "TROMBONE_RELEASED", "Failed"),
    },
}
SHEET_EVENTS: dict[str, set[str | None]] = {
    "sms": {None},  # an SMS to a number carries no event key
    "mms": {None},
    "rcs": {"MO", "ATTACHMENT", "Location", "postback", "SUBSCRIBE", "UNSUBSCRIBE"},
    "whatsapp": {"MO", "postback", "list", "reply", "user_preference"},
    "apple": {
        *("MO", "INTERACTIVERESPONSE", "QuickReplyResponse", "AuthenticationResponse", "NewAuthenticationResponse"),
        *("FormResponse", "iMessageAppResponse", "TYPINGINDICATOR", "CONVERSATIONCLOSED", "PaymentResponse"),
        "InvitationResponse",
    },
    "messenger": {"MO", "OnPostback"},
    "email": {"Inbound Message", "Subscribe", "Unsubscribe", "MO"},  # MO: the 2017 format, an option
    "rtm": {"MO", "OnProfileCreate", "OnProfileUpdate", "OnFormResponse", "OnPostback", "TypingIndicator"},
}
#: Per channel, the deliveryChannel value receipts carry.
DELIVERY_CHANNEL = {
    "sms": "SMS",
    "mms": "mms",
    "rcs": "rcs",
    "whatsapp": "whatsapp",
    "apple": "applebusinesschat",
    "messenger": "fb",
    "email": "email",
    "push": "push",
    "rtm": "rt",
    "voice": "voice",
}
#: Per channel, the title of the Webex Connect page its samples follow.
CHANNEL_PAGES = {
    "sms": "SMS",
    "mms": "MMS",
    "rcs": "RCS",
    "whatsapp": "WhatsApp",
    "apple": "Apple Messages for Business",
    "messenger": "Messenger",
    "email": "Email",
    "push": "Push",
    "rtm": "Live Chat / In-App Messages",
    "voice": "Voice",
}
#: Codes every channel's table gives the same meaning.
STATUS_CODES = {"Submitted": "7501", "Delivered": "7500", "Read": "7502", "Clicked": "7528"}


def at(document: Any, dotted: str) -> Any:
    node = document
    for key in dotted.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def info_of(document: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = document["deliveryInfoNotification"]["deliveryInfo"]
    return info


def set_diff(actual: set[Any], expected: set[Any]) -> str:
    return f"missing: {sorted(expected - actual, key=str)}; not in the sheet: {sorted(actual - expected, key=str)}"


RENDERED = {name: json.loads(catalogue.render(name, seed=1)) for name in NAMES}


# -------------------------------------------------------------------------- what the sheet lists


def test_receipts_cover_exactly_the_statuses_the_sheet_lists_per_channel() -> None:
    found: dict[str, set[str]] = {}
    for name in RECEIPTS:
        found.setdefault(catalogue.get(name).channel, set()).add(info_of(RENDERED[name])["deliveryStatus"])
    assert set(found) == set(SHEET_STATUSES), set_diff(set(found), set(SHEET_STATUSES))
    for channel, statuses in SHEET_STATUSES.items():
        assert found[channel] == statuses, f"{channel}: {set_diff(found[channel], statuses)}"


def test_incoming_samples_cover_exactly_the_events_the_sheet_lists_per_channel() -> None:
    found: dict[str, set[str | None]] = {}
    for name in INBOUND:
        found.setdefault(catalogue.get(name).channel, set()).add(RENDERED[name].get("event"))
    assert set(found) == set(SHEET_EVENTS), set_diff(set(found), set(SHEET_EVENTS))
    for channel, events in SHEET_EVENTS.items():
        assert found[channel] == events, f"{channel}: {set_diff(found[channel], events)}"


def test_names_say_kind_channel_and_status_or_event() -> None:
    pattern = re.compile(rf"(receipt|inbound)/({'|'.join(DELIVERY_CHANNEL)})/[a-z0-9]+(-[a-z0-9]+)*")
    assert [n for n in NAMES if not pattern.fullmatch(n)] == []
    # A receipt's name starts with its status (Un-Delivered: undelivered, Bounce: bounced, ...).
    spelled = {"un-delivered": "undelivered", "not verified": "not-verified", "bounce": "bounced"}
    wrong: list[tuple[Any, ...]] = []
    for name in RECEIPTS:
        status = info_of(RENDERED[name])["deliveryStatus"].lower().replace("_", "-")
        if not catalogue.get(name).event.startswith(spelled.get(status, status)):
            wrong.append((name, status))
    assert wrong == []


def test_receipts_carry_their_channels_delivery_channel_and_the_shared_codes() -> None:
    wrong: list[tuple[Any, ...]] = []
    for name in RECEIPTS:
        channel, info = catalogue.get(name).channel, info_of(RENDERED[name])
        expected_channel = (
            "sms" if (channel, info["deliveryStatus"]) == ("sms", "Clicked") else DELIVERY_CHANNEL[channel]
        )
        if info["deliveryChannel"] != expected_channel:
            wrong.append((name, "deliveryChannel", info["deliveryChannel"]))
        if info["deliveryStatus"] in STATUS_CODES and info["code"] != STATUS_CODES[info["deliveryStatus"]]:
            wrong.append((name, "code", info["code"]))
        if (
            info["deliveryStatus"] in ("Submitted", "Delivered", "Read")
            and info["Description"] != info["deliveryStatus"]
        ):
            wrong.append((name, "Description", info["Description"]))
    assert wrong == []


def test_the_receiver_classifies_every_sample_by_its_kind() -> None:
    for name in NAMES:
        found = classify(RENDERED[name])
        assert found.kind == catalogue.get(name).kind, name
        assert found.channel and found.what, name


# ------------------------------------------------------------------------ the pages' own examples


def shape(value: Any) -> Any:
    """Keys (in order), nesting and types; strings holding a JSON document keep that document's shape."""
    if isinstance(value, dict):
        return [(key, shape(item)) for key, item in value.items()]
    if isinstance(value, list):
        return ["list", sorted({json.dumps(shape(item)) for item in value})]
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            decoded = json.loads(value)
        except ValueError:
            return "str"
        return ("json-str", shape(decoded))
    return type(value).__name__


#: Where the sheet records a decision that changes the shape of a page example.
DECISIONS: dict[str, Callable[[Any], Any]] = {
    # The page's key 'userld' is a typo for userId.
    "inbound/sms/mo": lambda doc: {("userId" if k == "userld" else k): v for k, v in doc.items()},
    # Every Messenger receipt has the 2020 Failed example's field set, in its order.
    "receipt/messenger/submitted": lambda doc: {
        "deliveryInfoNotification": {
            "deliveryInfo": {
                k: doc["deliveryInfoNotification"]["deliveryInfo"].get(k, "")
                for k in (
                    *("timeStamp", "Description", "code", "deliveryChannel", "additionalInfo", "destination"),
                    *("destinationType", "deliveryStatus"),
                )
            },
            **{
                k: doc["deliveryInfoNotification"].get(k, "")
                for k in ("subtid", "transid", "callbackData", "correlationid")
            },
        }
    },
}


@pytest.mark.parametrize("case", PAGE_EXAMPLES, ids=[case["sample"] for case in PAGE_EXAMPLES])
def test_the_sample_has_the_shape_of_the_pages_own_example(case: dict[str, Any]) -> None:
    example = DECISIONS.get(case["sample"], lambda doc: doc)(case["example"])
    assert shape(RENDERED[case["sample"]]) == shape(example)


def test_every_family_is_pinned_by_a_page_example() -> None:
    pinned = {catalogue.get(case["sample"]).family for case in PAGE_EXAMPLES}
    assert pinned == set(catalogue.families())


def test_the_shape_comparison_sees_casing_order_type_and_nested_json() -> None:
    base = {"a": "1", "b": '{"x":"y"}', "c": {"d": "e"}}
    assert shape(base) == shape({"a": "2", "b": '{"x":"z"}', "c": {"d": "f"}})
    assert shape(base) != shape({"A": "1", "b": '{"x":"y"}', "c": {"d": "e"}})
    assert shape(base) != shape({"b": '{"x":"y"}', "a": "1", "c": {"d": "e"}})
    assert shape(base) != shape({"a": 1, "b": '{"x":"y"}', "c": {"d": "e"}})
    assert shape(base) != shape({"a": "1", "b": '{"X":"y"}', "c": {"d": "e"}})
    assert shape(base) != shape({"a": "1", "b": {"x": "y"}, "c": {"d": "e"}})


# ------------------------------------------------------------------------------------ the files


def test_template_files_are_clean_json_with_description_source_generated_payload() -> None:
    wrong: list[tuple[Any, ...]] = []
    for name in NAMES:
        text = (catalogue.samples_root() / f"{name}.json").read_text(encoding="utf-8")
        raw = json.loads(text)
        if list(raw) != ["description", "source", "generated", "payload"]:
            wrong.append((name, "keys", list(raw)))
        elif text != json.dumps(raw, indent=2, ensure_ascii=False) + "\n":
            wrong.append((name, "formatting"))
        elif not all(raw[k] and raw[k].strip() == raw[k] and "\n" not in raw[k] for k in ("description", "source")):
            wrong.append((name, "description or source"))
        elif (page := re.match(r'(developer|help) page "([^"]+)"', raw["source"])) is None:
            wrong.append((name, "source names no page", raw["source"]))
        elif page[2] not in (CHANNEL_PAGES[name.split("/")[1]], "Branded Text"):
            wrong.append((name, "source names another channel's page", raw["source"]))
    assert wrong == []


def test_every_sample_generates_its_transaction_id_and_time_with_known_generators() -> None:
    wrong: list[tuple[Any, ...]] = []
    for name in NAMES:
        template = catalogue.get(name)
        generated = dict(template.generated)
        if any(
            g not in catalogue.GENERATORS or not isinstance(at(template.payload, p), str) for p, g in generated.items()
        ):
            wrong.append((name, "generator"))
        if template.kind == "inbound":
            ids, times = ["tid"], ["ts"]
        elif template.name == "receipt/rtm/clicked":  # everything inside deliveryInfo
            ids, times = (
                ["deliveryInfoNotification.deliveryInfo.transid"],
                ["deliveryInfoNotification.deliveryInfo.timeStamp"],
            )
        else:
            ids, times = ["deliveryInfoNotification.transid"], ["deliveryInfoNotification.deliveryInfo.timeStamp"]
        suffixed = template.channel == "whatsapp" or (template.kind, template.channel) == ("inbound", "messenger")
        if [generated.get(p) for p in ids] != ["uuid_0" if suffixed else "uuid"]:
            wrong.append((name, "id", [generated.get(p) for p in ids]))
        if not all(generated.get(p, "").startswith("timestamp") for p in times):
            wrong.append((name, "time"))
    assert wrong == []


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    seed=st.integers(min_value=-(2**63), max_value=2**63),
    now=st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=-5, minutes=-30))])),
)
def test_render_puts_fresh_values_between_the_templates_fixed_bytes(name: str, seed: int, now: dt.datetime) -> None:
    """render's fast path (no --set) gives exactly the bytes of the general one: the document
    rendered, then written compact."""
    general = catalogue.compact(catalogue.render_document(catalogue.get(name), seed=seed, now=now))
    assert catalogue.render(name, seed=seed, now=now) == general


def test_render_is_the_general_path_for_every_sample() -> None:
    for name in NAMES:  # every sample at least once, whatever hypothesis draws above
        general = catalogue.compact(catalogue.render_document(catalogue.get(name), seed=5))
        assert catalogue.render(name, seed=5) == general, name


def test_generators_make_strings_and_no_other_exists() -> None:
    gen = catalogue.Generators(seed=1, name="x")
    made = {generator: gen.lookup(generator)() for generator in catalogue.GENERATORS}
    assert all(isinstance(value, str) for value in made.values())
    assert made["uuid_0"].endswith("_0")
    assert made["epoch-seconds"] == str(int(catalogue.SEED_EPOCH.timestamp()))
    assert re.fullmatch("[a-z0-9]{26}", made["rcs-message-id"])
    with pytest.raises(ValueError, match="unknown generator 'counter'"):
        gen.lookup("counter")


# ----------------------------------------------------------------------------- every rendering


def test_every_sample_renders_to_compact_json_with_fresh_ids_and_iso_times() -> None:
    wrong: list[tuple[Any, ...]] = []
    for name in NAMES:
        template = catalogue.get(name)
        body = catalogue.render(name)
        first, second = json.loads(body), json.loads(catalogue.render(name))
        if body != json.dumps(first, separators=(",", ":"), ensure_ascii=False).encode("utf-8"):
            wrong.append((name, "not compact"))
        for path, generator in template.generated:
            value = at(first, path)
            if generator.startswith("uuid") and (
                not UUID4.match(value.removesuffix("_0")) or value == at(second, path)
            ):
                wrong.append((name, path, value))
            if generator.startswith("timestamp") and not ISO_MS.match(value):
                wrong.append((name, path, value))
    assert wrong == []


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    for name in NAMES:
        assert catalogue.render(name, seed=7) == catalogue.render(name, seed=7), name
        assert catalogue.render(name, seed=7) != catalogue.render(name, seed=8), name


def test_unseeded_timestamps_are_now() -> None:
    before = dt.datetime.now(dt.UTC)
    stamp = info_of(json.loads(catalogue.render("receipt/sms/delivered")))["timeStamp"]
    after = dt.datetime.now(dt.UTC)
    when = dt.datetime.fromisoformat(stamp)
    assert before - dt.timedelta(milliseconds=1) <= when <= after


def test_seeded_renders_use_the_fixed_instant() -> None:
    document = json.loads(catalogue.render("inbound/sms/mo", seed=1))
    assert document["ts"] == document["datetime"] == "2026-01-15T09:30:00.000Z"
    assert (
        info_of(json.loads(catalogue.render("receipt/sms/delivered", seed=1)))["timeStamp"]
        == "2026-01-15T09:30:00.000+00:00"
    )
    preference = json.loads(catalogue.render("inbound/whatsapp/user-preference", seed=1))["user_preferences"][0]
    assert preference["timestamp"] == "1768469400"


def test_a_given_now_is_rendered_in_its_own_offset() -> None:
    now = dt.datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert (
        info_of(json.loads(catalogue.render("receipt/email/read", now=now)))["timeStamp"]
        == "2024-03-01T12:00:00.123+05:30"
    )
    assert json.loads(catalogue.render("inbound/sms/mo", now=now))["ts"] == "2024-03-01T06:30:00.123Z"


def test_seeded_samples_of_one_glob_get_different_ids() -> None:
    names = catalogue.match("receipt/sms/*")
    transids = {json.loads(catalogue.render(name, seed=3))["deliveryInfoNotification"]["transid"] for name in names}
    assert len(transids) == len(names)


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
    assert catalogue.match("receipt/sms/*") == sorted(n for n in NAMES if n.startswith("receipt/sms/"))
    assert catalogue.match("receipt/*/read") == [n for n in RECEIPTS if n.endswith("/read")]


def test_a_glob_that_matches_nothing_is_bad_input() -> None:
    with pytest.raises(BadInput) as caught:
        catalogue.match("receipt/telegram/*")
    assert str(caught.value) == "no sample matches 'receipt/telegram/*': run 'connect-hooks samples list' to see them"


def test_is_sample_agrees_with_the_listing() -> None:
    names = catalogue.names()
    near = [
        *(n.upper() for n in names[:3]),
        *(n + ".json" for n in names[:3]),
        *(n.rsplit("/", 1)[0] for n in names[:3]),
        "receipt/sms/../sms/delivered",
        "receipt//delivered",
        "receipt/sms/delivered/",
        "./receipt/sms/delivered",
        "schemas/x/y",
        "schemas/./inbound-email",  # samples/schemas/inbound-email.json exists, but is no sample
        "receipt/sms/*",
        "",
    ]
    assert [n for n in names if not catalogue.is_sample(n)] == []
    assert [n for n in near if catalogue.is_sample(n) != (n in names)] == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("receipt/sms/deliverd", "no sample named 'receipt/sms/deliverd': did you mean receipt/sms/delivered"),
        ("reciept/whatsapp/read", "no sample named 'reciept/whatsapp/read': did you mean receipt/whatsapp/read"),
        (
            "receipt/sms",
            "no sample named 'receipt/sms': it is a group, give a glob such as 'receipt/sms/*' or a full name",
        ),
        ("inbound/messenger/optin", "no sample named 'inbound/messenger/optin': "),
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
        "description": "WhatsApp message read (7502).",
        "source": 'developer page "WhatsApp", example "Read"',
        "family": "receipt/whatsapp",
        "generated": ["deliveryInfoNotification.transid", "deliveryInfoNotification.deliveryInfo.timeStamp"],
    }
