"""A small YAML emitter for JSON data: block mappings and sequences, every string double-quoted.

Enough for ``samples openapi --format yaml`` without a YAML library at run time. Strings are
written with JSON's escapes (a subset of YAML's double-quoted ones), plus YAML escapes for the
characters YAML does not allow raw or reads as line breaks, so any YAML 1.1 or 1.2 reader gets back
exactly the data given. Keys are plain only where no reader could take them for anything but a string.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.-]*")
#: Words YAML 1.1 readers (PyYAML) resolve to booleans or null, whatever their case.
_SPECIAL = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}
#: Characters to escape besides JSON's: outside YAML's printable set, or line breaks to YAML 1.1.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def dump(data: Any) -> str:
    """``data`` (what ``json.loads`` returns) as a YAML document, ending with a newline."""
    return "".join(_lines(data, 0)) if _is_block(data) else _scalar(data) + "\n"


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and len(value) > 0


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_key(key)}:"
            if _is_block(item):
                out.append(head + "\n")
                out.extend(_lines(item, indent + 2))
            else:
                out.append(f"{head} {_scalar(item)}\n")
    else:
        for item in value:
            if _is_block(item):
                nested = _lines(item, indent + 2)
                out.append(f"{pad}- {nested[0].lstrip(' ')}")  # the first entry on the dash's line
                out.extend(nested[1:])
            else:
                out.append(f"{pad}- {_scalar(item)}\n")
    return out


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"mapping keys must be strings, not {type(key).__name__}")
    if _PLAIN_KEY.fullmatch(key) and key.lower() not in _SPECIAL:
        return key
    return _string(key)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict | list) and not value:
        return "{}" if isinstance(value, dict) else "[]"
    raise TypeError(f"not JSON data: {type(value).__name__}")


def _float(value: float) -> str:
    """``repr`` with a '.' in the mantissa (YAML 1.1 reads '1e-05' as a string, '1.0e-05' as a float)."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not JSON data")
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + (e + exponent if e else "")


def _string(text: str) -> str:
    quoted = json.dumps(text, ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)
