"""``--set PATH=VALUE`` and ``--set PATH:=JSON``: change one field of a JSON document."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from connect_hooks.errors import BadInput


@dataclass(frozen=True)
class Assignment:
    """One parsed ``--set``: where, and the value to put there."""

    path: tuple[str, ...]
    value: Any
    text: str  # what the user typed, for messages

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def _encodable(text: str) -> bool:
    """False for strings that cannot be UTF-8 (lone surrogates from undecodable arguments)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(text: str) -> Assignment:
    """``'a.b=text'`` or ``'a.b:=<json>'`` -> Assignment; bad input otherwise."""

    def bad(reason: str) -> BadInput:
        return BadInput(f"--set {text!r} {reason}")

    path_text, sep, raw = text.partition("=")
    if not sep:
        raise bad("has no '=': write PATH=VALUE for a string or PATH:=JSON for any value")
    as_json = path_text.endswith(":")
    if as_json:
        path_text = path_text[:-1]
    if not path_text:
        raise bad("has no PATH before '=': write it like deliveryInfoNotification.transid=abc")
    path = tuple(path_text.split("."))
    if any(part == "" for part in path):
        raise bad("has an empty part in its PATH: separate keys with single dots, like a.b.0.c")
    if not _encodable(text):
        raise bad("is not valid UTF-8 text: give the value as UTF-8")
    value: Any = raw
    if as_json:
        try:
            value = json.loads(raw, parse_constant=_refuse_constant)
        except RecursionError:
            raise bad("holds JSON nested too deeply: give a flatter value") from None
        except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers too long to convert
            raise bad(f"holds invalid JSON after ':=' ({exc}): quote strings, like :='\"text\"'") from None
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise bad("holds a lone surrogate escape in its JSON: give valid text") from None
    return Assignment(path=path, value=value, text=text)


def _describe(path: Iterable[str]) -> str:
    dotted = ".".join(path)
    return repr(dotted) if dotted else "the top level"


def _kind(node: Any) -> str:
    if isinstance(node, dict):
        return "an object"
    if isinstance(node, list):
        return "a list"
    if isinstance(node, str):
        return "a string"
    if isinstance(node, bool):
        return "a boolean"
    if node is None:
        return "null"
    return "a number"


def _index(node: list[Any], key: str, here: tuple[str, ...], assignment: Assignment, *, last: bool) -> int:
    """The list index ``key`` names; bad input unless it is a number in range (or n when appending)."""
    limit = len(node) if last else len(node) - 1
    if not key.isascii() or not key.isdigit() or int(key) > limit:
        span = f"0..{limit}" if limit >= 0 else "0"
        raise BadInput(
            f"cannot set {assignment.dotted!r}: {_describe(here)} is a list of {len(node)}, "
            f"so {key!r} must be an index in {span}"
        )
    return int(key)


def assign(document: Any, assignment: Assignment) -> None:
    """Make the assignment in ``document`` itself; bad input when the path cannot be reached.

    Give it a document of your own (``catalogue.render_document`` makes one copy of the template
    and makes every generated field and ``--set`` in it).
    """
    node = document
    *parents, last = assignment.path
    here: tuple[str, ...] = ()
    for key in parents:
        if isinstance(node, dict):
            if key not in node:
                raise BadInput(
                    f"cannot set {assignment.dotted!r}: {_describe((*here, key))} does not exist "
                    f"(nearest existing path: {_describe(here)}); create it first with "
                    f"--set '{'.'.join((*here, key))}:={{}}'"
                )
            node = node[key]
        elif isinstance(node, list):
            node = node[_index(node, key, here, assignment, last=False)]
        else:
            raise BadInput(
                f"cannot set {assignment.dotted!r}: {_describe(here)} is {_kind(node)}, "
                "not an object or a list: set it whole instead"
            )
        here = (*here, key)
    if isinstance(node, dict):
        node[last] = assignment.value
    elif isinstance(node, list):
        position = _index(node, last, here, assignment, last=True)
        if position == len(node):
            node.append(assignment.value)
        else:
            node[position] = assignment.value
    else:
        raise BadInput(
            f"cannot set {assignment.dotted!r}: {_describe(here)} is {_kind(node)}, "
            "not an object or a list: set it whole instead"
        )
