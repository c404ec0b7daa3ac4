"""Apple Messages for Business incoming samples against the developer page's examples and the field table.

The field table says every event carries ``requestIdentifier``, ``deviceAgent`` and ``capabilities``
(deprecated, ""); three of the page's own examples leave some out. The samples follow the examples
key for key; the schema takes both shapes.
"""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from connect_hooks.catalogue import samples as catalogue

HEAD = ["abcUserId", "channel", "abcAccountId", "appId", "event"]
MO = [*HEAD, "ts", "tid", "message", "attachments", "locale", "bizGroupId", "bizIntentId", "requestIdentifier"]
TAIL = ["capabilities", "timezone", "deviceAgent", "capabilityList"]
TAIL_PICKERS = ["timezone", "capabilities", "deviceAgent", "capabilityList"]  # the list, date and quick-reply examples
PICKER = [*HEAD, "ts", "tid", "message", "attachments", "datePicker", "listPicker", "locale", "bizGroupId"]
TYPING = [*HEAD, "type", "ts", "tid", "requestIdentifier", *TAIL]

#: The keys of each example on page "Apple Messages for Business", in the page's order (copied by hand).
PAGE_KEYS = {
    "mo": [*MO, "timestamp", "capabilities", "deviceAgent", "capabilityList"],
    "attachment": [*MO, "timestamp", "capabilities", "deviceAgent", "capabilityList"],
    "interactive-response": [*PICKER, "bizIntentId", "requestIdentifier", *TAIL_PICKERS],
    "interactive-response-date": [*PICKER, "bizIntentId", "requestIdentifier", *TAIL_PICKERS],
    "quick-reply-response": [
        *HEAD,
        "ts",
        "tid",
        "quickreplies",
        "locale",
        "bizGroupId",
        "bizIntentId",
        "requestIdentifier",
        *TAIL_PICKERS,
    ],
    "authentication-response": [
        *HEAD,
        "ts",
        "tid",
        "authenticateStatus",
        "authenticateToken",
        "requestIdentifier",
        *TAIL,
    ],
    "form-response": [
        *HEAD,
        "ts",
        "tid",
        "formResponse",
        "locale",
        "requestIdentifier",
        "deviceAgent",
        "capabilityList",
    ],
    "imessage-app-response": [*HEAD, "bid", "attachments", "ts", "tid", "timezone", "deviceAgent", "capabilityList"],
    "new-authentication-response": [
        *HEAD,
        "ts",
        "tid",
        "authenticateStatus",
        "authenticateToken",
        "requestIdentifier",
        "timezone",
        "deviceAgent",
        "capabilityList",
    ],
    "typing": TYPING,
    "typing-end": TYPING,
    "conversation-closed": TYPING,
    "payment-response": [
        *HEAD,
        "ts",
        "tid",
        "paymentStatus",
        "merchantSessionIdentifier",
        "merchantIdentifier",
        "paymentRequest",
        "requestIdentifier",
        *TAIL,
    ],
    "invitation-response": [
        *HEAD,
        "ts",
        "tid",
        "msisdn",
        "requestIdentifier",
        "invitationAccepted",
        "invitationResponse",
        "locale",
        "bizGroupId",
        "bizIntentId",
        "timestamp",
        "capabilities",
        "deviceAgent",
        "capabilityList",
    ],
}
#: What the field table says every event carries.
EVERY_EVENT = ("requestIdentifier", "deviceAgent", "capabilities")


def test_every_apple_sample_has_the_keys_of_its_page_example_in_order() -> None:
    names = {name.rsplit("/", 1)[1] for name in catalogue.names() if name.startswith("inbound/apple/")}
    assert names == set(PAGE_KEYS)
    for name, keys in PAGE_KEYS.items():
        assert list(json.loads(catalogue.render(f"inbound/apple/{name}"))) == keys, name


def test_the_schema_takes_each_event_with_and_without_the_fields_the_table_says_every_event_carries() -> None:
    check = Draft202012Validator(catalogue.schema("inbound/apple"))
    completed = []
    for name in PAGE_KEYS:
        document = json.loads(catalogue.render(f"inbound/apple/{name}"))
        assert check.is_valid(document), name  # as the page's example shows it
        missing = [key for key in EVERY_EVENT if key not in document]
        if missing:
            completed.append(name)
            assert check.is_valid({**document, **dict.fromkeys(missing, "")}), name  # as the table says
    assert completed == ["form-response", "imessage-app-response", "new-authentication-response"]
