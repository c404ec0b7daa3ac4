"""The one redaction rule: what a credential looks like once it is shown, logged or put in JSON.

- Credential headers (``CREDENTIAL_HEADERS``, plus any name a caller's auth configuration marks
  secret, such as a custom API-key header) keep their name and lose their value, which becomes
  ``REDACTED``. An ``Authorization``/``Proxy-Authorization`` value keeps its scheme word
  (``Basic [redacted]``, ``Bearer [redacted]``), so a reader still sees which kind was sent.
- A URL keeps everything but the password of its user info: ``http://user:[redacted]@host/path``.

The receiver, the inspector and the sender's log all use these functions, so a log never keeps
what the inspector hides. Pure functions, no I/O; cheap when there is nothing to redact (the
usual case): a set-disjoint check for headers, one ``in`` for URLs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: What a credential's value becomes. One marker everywhere: records, logs, --json, the inspector.
REDACTED = "[redacted]"

#: Header names (lower case) whose values are credentials, wherever they are shown or recorded.
CREDENTIAL_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-amz-security-token",
    }
)

Pairs = tuple[tuple[str, str], ...]


def secret_headers(*extra: str | None) -> frozenset[str]:
    """``CREDENTIAL_HEADERS`` plus the names an auth configuration marks secret (any case; None skipped)."""
    more = {name.strip().lower() for name in extra if name}
    return CREDENTIAL_HEADERS | more if more else CREDENTIAL_HEADERS


def redact_value(name: str, value: str) -> str:
    """The shown form of credential header ``name``'s value: its scheme word kept for an Authorization."""
    if name.lower().endswith("authorization"):
        scheme, space, _ = value.strip().partition(" ")
        if space and len(scheme) <= 20 and scheme.replace("-", "").isalnum():
            return f"{scheme} {REDACTED}"
    return REDACTED


def redact_pairs(headers: Pairs, names: frozenset[str] = CREDENTIAL_HEADERS) -> Pairs:
    """``(name, value)`` pairs with every credential value redacted. ``names`` are lower case;
    header names may be in any case. The same tuple comes back when there is nothing to redact."""
    if names.isdisjoint([name.lower() for name, _ in headers]):  # the usual case: nothing to redact
        return headers
    return tuple((name, redact_value(name, value) if name.lower() in names else value) for name, value in headers)


def redact_lists(
    headers: Iterable[list[str] | tuple[str, str]], names: frozenset[str] = CREDENTIAL_HEADERS
) -> list[list[str]]:
    """Header pairs as JSON lists (``[[name, value], ...]``), credential values redacted."""
    return [[name, redact_value(name, value) if name.lower() in names else value] for name, value in headers]


def redact_mapping(headers: Mapping[str, str], names: frozenset[str] = CREDENTIAL_HEADERS) -> dict[str, str]:
    """A ``{name: value}`` mapping with every credential value redacted (names in any case)."""
    return {name: redact_value(name, value) if name.lower() in names else value for name, value in headers.items()}


def redact_url(url: str) -> str:
    """``url`` with the password of its user info replaced: ``http://user:[redacted]@host/path``.

    A URL without user info comes back unchanged (one ``in`` check). Only the authority (between
    ``//`` and the next ``/``, ``?`` or ``#``) is looked at, so an ``@`` in a path or query stays.
    """
    if "@" not in url:
        return url
    start = url.find("//")
    if start < 0:
        return url
    start += 2
    end = len(url)
    for stop in "/?#":
        found = url.find(stop, start)
        if 0 <= found < end:
            end = found
    authority = url[start:end]
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        return url
    user, colon, password = userinfo.partition(":")
    if not colon or password == REDACTED:
        return url
    return f"{url[:start]}{user}:{REDACTED}@{hostport}{url[end:]}"


def has_redacted_password(url: str) -> bool:
    """Whether ``url`` carries a password that was redacted (so it cannot be used to send again)."""
    return f":{REDACTED}@" in url
