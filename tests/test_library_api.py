"""The library API for receivers: ``connect_hooks.sign`` and ``connect_hooks.verify``."""

from __future__ import annotations

import hashlib
import hmac

import pytest

import connect_hooks

BODY = b'{"deliveryInfoNotification":{"deliveryInfo":{"deliveryStatus":"Delivered"}}}'
SECRET = "s3cret"


def independent(body: bytes, secret: str, algorithm: str) -> str:
    return hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_sign_is_the_prefixed_lowercase_hex_hmac_of_the_exact_bytes(algorithm: str) -> None:
    assert connect_hooks.sign(BODY, SECRET, algorithm) == f"{algorithm}={independent(BODY, SECRET, algorithm)}"


def test_sign_defaults_to_sha256() -> None:
    assert connect_hooks.sign(BODY, SECRET) == "sha256=" + independent(BODY, SECRET, "sha256")


# Both algorithms in both styles verify (and a changed body or secret does not): test_signing.test_verify_accepts_every_form.


def test_verify_accepts_an_uppercase_digest_and_surrounding_space() -> None:
    header = " sha256=" + independent(BODY, SECRET, "sha256").upper() + " "
    assert connect_hooks.verify(BODY, header, SECRET) is True


@pytest.mark.parametrize(
    "header",
    [None, "sha256=" + "0" * 128, "sha256=zz" + "0" * 62],  # more malformed ones: test_signing
)
def test_verify_is_false_on_a_missing_or_malformed_header(header: str | None) -> None:
    assert connect_hooks.verify(BODY, header, SECRET) is False
