"""Why does a hub signature not verify? Try the usual causes and say which one matches.

A signature covers the exact bytes sent, keyed with the exact secret. When it does not verify,
the cause is nearly always one of a few mistakes, and each can be tested by redoing the HMAC:

- the body was re-serialized (pretty-printed, keys re-ordered, non-ASCII escaped) before
  verifying, instead of using the raw bytes received;
- a trailing newline was added or removed (an editor, ``echo``, a saved file);
- the header's prefix is missing a part, has an extra one, or names the other algorithm;
- the secret carries stray whitespace (a newline from a file, a space from a copy and paste).

``diagnose`` tries each, alone and in the combinations that happen together, and returns frozen
records. It never returns or mentions the secret itself. ``BODY_CHANGES`` and ``secret_variants``
are also the alternatives ``conform`` probes a refusing receiver with (conform/diagnosis.py).
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

from connect_hooks import signing

_LENIENT = re.compile(r"^(?P<label>.*?)(?P<hex>[0-9a-fA-F]{64}|[0-9a-fA-F]{128})\s*$", re.DOTALL)
_BY_LENGTH = {length: name for name, length in signing.DIGEST_HEX_LENGTHS.items()}


@dataclass(frozen=True)
class Trial:
    """One attempt to reproduce the signature: which causes were assumed, and whether it matched."""

    causes: tuple[str, ...]
    description: str
    matches: bool

    def as_dict(self) -> dict[str, Any]:
        return {"causes": list(self.causes), "description": self.description, "matches": self.matches}


@dataclass(frozen=True)
class Diagnosis:
    """The verdict on one (body, header, secret): a match, a known cause, or no explanation."""

    matches: bool  # the header verifies the body as given, with the secret as given
    algorithm: str | None  # the digest's algorithm, when the header holds a digest
    style: str | None  # "prefixed" or "bare", when the header holds a digest
    summary: str  # one line for people
    found: tuple[Trial, ...] = ()  # the trials that reproduce the signature, simplest first
    tried: tuple[Trial, ...] = field(default=(), repr=False)

    @property
    def cause(self) -> Trial | None:
        return self.found[0] if self.found else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "matches": self.matches,
            "algorithm": self.algorithm,
            "style": self.style,
            "summary": self.summary,
            "cause": None if self.cause is None else self.cause.as_dict(),
            "found": [t.as_dict() for t in self.found],
            "tried": len(self.tried),
        }


@dataclass(frozen=True)
class BodyChange:
    """One way the body is changed before its HMAC: a re-serialization, or white space removed.

    ``verify`` tries every one (offline, free); ``conform`` sends a probe for those marked ``probe``
    (the common ones), signed over the changed body, to find what a receiver computes.
    """

    cause: str  # "reserialized-spaced"
    description: str  # completes "the body ...": "re-serialized with ', ' and ': ' (...)"
    how: str  # what a receiver verifying it computes its HMAC over, for conform's one line
    probe: bool
    dumps: tuple[tuple[str, Any], ...] | None  # json.dumps options; None: white space removed from the bytes

    def apply(self, body: bytes, document: Any) -> bytes:
        if self.dumps is None:
            return WHITESPACE.sub(b"", body)
        return json.dumps(document, **dict(self.dumps)).encode("utf-8")


WHITESPACE = re.compile(rb"[ \t\r\n]+")
_COMPACT = (("separators", (",", ":")), ("ensure_ascii", False))
#: The body changes tried, most common first. JSON ones need a body that parses.
BODY_CHANGES: tuple[BodyChange, ...] = (
    BodyChange(
        "reserialized-compact",
        "re-serialized as compact JSON (how Webex Connect sends it)",
        "a re-serialized body (compact JSON, as JSON.stringify makes it)",
        True,
        _COMPACT,
    ),
    BodyChange(
        "reserialized-escaped",
        "re-serialized as compact JSON with non-ASCII escaped (\\u00e9 for é)",
        "a re-serialized body (compact, non-ASCII escaped: json.dumps with separators=(',', ':'))",
        True,
        (("separators", (",", ":")),),
    ),
    BodyChange(
        "reserialized-spaced",
        "re-serialized with ', ' and ': ' (Python's json.dumps default)",
        "a re-serialized body (json.dumps defaults: ', ' and ': ')",
        True,
        (),
    ),
    BodyChange(
        "reserialized-pretty",
        "pretty-printed (indent 2)",
        "a re-serialized body (pretty-printed)",
        False,
        (("indent", 2), _COMPACT[1]),
    ),
    BodyChange(
        "reserialized-pretty4",
        "pretty-printed (indent 4)",
        "a re-serialized body (pretty-printed)",
        False,
        (("indent", 4), _COMPACT[1]),
    ),
    BodyChange(
        "reserialized-sorted",
        "with its keys re-ordered (sorted), compact",
        "a re-serialized body (keys sorted: json.dumps(sort_keys=True))",
        True,
        (("sort_keys", True), *_COMPACT),
    ),
    BodyChange(
        "reserialized-sorted-pretty",
        "with its keys re-ordered (sorted), pretty-printed",
        "a re-serialized body (keys sorted, pretty-printed)",
        False,
        (("sort_keys", True), ("indent", 2)),
    ),
    BodyChange(
        "whitespace-removed",
        "with all white space removed (as Webex Connect's FAQ sample says to do)",
        "the body with its white space removed (as Webex Connect's FAQ sample suggests)",
        True,
        None,
    ),
)


def changed_bodies(body: bytes, *, probes_only: bool = False) -> list[tuple[BodyChange, bytes]]:
    """``body`` under each change (only the common ones with ``probes_only``); no two alike, none equal to it."""
    try:
        document: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return []  # not a notification: Webex Connect sends JSON
    out = []
    seen = {body}
    for change in BODY_CHANGES:
        if probes_only and not change.probe:
            continue
        data = change.apply(body, document)
        if data not in seen:
            seen.add(data)
            out.append((change, data))
    return out


def body_variants(body: bytes) -> list[tuple[tuple[str, ...], str, bytes]]:
    """The bodies worth trying: (causes, description, bytes), the original first, no duplicates."""
    out: list[tuple[tuple[str, ...], str, bytes]] = [((), "the body as given", body)]
    stripped = body.removesuffix(b"\n").removesuffix(b"\r")
    if stripped != body:
        out.append((("newline-removed",), "the body without its trailing newline", stripped))
    else:
        out.append((("newline-added",), "the body with a trailing newline", body + b"\n"))
    for change, data in changed_bodies(body):
        out.append(((change.cause,), f"the body {change.description}", data))
        out.append(
            (
                (change.cause, "newline-added"),
                f"the body {change.description}, plus a trailing newline",
                data + b"\n",
            )
        )
    seen: set[bytes] = set()
    unique = []
    for causes, description, data in out:
        if data in seen:
            continue
        seen.add(data)
        unique.append((causes, description, data))
    return unique


def secret_variants(secret: str) -> list[tuple[tuple[str, ...], str, str]]:
    """The secrets worth trying: the one given, then with stray whitespace removed or added."""
    out: list[tuple[tuple[str, ...], str, str]] = [((), "the secret as given", secret)]
    if secret.strip() != secret and secret.strip():
        out.append((("secret-whitespace",), "the secret without its leading/trailing whitespace", secret.strip()))
    out.append((("secret-newline",), "the secret with a trailing newline", secret + "\n"))
    out.append((("secret-space",), "the secret with a trailing space", secret + " "))
    return out


def _read_digest(header: str) -> tuple[str, str, str] | None:
    """(label before the digest, hex digest lowercased, algorithm by length), leniently."""
    match = _LENIENT.match(header.strip())
    if match is None:
        return None
    hexdigest = match["hex"].lower()
    return match["label"], hexdigest, _BY_LENGTH[len(hexdigest)]


def _header_cause(label: str, algorithm: str) -> tuple[tuple[str, ...], str] | None:
    """What is wrong with the label in front of the digest, or None when nothing is."""
    text = label.strip()
    if not text:
        return None
    name = text.removesuffix("=").strip().lower()
    if name == algorithm and text.endswith("="):
        return None
    length = signing.DIGEST_HEX_LENGTHS[algorithm]
    if name in signing.ALGORITHMS and name != algorithm and text.endswith("="):
        return (
            ("algorithm",),
            f"the digest read as {algorithm} (the prefix says {name}, but {length} hex characters is {algorithm})",
        )
    return (("prefix",), f"the digest read past the prefix {text!r} (expected '{algorithm}=' or nothing)")


ADVICE = {
    "reserialized": "verify the raw request bytes as received, before any JSON parsing or re-serializing",
    "whitespace-removed": "verify the raw request bytes as received: removing white space changes what was signed",
    "newline-added": "sign and verify the exact bytes: a final newline was lost (an editor, or a copy)",
    "newline-removed": "sign and verify the exact bytes: a final newline was added (an editor, echo, a file)",
    "algorithm": "read the algorithm from the digest: 64 hex characters is sha256, 128 is sha512",
    "prefix": "strip exactly 'sha256=' or 'sha512=' from the header before comparing the hex digest",
    "secret-whitespace": "the secret you gave has stray whitespace: remove it",
    "secret-newline": "the signing secret ends with a newline: set it again without one (or strip it here)",
    "secret-space": "the signing secret ends with a space: set it again without one (or strip it here)",
}


def advice(cause: str) -> str:
    """What to do about a cause, in one line."""
    return ADVICE["reserialized" if cause.startswith("reserialized-") else cause]


def _phrase(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def diagnose(body: bytes, header: str, secret: str) -> Diagnosis:
    """Does ``header`` sign ``body`` under ``secret``? If not, which usual mistake explains it?"""
    parsed = signing.parse_header(header)
    if parsed is not None and signing.verify(body, header, secret):
        algorithm = parsed[0]
        style = "bare" if "=" not in header else "prefixed"
        return Diagnosis(True, algorithm, style, f"the signature matches ({algorithm}, {style})")
    lenient = _read_digest(header)
    if lenient is None:
        shown = header.strip()
        return Diagnosis(
            False,
            None,
            None,
            f"the header is not a signature ({len(shown)} character{'s' if len(shown) != 1 else ''}): "
            "expected sha256=<64 hex>, "
            "sha512=<128 hex> or the bare hex digest",
        )
    label, hexdigest, algorithm = lenient
    style = "bare" if not label.strip() else "prefixed"
    header_fix = _header_cause(label, algorithm)
    tried: list[Trial] = []
    for body_causes, body_text, candidate in body_variants(body):
        for secret_causes, secret_text, key in secret_variants(secret):
            causes = body_causes + secret_causes
            parts = [text for text, extra in ((body_text, body_causes), (secret_text, secret_causes)) if extra]
            if header_fix is not None:
                causes = header_fix[0] + causes
                parts.insert(0, header_fix[1])
            if not causes:
                continue  # the plain case, already known not to match
            expected = signing.digest(candidate, key, algorithm)
            matches = hmac.compare_digest(expected, hexdigest)
            tried.append(Trial(causes, _phrase(parts), matches))
    found = tuple(sorted((t for t in tried if t.matches), key=lambda t: len(t.causes)))
    if found:
        summary = f"the signature does not match as given; it matches with {found[0].description}"
    else:
        summary = (
            f"the signature does not match, and none of {len(tried)} usual causes explains it: "
            "the secret is wrong or the body is not the one that was signed"
        )
    return Diagnosis(False, algorithm, style, summary, found, tuple(tried))
