import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_hooks import sign, verify
from connect_hooks.errors import BadInput
from connect_hooks.sender.sending import SendSettings, prepare
from connect_hooks.signing import Keyed, digest, parse_header

# RFC 4231 test cases 1, 2, 3, 4, 6 and 7: (key, data, HMAC-SHA-256, HMAC-SHA-512).
RFC4231 = [
    (
        b"\x0b" * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
        "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
    ),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
    ),
    (
        b"\xaa" * 20,
        b"\xdd" * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
        "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
        "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb",
    ),
    (
        bytes(range(1, 26)),
        b"\xcd" * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
        "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
        "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd",
    ),
    (
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
        "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
    ),
    (
        b"\xaa" * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data. "
        b"The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
        "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
        "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58",
    ),
]


@pytest.mark.parametrize(("key", "data", "sha256", "sha512"), RFC4231)
def test_rfc4231_vectors(key: bytes, data: bytes, sha256: str, sha512: str) -> None:
    assert digest(data, key, "sha256") == sha256
    assert digest(data, key, "sha512") == sha512
    assert sign(data, key) == f"sha256={sha256}"
    assert sign(data, key, "sha512", "bare") == sha512


def test_a_keyed_signer_gives_what_digest_gives_every_time_for_every_key() -> None:
    """The receiver keys the HMAC once per secret and copies it per body: the RFC vectors, twice over."""
    for key, data, sha256, sha512 in RFC4231:
        keyed = Keyed(key)
        for _ in range(2):  # the keyed state is copied, never consumed
            assert (keyed.digest(data, "sha256"), keyed.digest(data, "sha512")) == (sha256, sha512)
    keyed = Keyed("hub-secret-never-shown")
    assert keyed.digest(b"{}") == digest(b"{}", "hub-secret-never-shown")
    assert repr(keyed) == "Keyed(<secret>)"  # never the secret
    with pytest.raises(ValueError, match="unknown algorithm 'md5'"):
        keyed.digest(b"{}", "md5")


@pytest.mark.parametrize(("key", "data", "sha256", "sha512"), RFC4231)
def test_keyed_verifies_names_the_algorithm_that_verifies_and_agrees_with_verify(
    key: bytes, data: bytes, sha256: str, sha512: str
) -> None:
    """The receiver's check (keyed once) accepts and refuses exactly what ``verify`` does."""
    keyed = Keyed(key)
    secret = key.decode("latin-1")
    cases = {
        f"sha256={sha256}": "sha256",  # how Webex Connect signs: compared whole
        f" SHA256={sha256.upper()} ": "sha256",  # other spellings are parsed
        sha256: "sha256",
        f"sha512={sha512}": "sha512",
        sha512: "sha512",
        f"sha256={sha512}": None,  # the wrong length for its algorithm
        f"sha256={'0' * 64}": None,
        "sha256=\u00e9": None,
        "": None,
    }
    for header, algorithm in cases.items():
        assert keyed.verifies(data, header) == algorithm, header
        if key.isascii():  # verify takes a str secret
            assert verify(data, header, secret) == (algorithm is not None), header


def test_text_secret_is_utf8() -> None:
    body = b'{"a":1}'
    expected = hmac.new("sécret".encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, "sécret") == "sha256=" + expected


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
@pytest.mark.parametrize("style", ["prefixed", "bare"])
def test_verify_accepts_every_form(algorithm: str, style: str) -> None:
    body = b'{"deliveryInfoNotification":{}}'
    header = sign(body, "hub", algorithm, style)
    assert verify(body, header, "hub")
    assert verify(body, header.upper() if style == "bare" else header, "hub")
    assert not verify(body + b"\n", header, "hub")
    assert not verify(body, header, "other")


@pytest.mark.parametrize(
    "header",
    ["", "sha256=", "sha1=" + "0" * 40, "md5=abc", "sha256=" + "g" * 64, "0" * 63, "sha512=" + "0" * 64, "=" * 70],
)
def test_malformed_headers_do_not_verify(header: str) -> None:
    assert parse_header(header) is None
    assert verify(b"x", header, "s") is False


def test_unknown_algorithm_and_style_are_refused_naming_what_there_is() -> None:
    with pytest.raises(ValueError) as caught:
        sign(b"x", "s", "sha1")
    assert str(caught.value) == "unknown algorithm 'sha1': use one of sha256, sha512"
    with pytest.raises(ValueError) as caught:
        digest(b"x", "s", "md5")
    assert str(caught.value) == "unknown algorithm 'md5': use one of sha256, sha512"
    with pytest.raises(ValueError) as caught:
        sign(b"x", "s", "sha256", "weird")
    assert str(caught.value) == "unknown signature style 'weird': use one of prefixed, bare"


def test_a_missing_header_or_a_value_of_the_wrong_type_never_verifies() -> None:
    """Receivers pass what their framework hands them: None, the decoded text, bytes headers."""
    body, secret = b'{"a":1}', "hub"
    header = sign(body, secret)
    assert verify(body, header, secret)  # the same call with the right types does verify
    untyped: list[tuple[object, object, object]] = [
        (body, None, secret),
        (body.decode(), header, secret),  # request.text instead of the raw bytes
        (bytearray(body), header, secret),
        (body, header.encode(), secret),
        (body, header, secret.encode()),
    ]
    for given_body, given_header, given_secret in untyped:
        assert verify(given_body, given_header, given_secret) is False  # type: ignore[arg-type]


@given(body=st.binary(), secret=st.text(min_size=1), algorithm=st.sampled_from(["sha256", "sha512"]))
def test_sign_verify_round_trip(body: bytes, secret: str, algorithm: str) -> None:
    assert verify(body, sign(body, secret, algorithm), secret)
    assert verify(body, sign(body, secret, algorithm, "bare"), secret)


@given(header=st.text(), body=st.binary(), secret=st.text())
def test_verify_never_raises(header: str, body: bytes, secret: str) -> None:
    assert verify(body, header, secret) in (True, False)


def test_send_names_the_algorithms_there_are() -> None:
    settings = SendSettings(url="https://example.test/hooks", targets=("inbound/sms/mo",), secret="s", algorithm="sha1")
    with pytest.raises(BadInput) as caught:
        prepare(settings, stdin=bytes)
    assert str(caught.value) == "unknown algorithm 'sha1': use sha256 or sha512"
