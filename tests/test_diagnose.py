"""``verify``'s diagnosis, cause by cause: each usual mistake is reproduced and named."""

from __future__ import annotations

import json
from typing import TypedDict

import pytest

from connect_hooks.diagnose import Diagnosis, body_variants, diagnose, secret_variants
from connect_hooks.signing import sign

SECRET = "whsec-diagnose"
DOCUMENT = {
    "deliveryInfoNotification": {
        "deliveryInfo": {
            "timeStamp": "2026-01-15T09:30:00.000Z",
            "deliveryStatus": "Delivered",
            "destination": "Zoë",
        },
        "transid": "7f3af32c",
    }
}
COMPACT = json.dumps(DOCUMENT, separators=(",", ":"), ensure_ascii=False).encode()
HEADER = sign(COMPACT, SECRET)


def causes(diagnosis: Diagnosis) -> tuple[str, ...]:
    assert diagnosis.cause is not None, diagnosis.summary
    return diagnosis.cause.causes


def test_a_matching_signature_matches_with_nothing_to_explain() -> None:
    diagnosis = diagnose(COMPACT, HEADER, SECRET)
    assert diagnosis == Diagnosis(True, "sha256", "prefixed", "the signature matches (sha256, prefixed)")
    assert diagnose(COMPACT, HEADER.removeprefix("sha256="), SECRET).style == "bare"
    assert diagnose(COMPACT, sign(COMPACT, SECRET, "sha512"), SECRET).algorithm == "sha512"


class DumpOptions(TypedDict, total=False):
    """The ``json.dumps`` options a re-serializing receiver might use."""

    indent: int
    ensure_ascii: bool


@pytest.mark.parametrize(
    ("kwargs", "cause"),
    [
        ({"indent": 2, "ensure_ascii": False}, "reserialized-compact"),
        ({"indent": 4}, "reserialized-compact"),
        ({}, "reserialized-compact"),
    ],
)
def test_a_re_serialized_body_is_found_when_the_compact_original_was_signed(kwargs: DumpOptions, cause: str) -> None:
    received = json.dumps(DOCUMENT, **kwargs).encode()
    diagnosis = diagnose(received, HEADER, SECRET)
    assert diagnosis.matches is False
    assert causes(diagnosis) == (cause,)
    assert diagnosis.summary == (
        "the signature does not match as given; it matches with "
        "the body re-serialized as compact JSON (how Webex Connect sends it)"
    )


def test_a_signature_of_the_pretty_body_is_found_from_the_compact_one() -> None:
    header = sign(json.dumps(DOCUMENT, indent=2, ensure_ascii=False).encode(), SECRET)
    assert causes(diagnose(COMPACT, header, SECRET)) == ("reserialized-pretty",)


def test_re_ordered_keys_are_found() -> None:
    header = sign(json.dumps(DOCUMENT, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(), SECRET)
    assert causes(diagnose(COMPACT, header, SECRET)) == ("reserialized-sorted",)


def test_escaped_non_ascii_is_found() -> None:
    header = sign(json.dumps(DOCUMENT, separators=(",", ":")).encode(), SECRET)
    diagnosis = diagnose(COMPACT, header, SECRET)
    assert causes(diagnosis) == ("reserialized-escaped",)
    assert "non-ASCII escaped" in diagnosis.summary


def test_a_trailing_newline_added_is_found() -> None:
    diagnosis = diagnose(COMPACT + b"\n", HEADER, SECRET)
    assert causes(diagnosis) == ("newline-removed",)
    assert diagnosis.summary.endswith("it matches with the body without its trailing newline")


def test_a_trailing_newline_lost_is_found() -> None:
    header = sign(COMPACT + b"\n", SECRET)
    assert causes(diagnose(COMPACT, header, SECRET)) == ("newline-added",)


def test_a_pretty_file_with_a_final_newline_is_found_as_two_causes() -> None:
    header = sign(json.dumps(DOCUMENT, indent=2, ensure_ascii=False).encode() + b"\n", SECRET)
    assert causes(diagnose(COMPACT, header, SECRET)) == ("reserialized-pretty", "newline-added")


def test_the_prefix_naming_the_other_algorithm_is_found() -> None:
    header = "sha512=" + HEADER.removeprefix("sha256=")
    diagnosis = diagnose(COMPACT, header, SECRET)
    assert causes(diagnosis) == ("algorithm",)
    assert diagnosis.algorithm == "sha256"
    assert diagnosis.summary.endswith(
        "it matches with the digest read as sha256 (the prefix says sha512, but 64 hex characters is sha256)"
    )


@pytest.mark.parametrize("prefix", ["sha256=sha256=", "sha256:", "SHA-256=", "x-hub-signature: sha256=", "256="])
def test_an_extra_or_garbled_prefix_is_found(prefix: str) -> None:
    header = prefix + HEADER.removeprefix("sha256=")
    diagnosis = diagnose(COMPACT, header, SECRET)
    assert causes(diagnosis) == ("prefix",)
    assert diagnosis.summary.endswith(
        f"it matches with the digest read past the prefix {prefix.strip()!r} (expected 'sha256=' or nothing)"
    )


@pytest.mark.parametrize(
    ("given", "cause"),
    [
        (SECRET + "\n", "secret-whitespace"),
        ("  " + SECRET, "secret-whitespace"),
        (SECRET[:-1], None),  # a different secret: nothing explains it
    ],
)
def test_stray_whitespace_in_the_secret_we_were_given(given: str, cause: str | None) -> None:
    diagnosis = diagnose(COMPACT, HEADER, given)
    if cause is None:
        assert diagnosis.cause is None
    else:
        assert causes(diagnosis) == (cause,)


def test_stray_whitespace_in_the_secret_the_sender_used() -> None:
    assert causes(diagnose(COMPACT, sign(COMPACT, SECRET + "\n"), SECRET)) == ("secret-newline",)
    assert causes(diagnose(COMPACT, sign(COMPACT, SECRET + " "), SECRET)) == ("secret-space",)


def test_an_altered_body_or_wrong_secret_is_explained_by_none() -> None:
    diagnosis = diagnose(COMPACT.replace(b"Delivered", b"Failed"), HEADER, SECRET)
    assert diagnosis.matches is False
    assert diagnosis.found == ()
    assert len(diagnosis.tried) > 20
    assert diagnosis.summary == (
        f"the signature does not match, and none of {len(diagnosis.tried)} usual causes explains it: "
        "the secret is wrong or the body is not the one that was signed"
    )


@pytest.mark.parametrize("header", ["", "nope", "sha256=abc", "sha256=" + "g" * 64, "0" * 63])
def test_a_header_without_a_digest_is_not_a_signature(header: str) -> None:
    diagnosis = diagnose(COMPACT, header, SECRET)
    assert (diagnosis.matches, diagnosis.algorithm, diagnosis.tried) == (False, None, ())
    assert diagnosis.summary == (
        f"the header is not a signature ({len(header)} characters): "
        "expected sha256=<64 hex>, sha512=<128 hex> or the bare hex digest"
    )


def test_non_json_bodies_get_the_newline_trials_only() -> None:
    body = b"plain text\n"
    assert [v[0] for v in body_variants(body)] == [(), ("newline-removed",)]
    assert causes(diagnose(b"plain text", sign(body, SECRET), SECRET)) == ("newline-added",)


def test_variants_have_no_duplicates_and_start_with_the_original() -> None:
    variants = body_variants(COMPACT)
    assert variants[0] == ((), "the body as given", COMPACT)
    assert len({v[2] for v in variants}) == len(variants)
    assert [v[0] for v in secret_variants("abc")] == [(), ("secret-newline",), ("secret-space",)]


def test_as_dict_never_carries_the_secret_and_is_json() -> None:
    for header in (HEADER, "sha512=" + HEADER[7:], sign(b"x", SECRET), "junk"):
        document = diagnose(COMPACT + b"\n", header, SECRET + " ").as_dict()
        text = json.dumps(document)
        assert SECRET not in text
        assert set(document) == {"matches", "algorithm", "style", "summary", "cause", "found", "tried"}


def test_white_space_removed_before_signing_is_found() -> None:
    """Webex Connect's FAQ sample tells the reader to trim all white space: a signer who did is found."""
    spaced = json.dumps({"message": "hello there", "tid": "7f3af32c"}, separators=(",", ":")).encode()
    header = sign(spaced.replace(b" ", b""), SECRET)
    assert causes(diagnose(spaced, header, SECRET)) == ("whitespace-removed",)
