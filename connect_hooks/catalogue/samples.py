"""The sample catalogue: JSON templates of what Webex Connect sends, rendered fresh on each send."""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import json
import os
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connect_hooks.errors import BadInput

if TYPE_CHECKING:
    from connect_hooks.catalogue import setpath

#: A fixed instant for seeded renders, so the same seed gives the same bytes on any day.
SEED_EPOCH = dt.datetime(2026, 1, 15, 9, 30, 0, tzinfo=dt.UTC)


def samples_root() -> Path:
    """Where the templates are: inside the installed package, or ``samples/`` of a checkout.

    The package directory is found from ``__file__`` (what ``importlib.resources`` would find for
    a package on disk) without loading ``importlib.resources``' readers and ``zipfile``: start-up.
    """
    package = Path(__file__).resolve().parents[1]  # connect_hooks/, this module being in catalogue/
    packaged = package / "samples"
    if packaged.is_dir():
        return packaged
    return package.parent / "samples"


@dataclass(frozen=True)
class Template:
    """One sample: its name (``<kind>/<channel>/<status-or-event>``) and what its file holds."""

    name: str
    description: str
    source: str
    generated: tuple[tuple[str, str], ...]
    payload: Any

    @property
    def kind(self) -> str:
        return self.name.split("/")[0]

    @property
    def channel(self) -> str:
        return self.name.split("/")[1]

    @property
    def family(self) -> str:
        """``<kind>/<channel>``: the family whose schema this sample follows."""
        return f"{self.kind}/{self.channel}"

    @property
    def event(self) -> str:
        """The status (for a receipt) or the event (for an inbound sample)."""
        return self.name.split("/")[2]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "channel": self.channel,
            "event": self.event,
            "description": self.description,
            "source": self.source,
            "family": self.family,
            "generated": [path for path, _ in self.generated],
        }


#: The kinds of sample (first part of a name); ``story/...`` files are stories (``catalogue.stories``).
KINDS = ("inbound", "receipt")


@cache
def names() -> tuple[str, ...]:
    root = samples_root()
    found = (p.relative_to(root).with_suffix("").as_posix() for kind in KINDS for p in root.glob(f"{kind}/*/*.json"))
    return tuple(sorted(found))


def is_sample(name: str) -> bool:
    """``name in names()``, from one directory listing instead of the whole catalogue's (start-up)."""
    parts = name.split("/")
    if len(parts) != 3 or parts[0] not in KINDS or any(part in ("", ".", "..") for part in parts):
        return False
    folder = samples_root() / parts[0] / parts[1]
    return folder.is_dir() and f"{parts[2]}.json" in os.listdir(folder)


@cache
def get(name: str) -> Template:
    if not is_sample(name):
        raise BadInput(unknown_name_message(name))
    path = samples_root() / f"{name}.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    return Template(
        name=name,
        description=raw["description"],
        source=raw["source"],
        generated=tuple(raw.get("generated", {}).items()),
        payload=raw["payload"],
    )


def is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def unknown_name_message(name: str) -> str:
    """'no sample named ...' with the closest names, or the glob a partial name stands for."""
    import difflib

    prefix = name.rstrip("/") + "/"
    if any(n.startswith(prefix) for n in names()):
        return f"no sample named {name!r}: it is a group, give a glob such as '{prefix}*' or a full name"
    close = difflib.get_close_matches(name, names(), n=3, cutoff=0.6)
    if not close:
        # A right status under a wrong channel (or the reverse) is far from the whole name:
        # compare the last part on its own too.
        last = name.rsplit("/", 1)[-1]
        by_last = {n.rsplit("/", 1)[-1]: n for n in reversed(names())}
        close = [by_last[c] for c in difflib.get_close_matches(last, list(by_last), n=1, cutoff=0.75)]
    hint = f"did you mean {', '.join(close)}?" if close else "run 'connect-hooks samples list' to see them"
    return f"no sample named {name!r}: {hint}"


def match(pattern: str) -> list[str]:
    """Sample names matching a name or a glob, sorted; bad input when none does."""
    if is_glob(pattern):
        found = [n for n in names() if fnmatch.fnmatchcase(n, pattern)]
        if not found:
            raise BadInput(f"no sample matches {pattern!r}: run 'connect-hooks samples list' to see them")
        return found
    get(pattern)
    return [pattern]


def select(pattern: str | None = None) -> list[Template]:
    """The templates ``samples list`` shows: all, those matching a glob, or those containing a text."""
    if pattern is None:
        chosen = list(names())
    elif is_glob(pattern):
        chosen = [n for n in names() if fnmatch.fnmatchcase(n, pattern)]
    else:
        chosen = [n for n in names() if pattern in n]
    if not chosen:
        raise BadInput(f"no sample matches {pattern!r}: run 'connect-hooks samples list' to see them all")
    return [get(n) for n in chosen]


#: Templates may ask for these in ``generated``; each makes one fresh string per render.
GENERATORS: dict[str, str] = {
    "uuid": "a random UUID v4 (transid, tid, messageId)",
    "uuid_0": "a random UUID v4 with WhatsApp's '_0' suffix",
    "timestamp": "now, ISO-8601 with milliseconds and the local offset (2026-01-15T09:30:00.000+00:00)",
    "timestamp-utc": "now in UTC, ISO-8601 with milliseconds and 'Z' (2026-01-15T09:30:00.000Z)",
    "epoch-seconds": "now as Unix seconds, a string of digits (1768469400)",
    "rcs-message-id": "26 lowercase letters and digits, as RBM message ids look (ndzkbkvu4kq2njg3w424tyorja)",
}


#: Unseeded ids come from one generator seeded once from the OS (seeding one costs as much as a render).
_UNSEEDED = random.Random()


class Generators:
    """Fresh values for generated fields: random ids and the current time, or seeded ones.

    With a seed, ids come from a generator seeded with the seed and the sample's name (so each
    sample of a seeded glob gets its own ids) and the time is ``SEED_EPOCH``.
    """

    def __init__(self, seed: int | None = None, now: dt.datetime | None = None, name: str = "") -> None:
        self.random = random.Random(f"{seed}:{name}") if seed is not None else _UNSEEDED
        if now is None:
            now = SEED_EPOCH if seed is not None else dt.datetime.now(dt.UTC).astimezone()
        self.now = now

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def timestamp(self) -> str:
        return self.now.isoformat(timespec="milliseconds")

    def timestamp_utc(self) -> str:
        return self.now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def epoch_seconds(self) -> str:
        return str(int(self.now.timestamp()))

    def rcs_message_id(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.random.choice(alphabet) for _ in range(26))

    def lookup(self, generator: str) -> Callable[[], str]:
        table: dict[str, Callable[[], str]] = {
            "uuid": self.uuid,
            "uuid_0": lambda: self.uuid() + "_0",
            "timestamp": self.timestamp,
            "timestamp-utc": self.timestamp_utc,
            "epoch-seconds": self.epoch_seconds,
            "rcs-message-id": self.rcs_message_id,
        }
        if generator not in table:
            raise ValueError(f"unknown generator {generator!r}")
        return table[generator]


def render_document(
    template: Template,
    *,
    seed: int | None = None,
    sets: Sequence[str] = (),
    now: dt.datetime | None = None,
    key: str | None = None,
) -> Any:
    """The payload with fresh generated fields, then every ``--set`` applied in order.

    ``key`` names the seeded stream of ids (default: the sample's name; a story's steps each have their own).
    """
    from connect_hooks.catalogue import setpath

    assignments = [setpath.parse(text) for text in sets]
    document = copy.deepcopy(template.payload)  # never hand out the cached template itself
    gen = Generators(seed, now, key or template.name)
    for path, generator in template.generated:
        setpath.assign(document, _at(path, gen.lookup(generator)()))  # in place: the copy is ours
    for assignment in assignments:
        try:
            setpath.assign(document, assignment)
        except BadInput as exc:
            raise BadInput(f"{template.name}: {exc}") from None
    return document


def _at(path: str, value: str) -> setpath.Assignment:
    """A generated field's value as an assignment (its ``generated`` path is dotted, as ``--set``'s)."""
    from connect_hooks.catalogue import setpath

    return setpath.Assignment(path=tuple(path.split(".")), value=value, text=path)


def compact(document: Any) -> bytes:
    """The wire form: compact JSON, UTF-8, no whitespace between tokens."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def render(name: str, *, seed: int | None = None, sets: Sequence[str] = (), now: dt.datetime | None = None) -> bytes:
    """The bytes ``send`` signs and POSTs for sample ``name``.

    Without ``--set`` the fresh values are put between the template's fixed bytes (``_wire``):
    the same bytes as ``compact(render_document(...))`` at a fraction of the cost, which matters
    when a burst renders every copy afresh (a test holds the two equal for every sample).
    """
    template = get(name)
    if sets:
        return compact(render_document(template, seed=seed, sets=sets, now=now))
    fixed, slots = _wire(name)
    gen = Generators(seed, now, template.name)
    values = [json.dumps(gen.lookup(generator)(), ensure_ascii=False).encode() for _, generator in template.generated]
    parts = [fixed[0]]
    for slot, after in zip(slots, fixed[1:], strict=True):
        parts.append(values[slot])
        parts.append(after)
    return b"".join(parts)


@cache
def _wire(name: str) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """Sample ``name``'s compact bytes cut around its generated values: the fixed pieces, and for
    each gap the index (in ``generated``, the order values are drawn in) of the value it takes."""
    from connect_hooks.catalogue import setpath

    template = get(name)
    document = copy.deepcopy(template.payload)
    marks = {}
    for index, (path, _) in enumerate(template.generated):
        mark = f"\x00{index}\x00"  # JSON writes it as "\u0000<index>\u0000": no sample holds that
        setpath.assign(document, _at(path, mark))
        marks[json.dumps(mark).encode()] = index
    wire = compact(document)
    fixed, slots, start = [], [], 0
    for found in sorted((wire.index(encoded), encoded) for encoded in marks):
        fixed.append(wire[start : found[0]])
        slots.append(marks[found[1]])
        start = found[0] + len(found[1])
    fixed.append(wire[start:])
    return tuple(fixed), tuple(slots)


# ------------------------------------------------------------------------------------- schemas


def schemas_root() -> Path:
    return samples_root() / "schemas"


@cache
def families() -> tuple[str, ...]:
    """Every family that has a schema: ``receipt/<channel>`` and ``inbound/<channel>``, sorted."""
    return tuple(sorted(p.stem.replace("-", "/", 1) for p in schemas_root().glob("*.json")))


def family_of(target: str) -> str:
    """The family a sample name or a family name stands for; bad input when it is neither."""
    if target in families():
        return target
    if target in names():
        return get(target).family
    import difflib

    close = difflib.get_close_matches(target, [*families(), *names()], n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else f"families are {', '.join(families())}"
    raise BadInput(f"no sample or family named {target!r}: {hint}")


def schema(target: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a family, or of the family a sample belongs to."""
    family = family_of(target)
    path = schemas_root() / f"{family.replace('/', '-')}.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document
