"""The JSON Schema of each family: every sample validates, and the schemas are strict enough to matter."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.errors import BadInput

NAMES = catalogue.names()
VALIDATORS = {family: Draft202012Validator(catalogue.schema(family)) for family in catalogue.families()}


def validator(name: str) -> Draft202012Validator:
    return VALIDATORS[catalogue.get(name).family]


def errors(name: str, document: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(document)]


def leaves(document: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every string and every object key of the notification itself (not inside JSON strings)."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaves(value, (*path, str(index)))
    else:
        yield path, document


def parent_and_key(document: Any, path: tuple[str, ...]) -> tuple[Any, Any]:
    node = document
    for part in path[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, (int(path[-1]) if isinstance(node, list) else path[-1])


def test_every_family_has_a_valid_schema_and_samples() -> None:
    for family in catalogue.families():
        Draft202012Validator.check_schema(catalogue.schema(family))
    assert {catalogue.get(n).family for n in NAMES} == set(catalogue.families())


def test_every_rendered_sample_validates_against_its_familys_schema() -> None:
    wrong = {name: errors(name, json.loads(catalogue.render(name))) for name in NAMES}
    assert {name: found for name, found in wrong.items() if found} == {}


def test_a_sample_name_and_its_family_give_the_same_schema() -> None:
    assert catalogue.schema("receipt/sms/delivered") == catalogue.schema("receipt/sms")
    assert catalogue.schema("inbound/whatsapp/list")["title"] == "Webex Connect incoming WhatsApp message or event"
    with pytest.raises(BadInput) as caught:
        catalogue.schema("receipt/telegram")
    assert str(caught.value).startswith("no sample or family named 'receipt/telegram': ")


def test_fields_the_schema_marks_as_json_strings_hold_json_or_nothing() -> None:
    def marked(schema: Any, document: Any) -> Iterator[str]:
        """The string values the matching variant marks contentMediaType application/json."""
        for variant in schema["oneOf"]:
            if Draft202012Validator(variant).is_valid(document):
                yield from walk(variant, document)

    def walk(schema: Any, value: Any) -> Iterator[str]:
        if schema.get("contentMediaType") == "application/json":
            yield value
        for key, sub in schema.get("properties", {}).items():
            if isinstance(value, dict) and key in value:
                yield from walk(sub, value[key])

    checked = 0
    for name in NAMES:
        for text in marked(catalogue.schema(name), json.loads(catalogue.render(name))):
            checked += 1
            assert text == "" or isinstance(json.loads(text), (dict, list)), (name, text)
    assert checked > 50


# --------------------------------------------------------------------------------- strictness


def test_the_schemas_refuse_a_wrong_casing_a_missing_field_an_extra_field_and_a_number_for_a_string() -> None:
    """Every key of every sample: recased, removed, or (for strings) turned into a number, the schema says no."""
    accepted = []
    for name in NAMES:
        document = json.loads(catalogue.render(name, seed=1))
        # Every variant pins its status or event with a const, and no mutation below can turn one
        # variant's document into another's: checking the variant the sample matches is enough
        # (and ten times faster than the whole oneOf).
        (variant,) = [v for v in catalogue.schema(name)["oneOf"] if Draft202012Validator(v).is_valid(document)]
        check = Draft202012Validator(variant)
        for path, value in leaves(document):
            _parent, key = parent_and_key(document, path)
            if isinstance(key, int):
                continue
            optional = key in ("messageCount", "attemptedUpgradeto", "upgradeResult", "interaction")
            optional |= key in ("pciInfo", "malwareinfo", "securityscaninfo", "attachments") and name.startswith(
                ("inbound/rtm/", "inbound/email/mo-legacy")
            )
            mutants = {"recased": _recased(document, path)}
            if not optional:
                mutants["removed"] = _removed(document, path)
            if isinstance(value, str):
                mutants["number"] = _replaced(document, path, 7500)
            for what, mutant in mutants.items():
                if check.is_valid(mutant):
                    accepted.append((name, ".".join(path), what))
        extra = copy.deepcopy(document)
        extra["unexpected"] = ""
        if check.is_valid(extra):
            accepted.append((name, "unexpected", "added"))
    assert accepted == []


def _recased(document: Any, path: tuple[str, ...]) -> Any:
    mutant = copy.deepcopy(document)
    parent, key = parent_and_key(mutant, path)
    flipped = key.swapcase()
    parent[flipped] = parent.pop(key)
    return mutant


def _removed(document: Any, path: tuple[str, ...]) -> Any:
    mutant = copy.deepcopy(document)
    parent, key = parent_and_key(mutant, path)
    del parent[key]
    return mutant


def _replaced(document: Any, path: tuple[str, ...], value: Any) -> Any:
    mutant = copy.deepcopy(document)
    parent, key = parent_and_key(mutant, path)
    parent[key] = value
    return mutant


#: The reference: ISO-8601 with milliseconds, the tenant's offset, ``Z``, or (older samples) no zone.
RIGHT_TIMES = (
    "2022-10-10T13:53:13.749+01:00",
    "2019-10-17T14:14:35.981-04:00",
    "2021-07-28T05:39:02.673Z",
    "2016-07-21T12:44:23.644",
)
WRONG_TIMES = (
    "2022/10/10 13:53",
    "2022-10-10T13:53:13+01:00",  # no milliseconds
    "2022-10-10T13:53+01:00",
    "2022-10-10 13:53:13.749+01:00",  # a space for the T
    "2022-10-10T13:53:13.749+0100",  # an offset without its colon
    "2022-10-10T13:53:13.74+01:00",
    "10/10/2022 13:53:13.749",
    "1665406393749",  # Unix milliseconds
    "2022-10-10T13:53:13.749+01:00 ",
    "",
)


def test_every_time_stamp_refuses_another_format_and_takes_the_references() -> None:
    """``timeStamp`` (receipts) and ``ts`` (inbound) of every sample: each wrong format refused, each right one taken."""
    wrong_accepted, right_refused, seen = [], [], 0
    for name in NAMES:
        document = json.loads(catalogue.render(name, seed=1))
        (variant,) = [v for v in catalogue.schema(name)["oneOf"] if Draft202012Validator(v).is_valid(document)]
        check = Draft202012Validator(variant)
        for path, _value in leaves(document):
            if path[-1] not in ("timeStamp", "ts"):
                continue
            seen += 1
            wrong_accepted += [(name, t) for t in WRONG_TIMES if check.is_valid(_replaced(document, path, t))]
            right_refused += [(name, t) for t in RIGHT_TIMES if not check.is_valid(_replaced(document, path, t))]
    assert seen >= len(NAMES)  # every sample carries one: the loop above judged them all
    assert wrong_accepted == []
    assert right_refused == []


def test_a_code_from_another_status_or_channel_is_refused() -> None:
    receipt = json.loads(catalogue.render("receipt/sms/failed"))
    for code in ("7500", "7838", "7107"):  # Delivered's; WhatsApp's; SMS but Un-Delivered
        receipt["deliveryInfoNotification"]["deliveryInfo"]["code"] = code
        assert errors("receipt/sms/failed", receipt), code


def test_a_status_spelled_otherwise_than_the_pages_is_refused() -> None:
    for name, path, spelling in (
        ("receipt/sms/undelivered", "deliveryInfoNotification.deliveryInfo.deliveryStatus", "Undelivered"),
        ("receipt/messenger/submitted", "deliveryInfoNotification.deliveryInfo.deliveryStatus", "Submited"),
        ("receipt/voice/released", "deliveryInfoNotification.deliveryInfo.deliveryStatus", "RELEASED"),
        ("inbound/messenger/mo", "event", "OnOptin"),
    ):
        document = catalogue.render_document(catalogue.get(name), sets=[f"{path}={spelling}"])
        assert errors(name, document), (name, spelling)


# ------------------------------------------------------------------------------- after --set

#: Fields that carry free text: any string set there keeps the notification valid.
FREE_TEXT = {
    "receipt": ["deliveryInfoNotification.callbackData", "deliveryInfoNotification.correlationid"],
    "inbound": ["message", "username", "subject", "name", "buttonText", "listRowTitle", "replyButtonTitle", "senderId"],
}
SETTABLE = [
    (name, path)
    for name in NAMES
    for path in FREE_TEXT[catalogue.get(name).kind]
    if path in {".".join(p) for p, _ in leaves(json.loads(catalogue.render(name, seed=1)))}
]


@settings(max_examples=150, deadline=None)
@given(case=st.sampled_from(SETTABLE), text=st.text())
def test_free_text_set_with_any_string_still_validates(case: tuple[str, str], text: str) -> None:
    name, path = case
    body = catalogue.render(name, sets=[f"{path}={text}"])
    assert errors(name, json.loads(body)) == []


@settings(max_examples=60, deadline=None)
@given(case=st.sampled_from(SETTABLE), number=st.integers() | st.floats(allow_nan=False, allow_infinity=False))
def test_a_number_set_where_a_string_belongs_is_refused(case: tuple[str, str], number: float) -> None:
    name, path = case
    body = catalogue.render(name, sets=[f"{path}:={json.dumps(number)}"])
    assert errors(name, json.loads(body)) != []


def test_settable_cases_cover_every_family() -> None:
    assert {catalogue.get(name).family for name, _ in SETTABLE} == set(catalogue.families())
