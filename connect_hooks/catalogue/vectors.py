"""Test vectors for a receiver's x-hub-signature verifier, in any language (``connect-hooks sign --vectors``).

Each vector is a body, a secret, a header value and the verdict ``connect_hooks.verify`` gives. The
secret is made up and fixed (``TEST_SECRET``): it is no credential, and never the user's hub secret.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from connect_hooks import signing

#: The made-up secret of the vectors: published here, so it protects nothing. Never a real hub secret.
TEST_SECRET = "connect-hooks-test-vectors-secret"
#: A second made-up secret: what "wrong secret" signs with.
OTHER_SECRET = "some-other-made-up-secret"
#: A made-up secret beyond ASCII: the key is the secret's UTF-8 bytes.
UNICODE_SECRET = "clé-secrète-🔑"

#: A delivery receipt as Webex Connect sends it: compact JSON, the order of the SMS page's example.
RECEIPT = (
    '{"deliveryInfoNotification":{"deliveryInfo":{"timeStamp":"2026-01-15T09:30:00.000+00:00",'
    '"Description":"Delivered","code":"7500","messageCount":"1","deliveryChannel":"SMS","additionalInfo":"",'
    '"destination":"447700900123","destinationType":"msisdn","deliveryStatus":"Delivered"},"carrier":"USTMO",'
    '"subtid":"","transid":"2f1c6a4e-0b7d-4c1e-9d2a-6f3e8b5a7c91","callbackData":"","correlationid":""}}'
)
#: An incoming SMS with text beyond ASCII, written raw (not \u-escaped) in UTF-8, as Webex Connect sends it.
UNICODE_MESSAGE = (
    '{"userId":"","Channel":"SMS","da":"56263","message_source":"SMS","oa":"447700900123",'
    '"message":"Café ✓ — naïve façade 👋 مرحبا 你好","messageCount":"1","tid":"7d2e9f1a-3c4b-4e5f-8a6b-1c2d3e4f5a6b",'
    '"datetime":"2026-01-15T09:30:00.000Z","ts":"2026-01-15T09:30:00.000Z","x_networkid":"USTMO"}'
)


def _vector(name: str, why: str, body: str, header: str, valid: bool, secret: str = TEST_SECRET) -> dict[str, Any]:
    data = body.encode("utf-8")
    return {
        "name": name,
        "why": why,
        "secret": secret,
        "body": body,
        "body_base64": base64.b64encode(data).decode("ascii"),
        "header": header,
        "valid": valid,
    }


def _valid() -> list[dict[str, Any]]:
    s256 = signing.sign(RECEIPT.encode(), TEST_SECRET)
    return [
        _vector(
            "sha256",
            "What Webex Connect sends: sha256= and the lowercase hex HMAC-SHA256 of the body.",
            RECEIPT,
            s256,
            True,
        ),
        _vector(
            "sha512",
            "A webhook configured for SHA-512: sha512= and 128 lowercase hex digits.",
            RECEIPT,
            signing.sign(RECEIPT.encode(), TEST_SECRET, "sha512"),
            True,
        ),
        _vector(
            "unicode-body",
            "Text beyond ASCII is signed as its UTF-8 bytes: HMAC the raw bytes received, never a decoded and re-encoded string.",
            UNICODE_MESSAGE,
            signing.sign(UNICODE_MESSAGE.encode(), TEST_SECRET),
            True,
        ),
        _vector(
            "empty-body",
            "An empty body has a signature too (HMAC of zero bytes).",
            "",
            signing.sign(b"", TEST_SECRET),
            True,
        ),
        _vector(
            "unicode-secret",
            "The key is the secret's UTF-8 bytes (here a secret beyond ASCII).",
            RECEIPT,
            signing.sign(RECEIPT.encode(), UNICODE_SECRET),
            True,
            secret=UNICODE_SECRET,
        ),
        _vector(
            "bare-hex",
            "No 'sha256=' prefix: some configurations send the bare hex digest (64 digits: SHA-256, 128: SHA-512). "
            "connect_hooks.verify accepts it; a verifier that only ever sees Webex Connect's prefixed form may skip this vector.",
            RECEIPT,
            signing.sign(RECEIPT.encode(), TEST_SECRET, style="bare"),
            True,
        ),
        _vector(
            "upper-case-hex",
            "The same digest in upper-case hex: hex names the same bytes in either case, and connect_hooks.verify "
            "compares digests, not spellings. Webex Connect sends lowercase, so a verifier comparing exact strings "
            "(as the Webex Connect help page's sample does) rejects this safely; if yours does, skip this vector.",
            RECEIPT,
            "sha256=" + s256.removeprefix("sha256=").upper(),
            True,
        ),
    ]


def _other_bytes() -> list[dict[str, Any]]:
    """Invalid: the header of the receipt, over bytes other than the receipt's."""
    s256 = signing.sign(RECEIPT.encode(), TEST_SECRET)
    value = json.loads(RECEIPT)
    cases = [
        (
            "tampered-body",
            "One character of the body changed after signing (code 7500 -> 7501).",
            RECEIPT.replace('"code":"7500"', '"code":"7501"'),
        ),
        (
            "re-serialized-body",
            "The same JSON parsed and written again (indented, keys sorted): other bytes, so no match. "
            "Verify the raw body before parsing it.",
            json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False),
        ),
        (
            "whitespace-changed",
            "Spaces added after ':' and ',' (the same JSON value, other bytes).",
            json.dumps(value, ensure_ascii=False),
        ),
        ("trailing-newline", "A newline added after the body.", RECEIPT + "\n"),
    ]
    return [_vector(name, why, body, s256, False) for name, why, body in cases]


def _wrong_headers() -> list[dict[str, Any]]:
    """Invalid: the receipt as signed, with a header that does not sign it under the secret given."""
    digest = signing.digest(RECEIPT.encode(), TEST_SECRET)
    cases = [
        (
            "wrong-secret",
            "Signed with another secret than the one given.",
            signing.sign(RECEIPT.encode(), OTHER_SECRET),
        ),
        (
            "secret-with-newline",
            "Signed with the secret plus a trailing newline (a secret file read without stripping it).",
            signing.sign(RECEIPT.encode(), TEST_SECRET + "\n"),
        ),
        (
            "truncated-digest",
            "The digest cut to 40 hex digits (the '40-byte' of Webex Connect's pages is a SHA-1 leftover).",
            "sha256=" + digest[:40],
        ),
        ("wrong-algorithm-label", "A SHA-256 digest labelled sha512=.", "sha512=" + digest),
        (
            "sha1",
            "HMAC-SHA1: not allowed for new Webex Connect configurations since v5.6.0; connect_hooks.verify refuses it.",
            "sha1=" + _sha1(RECEIPT.encode(), TEST_SECRET),
        ),
        ("prefix-without-equals", "'sha256' glued to the digest without '='.", "sha256" + digest),
        ("empty-header", "An empty x-hub-signature.", ""),
    ]
    return [_vector(name, why, RECEIPT, header, False) for name, why, header in cases]


def _sha1(body: bytes, secret: str) -> str:
    import hmac

    return hmac.new(secret.encode("utf-8"), body, "sha1").hexdigest()


def vectors() -> dict[str, Any]:
    """The document ``sign --vectors`` prints: what the vectors are, and the vectors."""
    return {
        "description": (
            "Test vectors for an x-hub-signature verifier. Each: the secret, the body (UTF-8 text, and body_base64: "
            "its exact bytes), the header value and whether connect_hooks.verify accepts it. The secrets are made up "
            "for these vectors and published: they are not credentials. Sign and verify the bytes of body_base64."
        ),
        "header": signing.HEADER,
        "vectors": [*_valid(), *_other_bytes(), *_wrong_headers()],
    }
