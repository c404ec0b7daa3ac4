"""The sample catalogue: JSON templates of what Webex Connect sends, rendered fresh on each send.

A template is a JSON file under ``samples/`` named ``<kind>/<channel>/<status-or-event>.json``::

    {"description": "one line", "generated": {"dotted.path": "generator"}, "payload": {...}}

``generated`` names the fields Webex Connect fills per notification (ids, timestamps); rendering
replaces them with fresh values, reproducibly under a seed.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from connect_hooks.errors import BadInput

#: A fixed instant for seeded renders, so the same seed gives the same bytes on any day.
SEED_EPOCH = dt.datetime(2026, 1, 15, 9, 30, 0, tzinfo=dt.UTC)


def samples_root() -> Path:
    """Where the templates are: inside the installed package, or ``samples/`` of a checkout."""
    packaged = resources.files("connect_hooks").joinpath("samples")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "samples"


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    generated: tuple[tuple[str, str], ...]
    payload: Any

    @property
    def kind(self) -> str:
        return self.name.split("/")[0]

    @property
    def channel(self) -> str:
        return self.name.split("/")[1]

    @property
    def event(self) -> str:
        return self.name.split("/")[2]


@cache
def names() -> tuple[str, ...]:
    root = samples_root()
    return tuple(sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("*/*/*.json")))


@cache
def get(name: str) -> Template:
    if name not in names():
        raise BadInput(unknown_name_message(name))
    path = samples_root() / f"{name}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Template(
        name=name,
        description=raw["description"],
        generated=tuple(raw.get("generated", {}).items()),
        payload=raw["payload"],
    )


def unknown_name_message(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, names(), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else "run 'connect-hooks samples list' to see them"
    return f"no sample named {name!r}: {hint}"


def match(pattern: str) -> list[str]:
    """Sample names matching a name or a glob; bad input when none does."""
    if any(c in pattern for c in "*?["):
        found = [n for n in names() if fnmatch.fnmatchcase(n, pattern)]
        if not found:
            raise BadInput(f"no sample matches {pattern!r}: run 'connect-hooks samples list' to see them")
        return found
    get(pattern)
    return [pattern]


class Generators:
    """Fresh values for generated fields: random ids and the current time, or seeded ones."""

    def __init__(self, seed: int | None = None, now: dt.datetime | None = None) -> None:
        self.random = random.Random(seed)
        if now is None:
            now = SEED_EPOCH if seed is not None else dt.datetime.now(dt.UTC).astimezone()
        self.now = now

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def timestamp(self) -> str:
        return self.now.isoformat(timespec="milliseconds")

    def timestamp_utc(self) -> str:
        return self.now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def lookup(self, generator: str) -> Callable[[], str]:
        table: dict[str, Callable[[], str]] = {
            "uuid": self.uuid,
            "uuid_0": lambda: self.uuid() + "_0",
            "timestamp": self.timestamp,
            "timestamp-utc": self.timestamp_utc,
        }
        if generator not in table:
            raise ValueError(f"unknown generator {generator!r}")
        return table[generator]


def _set_path(document: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def render_document(template: Template, *, seed: int | None = None, now: dt.datetime | None = None) -> Any:
    document = json.loads(json.dumps(template.payload))
    gen = Generators(seed, now)
    for path, generator in template.generated:
        _set_path(document, path, gen.lookup(generator)())
    return document


def compact(document: Any) -> bytes:
    """The wire form: compact JSON, UTF-8, no whitespace between tokens."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def render(name: str, *, seed: int | None = None, sets: Sequence[str] = (), now: dt.datetime | None = None) -> bytes:
    """The bytes ``send`` signs and POSTs for sample ``name``."""
    if sets:
        raise BadInput("--set is not supported yet")
    return compact(render_document(get(name), seed=seed, now=now))
