"""Target URLs: what Webex Connect accepts, and what connect-hooks lets a developer use locally."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from connect_hooks.errors import BadInput
from connect_hooks.redaction import redact_url

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True)
class TargetURL:
    url: str
    scheme: str
    host: str
    note: str | None = None  # a one-line remark for the user, e.g. about plain HTTP

    @property
    def shown(self) -> str:
        """The URL as it may be printed, logged or put in JSON: a password in it is redacted."""
        return redact_url(self.url)


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_url(url: str) -> TargetURL:
    """Parse an http(s) URL with a host; anything else is bad input (the message never shows a password)."""
    bad = next((i for i, c in enumerate(url.strip()) if c < " " or c == "\x7f"), None)
    if bad is not None:  # httpx refuses them later, with a traceback
        where = f"U+{ord(url.strip()[bad]):04X} at position {bad + 1}"
        raise BadInput(f"the URL holds a control character ({where}): percent-encode it, e.g. %1B for ESC")
    shown = redact_url(url)
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        raise BadInput(f"{shown!r} is not a valid URL ({exc}): give one like https://example.test/hooks") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise BadInput(f"{shown!r} is not an http(s) URL: give one like https://example.test/hooks")
    host = parts.hostname or ""
    if not host:
        raise BadInput(f"{shown!r} has no host: give one like https://example.test/hooks")
    if port == 0:
        raise BadInput(f"{shown!r} has port 0: give a port from 1 to 65535")
    return TargetURL(url=url.strip(), scheme=scheme, host=host)


def parse_send_url(url: str, *, allow_http: bool = False) -> TargetURL:
    """A URL ``send`` may POST to: https, or http to loopback (or anywhere with ``allow_http``)."""
    target = parse_url(url)
    shown = target.shown
    if target.scheme == "https":
        return target
    if is_loopback(target.host):
        note = "note: Webex Connect only calls https:// URLs; plain http is allowed here because the host is loopback"
        return TargetURL(target.url, target.scheme, target.host, note)
    if allow_http:
        note = "note: Webex Connect only calls https:// URLs; sending over plain http because of --allow-http"
        return TargetURL(target.url, target.scheme, target.host, note)
    raise BadInput(
        f"{shown!r} is plain http to a non-loopback host: Webex Connect only calls https:// URLs; "
        "use https, or pass --allow-http to send anyway"
    )
