"""Text from outside (payloads, answers, headers, URLs, file names), made safe for people and for the wire.

``visible`` is what every people's output (live view, tables, evidence, attempt lines) passes such
text through: a terminal shows it, and does not obey it. ``header_problem`` says what keeps a
``Name: value`` pair off the wire. Pure functions: no click, no rich.
"""

from __future__ import annotations

import string

#: What a control character is shown as, when Python's own short escape is the clearer one.
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char.isprintable():
        return char
    short = _SHORT.get(char)
    if short is not None:
        return short
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """``text`` with every character a terminal would not print as itself shown as an escape.

    ESC, BEL, CR, LF, NUL and the other control characters (C0, DEL, C1), format characters such as
    the bidi overrides, line and paragraph separators and other non-printable characters become
    ``\\x1b``, ``\\x07``, ``\\r``, ``\\n``, ``\\u202e``...: an answer cannot set the terminal's
    title, clear the screen or forge lines. Printable text (any script, emoji) is returned as is,
    and at once when it is all printable (the common case: the live view calls this per request).
    """
    if text.isprintable():
        return text
    return "".join([_escape(char) for char in text])


#: The characters of a header name (RFC 9110 ``token``).
TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)


def _unsendable(char: str) -> bool:
    code = ord(char)
    return code > 0xFF or (code < 0x20 and char != "\t") or 0x7F <= code <= 0x9F


def header_problem(name: str, value: str) -> str | None:
    """Why ``name: value`` cannot be sent as a header, or None when it can (never quoting the value).

    A name is a token (letters, digits, ``!#$%&'*+-.^_`|~``). A value is latin-1 text without control
    characters (tab allowed): its characters go out as one byte each (ASCII, and 0xA0-0xFF as HTTP's
    obs-text, so ``café`` arrives as ``caf\\xe9``, which a receiver decodes as latin-1).
    """
    if not name or not TOKEN_CHARS.issuperset(name):
        return (
            f"the header name {visible(name)!r} has characters a header name cannot have: "
            "use letters, digits and !#$%&'*+-.^_`|~ only"
        )
    where = next((index for index, char in enumerate(value) if _unsendable(char)), None)
    if where is None:
        return None
    char = value[where]
    return (
        f"header values must be latin-1 text without control characters, and character {where + 1} of the "
        f"{name} value is U+{ord(char):04X}: write it in ASCII (or latin-1), e.g. percent-encoded"
    )
