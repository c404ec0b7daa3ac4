"""Receivers that verify the hub signature wrongly, each in one usual way, written from scratch.

Each is a ``conform_receivers.Receiver`` whose ``verified`` computes what a receiver with that
mistake computes, with ``hmac``/``hashlib`` directly (not connect_hooks' own signing code), so
that ``conform``'s diagnosis is checked against an independent idea of each mistake.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from tests.conform_receivers import SECRET, Receiver


def hexdigest(key: str, body: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(key.encode(), body, getattr(hashlib, algorithm)).hexdigest()


class ReserializesWithDefaults(Receiver):
    """``json.dumps(json.loads(body))``: Python's default separators ', ' and ': '."""

    def verified(self, body: bytes, header: str) -> bool:
        again = json.dumps(json.loads(body)).encode()
        return hmac.compare_digest(header, "sha256=" + hexdigest(self.secret, again))


class ReserializesCompact(Receiver):
    """``JSON.stringify(JSON.parse(body))`` in Python: compact, UTF-8 kept, ``\\/`` and numbers re-made."""

    def verified(self, body: bytes, header: str) -> bool:
        again = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
        return hmac.compare_digest(header, "sha256=" + hexdigest(self.secret, again))


class SecretWithNewline(Receiver):
    """Reads the secret from a file with ``open(...).read()``: the trailing newline is part of the key."""

    def __init__(self) -> None:
        super().__init__(SECRET + "\n")

    def verified(self, body: bytes, header: str) -> bool:
        return hmac.compare_digest(header, "sha256=" + hexdigest(self.secret, body))


class ExpectsBareHex(Receiver):
    """Compares the whole header with the hex digest, as if Webex Connect sent no 'sha256=' prefix."""

    def verified(self, body: bytes, header: str) -> bool:
        return hmac.compare_digest(header, hexdigest(self.secret, body))


class ExpectsSha512(Receiver):
    """Computes HMAC-SHA512 and compares it with what follows the '=' of the header."""

    def verified(self, body: bytes, header: str) -> bool:
        return hmac.compare_digest(header.partition("=")[2], hexdigest(self.secret, body, "sha512"))


class ExpectsUpperHex(Receiver):
    """Compares with an upper-case hex digest (as .NET's Convert.ToHexString makes it), case-sensitively."""

    def verified(self, body: bytes, header: str) -> bool:
        return hmac.compare_digest(header, "sha256=" + hexdigest(self.secret, body).upper())


class RemovesWhiteSpace(Receiver):
    """Removes every space from the body first, as Webex Connect's FAQ sample tells the reader to."""

    def verified(self, body: bytes, header: str) -> bool:
        return hmac.compare_digest(header, "sha256=" + hexdigest(self.secret, body.replace(b" ", b"")))


class HasAnotherSecret(Receiver):
    """Correct code, configured with another secret: no usual mistake explains its refusals."""

    def __init__(self) -> None:
        super().__init__("not-the-secret-conform-was-given")


class RefusesEveryPostWith400(Receiver):
    """Answers 400 to every notification (a body it cannot use, whatever the signature)."""

    async def accept(self, document: object, headers: dict[str, str]) -> int:
        return 400
