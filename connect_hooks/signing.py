"""The hub signature: HMAC (RFC 2104) of the exact body bytes, keyed with the hub secret.

Webex Connect sends it in ``x-hub-signature`` as ``sha256=<hex>`` (or ``sha512=<hex>``); some
configurations send the bare hex digest. ``verify`` accepts all of these.
"""

from __future__ import annotations

HEADER = "x-hub-signature"
ALGORITHMS: tuple[str, ...] = ("sha256", "sha512")
#: Hex digest length per algorithm: how a bare signature reveals its algorithm.
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
STYLES: tuple[str, ...] = ("prefixed", "bare")


def digest(body: bytes, secret: str | bytes, algorithm: str = "sha256") -> str:
    """Lowercase hex HMAC of ``body`` keyed with ``secret`` (a str is encoded as UTF-8)."""
    if algorithm not in ALGORITHMS:
        raise _unknown(algorithm)
    import hmac  # here, not at the top: 'policy' and '--help' import this module for its constants only

    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, body, algorithm).hexdigest()


class Keyed:
    """``digest`` under one secret, keyed once: a receiver checks every request with the same secret.

    Keying an HMAC costs as much as hashing a small body, so each algorithm's keyed state is made
    once and copied per body. ``Keyed(secret).digest(body, algorithm) == digest(body, secret, algorithm)``.
    """

    def __init__(self, secret: str | bytes) -> None:
        import hmac

        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        self._keyed = {algorithm: hmac.new(key, digestmod=algorithm) for algorithm in ALGORITHMS}
        self._same = hmac.compare_digest

    def __repr__(self) -> str:
        return "Keyed(<secret>)"  # never the secret

    def digest(self, body: bytes, algorithm: str = "sha256") -> str:
        keyed = self._keyed.get(algorithm)
        if keyed is None:
            raise _unknown(algorithm)
        mac = keyed.copy()
        mac.update(body)
        return mac.hexdigest()

    def verifies(self, body: bytes, header: str) -> str | None:
        """``verify(body, header, secret)`` under this secret: the algorithm that verified, or None.

        How Webex Connect signs (``sha256=<lowercase hex>``) is compared whole, without parsing.
        """
        if header.startswith("sha256=") and header.isascii() and self._same(header, "sha256=" + self.digest(body)):
            return "sha256"
        parsed = parse_header(header)
        if parsed is not None and self._same(self.digest(body, parsed[0]), parsed[1]):
            return parsed[0]
        return None


def _unknown(algorithm: str) -> ValueError:
    return ValueError(f"unknown algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")


def sign(body: bytes, secret: str | bytes, algorithm: str = "sha256", style: str = "prefixed") -> str:
    """The ``x-hub-signature`` header value for exactly these bytes."""
    if style not in STYLES:
        raise ValueError(f"unknown signature style {style!r}: use one of {', '.join(STYLES)}")
    hexdigest = digest(body, secret, algorithm)
    return f"{algorithm}={hexdigest}" if style == "prefixed" else hexdigest


def parse_header(header: str) -> tuple[str, str] | None:
    """Split a header value into (algorithm, hex digest), or None when it is not a signature.

    A bare digest's algorithm is told by its length (64 hex characters: sha256, 128: sha512).
    """
    value = header.strip()
    algorithm, sep, hexdigest = value.partition("=")
    if sep:
        algorithm = algorithm.strip().lower()
        hexdigest = hexdigest.strip().lower()
        if algorithm not in ALGORITHMS:
            return None
    else:
        hexdigest = value.lower()
        matches = [name for name, length in DIGEST_HEX_LENGTHS.items() if len(hexdigest) == length]
        if not matches:
            return None
        algorithm = matches[0]
    if len(hexdigest) != DIGEST_HEX_LENGTHS[algorithm]:
        return None
    if hexdigest.strip("0123456789abcdef"):  # something besides hex digits is left: not a digest
        return None
    return algorithm, hexdigest


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """True when ``header`` is a valid signature of ``body`` under ``secret``.

    Accepts ``sha256=<hex>``, ``sha512=<hex>`` and bare hex; a missing header (None) or a malformed
    one is False, never an exception. The comparison is constant-time.
    """
    if header is None:
        return False
    # Receivers pass whatever their framework hands them: check the types at run time too.
    untyped: tuple[object, object, object] = (body, header, secret)
    if not (isinstance(untyped[0], bytes) and isinstance(untyped[1], str) and isinstance(untyped[2], str)):
        return False
    parsed = parse_header(header)
    if parsed is None:
        return False
    algorithm, hexdigest = parsed
    expected = digest(body, secret, algorithm)
    import hmac

    return hmac.compare_digest(expected, hexdigest)


#: How to fix an empty hub secret on the command line (the library says its own way).
SECRET_SOURCES = "give a non-empty --secret, CONNECT_HOOKS_SECRET or --secret-file"


def check_settings(secret: object, algorithm: object, *, fix_empty: str = SECRET_SOURCES) -> None:
    """The one check of signing settings (send, replay, conform, the plugin): ``BadInput`` in one line.

    ``secret`` is a non-empty str or None (unsigned); ``algorithm`` one of ``ALGORITHMS``.
    """
    from connect_hooks.errors import BadInput

    if secret is not None and not isinstance(secret, str):
        raise BadInput(f"the hub secret must be a str (or None for unsigned), not {type(secret).__name__}")
    if secret == "":
        raise BadInput(f"the hub secret is empty: {fix_empty}")
    if algorithm not in ALGORITHMS:
        raise BadInput(f"unknown algorithm {algorithm!r}: use {' or '.join(ALGORITHMS)}")
