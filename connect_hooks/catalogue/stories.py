"""Message stories: the receipts (or inbound messages) one message produces over time, as data.

A story file (``samples/story/<channel>/<ending>.json``) lists steps: a sample, the simulated second it is sent
at, and ``--set`` overrides; ``shared`` names the generated fields (the message's ids) every step carries alike.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from connect_hooks.catalogue import samples
from connect_hooks.errors import BadInput

PREFIX = "story/"


@dataclass(frozen=True)
class Step:
    """One notification of a story: which sample, when (simulated seconds after the first), what is changed."""

    sample: str
    at: float
    sets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Story:
    name: str
    description: str
    shared: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def channel(self) -> str:
        return self.name.split("/")[1]

    @property
    def ending(self) -> str:
        return self.name.split("/")[2]

    def offsets(self, *, out_of_order: bool = False) -> list[float]:
        """When each step is delivered (simulated seconds): at its offset, or with ``out_of_order`` last first
        with the same gaps (the payloads still tell the story's own time)."""
        offsets = [step.at for step in self.steps]
        return [offsets[-1] - at for at in offsets] if out_of_order else offsets

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "channel": self.channel,
            "ending": self.ending,
            "description": self.description,
            "shared": list(self.shared),
            "steps": [{"sample": s.sample, "at": s.at, "set": list(s.sets)} for s in self.steps],
        }


@dataclass(frozen=True)
class RenderedStep:
    """A step made fresh: its sample, its offset and the bytes ``send`` signs."""

    sample: str
    at: float
    body: bytes


def is_story(name: str) -> bool:
    return name.startswith(PREFIX)


@cache
def names() -> tuple[str, ...]:
    root = samples.samples_root()
    return tuple(sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.glob("story/*/*.json")))


@cache
def get(name: str) -> Story:
    if name not in names():
        raise BadInput(_unknown(name))
    raw = json.loads((samples.samples_root() / f"{name}.json").read_text(encoding="utf-8"))
    steps = tuple(Step(s["sample"], float(s["at"]), tuple(s.get("set", ()))) for s in raw["steps"])
    return Story(name, raw["description"], tuple(raw["shared"]), steps)


def _unknown(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, names(), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "run 'connect-hooks samples list story' to see them"
    return f"no story named {name!r}: {hint}"


def match(pattern: str) -> list[str]:
    """Story names matching a name or a glob; bad input when none does."""
    import fnmatch

    if samples.is_glob(pattern):
        found = [n for n in names() if fnmatch.fnmatchcase(n, pattern)]
        if not found:
            raise BadInput(f"no story matches {pattern!r}: run 'connect-hooks samples list story' to see them")
        return found
    get(pattern)
    return [pattern]


def render(name: str, *, seed: int | None = None, now: dt.datetime | None = None) -> tuple[RenderedStep, ...]:
    """Every step of story ``name``, fresh: ids shared across steps, timestamps rising with each step's offset."""
    story = get(name)
    if now is None:
        now = samples.SEED_EPOCH if seed is not None else dt.datetime.now(dt.UTC).astimezone()
    documents = [
        samples.render_document(
            samples.get(step.sample),
            seed=seed,
            sets=step.sets,
            now=now + dt.timedelta(seconds=step.at),
            key=f"{name}#{number}",
        )
        for number, step in enumerate(story.steps)
    ]
    for path in story.shared:
        _share(documents, path.split("."))
    return tuple(
        RenderedStep(step.sample, step.at, samples.compact(document))
        for step, document in zip(story.steps, documents, strict=True)
    )


def _share(documents: Sequence[Any], path: Sequence[str]) -> None:
    """Give every document the first one's value at ``path`` (the message's id)."""
    *parents, last = path
    value = _parent(documents[0], parents)[last]
    for document in documents[1:]:
        _parent(document, parents)[last] = value


def _parent(document: Any, parents: Sequence[str]) -> Any:
    for part in parents:
        document = document[part]
    return document
