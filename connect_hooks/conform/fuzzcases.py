"""What ``fuzz`` sends and how a finding is made small: bodies valid under each family's JSON Schema,
leaning towards what breaks receivers, plus the fields Webex Connect may add tomorrow; and the shrinker.

The structure comes from the schemas through hypothesis-jsonschema (each field's schema becomes a
strategy; objects are assembled with ``fixed_dictionaries``: required keys always, optional ones
maybe absent). A seeded mutator then puts receiver-breaking text into the free-text fields.
hypothesis and hypothesis-jsonschema are the ``fuzz`` extra: imported here only when cases are made.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.errors import BadInput

#: The largest body made: conform's large-body figure. The fact sheet gives Webex Connect no size
#: limit; 256 KiB is what an incoming email with its HTML reaches, and what conform requires.
BODY_LIMIT = 256 * 1024
#: Bodies derived from each structure hypothesis draws (the mutator is cheap, hypothesis is not).
PER_DRAW = 8
#: The share of bodies that carry "may add tomorrow" fields (unknown keys at every level).
TOMORROW_SHARE = 0.2
#: The chance that a free-text field gets a receiver-breaking value, and that an optional key is dropped.
NASTY_SHARE = 0.35
DROP_SHARE = 0.3

INSTALL = "pip install 'connect-hooks[fuzz]'"

#: Text that breaks receivers, by what it tests. Non-BMP: 4 bytes in UTF-8, 2 UTF-16 units
#: (MySQL utf8, Java/JS string lengths); right-to-left and bidi controls; combining marks; the
#: numeric edges of 32/64-bit integers and of doubles, as strings (the fields are strings).
NASTY: dict[str, tuple[str, ...]] = {
    "non-bmp": (
        "😀",
        "👩\u200d👩\u200d👧\u200d👦",
        "🇮🇳",
        "👍🏽",
        "\U0001d573\U0001d58a\U0001d591\U0001d591\U0001d594",  # "Hello" in Fraktur letters
        "𠜎𠜱𠝹",
        "a😀b",
    ),
    "right-to-left": ("مرحبا بالعالم", "שלום", "abc\u202edcba", "\u200f\u0661\u0662\u0663\u200e", "مرحبا 😀 hello"),
    "empty": ("", " ", "\t", "\n", "\u00a0", "\ufeff"),
    "numeric": (
        "0",
        "-0",
        "-1",
        "00123",
        "+1",
        "2147483647",
        "2147483648",
        "-2147483649",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551616",
        "1e309",
        "1E-400",
        "0.1",
        "NaN",
        "Infinity",
        "\u0663",  # an Arabic-Indic three
    ),
    "markup": ("null", "true", "{}", "[]", '{"a":', "<script>alert(1)</script>", "%s%n%x", "'; --", "\\u0000", "\x00"),
    "combining": ("e\u0301" * 50, "Z\u0351\u0334\u0336\u0337" * 20),
}
#: Long strings: how many times a unit is repeated (the last one fills the body up to BODY_LIMIT).
LONG_UNITS = ("x", "é", "😀", "مرحبا ", "a😀")
LONG_LENGTHS = (161, 1601, 5000, 65536, BODY_LIMIT)
#: Keys and values of the "may add tomorrow" fields.
UNKNOWN_KEYS = ("newField", "futureFlags", "metadata", "x_v2", "ñandú", "😀", "")
UNKNOWN_VALUES: tuple[Any, ...] = (
    "a key Webex Connect may add tomorrow",
    "",
    0,
    -1.5,
    True,
    None,
    {},
    [],
    {"nested": {"deeper": [1, "two", None]}},
)


def need_libraries() -> None:
    """Bad input (exit 2) when the ``fuzz`` extra is missing."""
    try:
        import hypothesis  # noqa: F401
        import hypothesis_jsonschema  # noqa: F401
        import jsonschema  # noqa: F401
    except ImportError as exc:
        raise BadInput(f"fuzz needs {exc.name}: {INSTALL}") from None


# -- families ---------------------------------------------------------------------------------------


def _relaxed(schema: Any) -> Any:
    """The schema with every ``additionalProperties: false`` removed: unknown keys allowed."""
    if isinstance(schema, dict):
        return {k: _relaxed(v) for k, v in schema.items() if not (k == "additionalProperties" and v is False)}
    if isinstance(schema, list):
        return [_relaxed(v) for v in schema]
    return schema


@dataclass(frozen=True)
class Family:
    """What fuzz draws bodies from: a name (``receipt/sms``) and a JSON Schema (an object schema, or
    a ``oneOf`` of them). The fuzz core takes any list of these: the catalogue's schemas
    (``catalogue_families``) or others, such as the steps of a story."""

    name: str
    schema: Mapping[str, Any] = field(repr=False)

    @property
    def variants(self) -> tuple[Mapping[str, Any], ...]:
        return tuple(self.schema.get("oneOf", (self.schema,)))

    @cached_property
    def strict(self) -> Any:
        from jsonschema import Draft202012Validator

        return Draft202012Validator(dict(self.schema))

    @cached_property
    def relaxed(self) -> Any:
        from jsonschema import Draft202012Validator

        return Draft202012Validator(_relaxed(dict(self.schema)))

    @cached_property
    def variant_checks(self) -> tuple[Any, ...]:
        """One validator per variant, unknown keys allowed: which variant a body follows."""
        from jsonschema import Draft202012Validator

        return tuple(Draft202012Validator(_relaxed(dict(variant))) for variant in self.variants)

    def admits(self, document: Any, tomorrow: bool) -> bool:
        """Valid under the schema; a "may add tomorrow" body: valid once unknown keys are allowed."""
        return bool((self.relaxed if tomorrow else self.strict).is_valid(document))


def catalogue_families(channels: Sequence[str] = ()) -> list[Family]:
    """The catalogue's families (one per schema), only those of ``channels`` when given."""
    known = sorted({family.split("/")[1] for family in catalogue.families()})
    unknown = [c for c in channels if c not in known]
    if unknown:
        raise BadInput(f"--channel {unknown[0]!r} is not a channel of the catalogue: use {', '.join(known)}")
    return [
        Family(name, catalogue.schema(name))
        for name in catalogue.families()
        if not channels or name.split("/")[1] in channels
    ]


# -- cases --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One body to send: its family, the document, and whether it carries "may add tomorrow" fields."""

    index: int
    family: Family
    document: Any
    tomorrow: bool

    @property
    def variant(self) -> str:
        return "tomorrow" if self.tomorrow else "schema"

    @cached_property
    def body(self) -> bytes:
        return catalogue.compact(self.document)


def _is_free_text(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "string" and not (
        {"pattern", "const", "enum", "format", "contentMediaType"} & set(schema)
    )


def _is_json_text(schema: Mapping[str, Any]) -> bool:
    return schema.get("contentMediaType") == "application/json"


def _leaf(schema: Mapping[str, Any]) -> Any:
    """hypothesis-jsonschema's strategy for one field (``\\d`` read as ASCII digits, as ECMA-262 does);
    one strategy per distinct field schema (most fields share a handful)."""
    return _leaf_of(json.dumps(schema, sort_keys=True))


@cache
def _leaf_of(text: str) -> Any:
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    schema = json.loads(text)
    if _is_json_text(schema):
        scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
        values = st.recursive(
            scalars,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
            max_leaves=6,
        )
        return st.just("") | values.map(lambda v: json.dumps(v, ensure_ascii=False))
    if "pattern" in schema:
        schema = {**schema, "pattern": schema["pattern"].replace("\\d", "[0-9]")}
    return from_schema(dict(schema))


def structure(schema: Mapping[str, Any]) -> Any:
    """A hypothesis strategy for documents valid under ``schema``."""
    from hypothesis import strategies as st

    if "oneOf" in schema:
        return st.one_of([structure(variant) for variant in schema["oneOf"]])
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
        required = set(schema.get("required", ()))
        parts = {key: structure(sub) for key, sub in schema["properties"].items()}
        return st.fixed_dictionaries(
            {k: s for k, s in parts.items() if k in required},
            optional={k: s for k, s in parts.items() if k not in required},
        )
    if (
        schema.get("type") == "array"
        and isinstance(schema.get("items"), dict)
        and not ({"minItems", "maxItems"} & set(schema))
    ):
        return st.lists(structure(schema["items"]), max_size=3)
    return _leaf(schema)


class _OutOfTime(Exception):
    """Raised inside hypothesis's run to end it (the test function must draw the same way every time)."""


def draw_structures(
    families: Sequence[Family], count: int, seed: int, keep_going: Callable[[], bool]
) -> list[tuple[Family, Any]]:
    """``count`` documents drawn by hypothesis (seeded: the same seed draws the same), one of every
    family in turn; fewer when ``keep_going`` says stop."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as seeded
    from hypothesis import strategies as st

    strategies = st.tuples(*(structure(f.schema) for f in families))
    drawn: list[tuple[Family, Any]] = []

    @settings(
        max_examples=math.ceil(count / len(families)),
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @seeded(seed)
    @given(strategies)
    def draw(documents: tuple[Any, ...]) -> None:
        if not keep_going():
            raise _OutOfTime
        drawn.extend(zip(families, documents, strict=True))

    with contextlib.suppress(_OutOfTime):
        draw()
    while drawn and len(drawn) < count and keep_going():  # hypothesis ran out of new structures
        drawn.append(drawn[len(drawn) % len(families)])
    return drawn[:count]


def make_cases(
    families: Sequence[Family], examples: int, seed: int, keep_going: Callable[[], bool] = lambda: True
) -> list[Case]:
    """``examples`` bodies: for each hypothesis draw, the draw itself and ``PER_DRAW - 1`` mutations."""
    if not families:
        raise BadInput("no family to fuzz: give --channel with a channel of the catalogue")
    need_libraries()
    draws = draw_structures(families, math.ceil(examples / PER_DRAW), seed, keep_going)
    cases = []
    variant: Mapping[str, Any] = {}
    for index in range(min(examples, len(draws) * PER_DRAW)):
        family, document = draws[index // PER_DRAW]
        if index % PER_DRAW == 0:
            cases.append(Case(index, family, document, tomorrow=False))
            variant = _variant_of(family, document)
            continue
        rng = random.Random(f"{seed}:{index}")
        tomorrow = rng.random() < TOMORROW_SHARE
        cases.append(Case(index, family, mutate(document, variant, rng, tomorrow=tomorrow), tomorrow))
    return cases


# -- the mutator --------------------------------------------------------------------------------------


def nasty_text(rng: random.Random, size_left: int) -> str:
    """One receiver-breaking string: from ``NASTY``, or a long one (at most ``size_left`` bytes)."""
    kind = rng.choice([*NASTY, "long"])
    if kind != "long":
        return rng.choice(NASTY[kind])
    unit = rng.choice(LONG_UNITS)
    length = rng.choice(LONG_LENGTHS)
    text = unit * (length // len(unit) + 1)
    return _fit(text[:length], size_left)


def _fit(text: str, size: int) -> str:
    """``text`` cut (at a character) so that it takes at most ``size`` bytes in the body (UTF-8 and
    its quotes: the long strings are made of units JSON writes as they are)."""
    if size <= 2:
        return ""
    encoded = len(text.encode())
    while encoded + 2 > size:
        text = text[: max(0, len(text) * (size - 2) // encoded - 1)]
        encoded = len(text.encode())
    return text


def _variant_of(family: Family, document: Any) -> Mapping[str, Any]:
    """The variant of the family's schema that ``document`` follows (the first, when none does)."""
    variants = family.variants
    if len(variants) > 1 and isinstance(document, dict):
        for variant, check in zip(variants, family.variant_checks, strict=True):
            if check.is_valid(document):
                return variant
    return variants[0]


def mutate(document: Any, variant: Mapping[str, Any], rng: random.Random, *, tomorrow: bool) -> Any:
    """A copy of ``document`` (which follows ``variant``, an object schema) with free text made nasty,
    optional keys dropped and (``tomorrow``) unknown keys added at every level: still valid under
    the schema unless ``tomorrow``."""
    out = copy.deepcopy(document)
    budget = [BODY_LIMIT - len(catalogue.compact(out)) - 2048]  # room for what the mutations add
    _walk(out, variant, rng, tomorrow, budget)
    return out


def _walk(node: Any, schema: Mapping[str, Any], rng: random.Random, tomorrow: bool, budget: list[int]) -> None:
    if isinstance(node, list):
        items = schema.get("items", {})
        for element in node:
            _walk(element, items, rng, tomorrow, budget)
        return
    if not isinstance(node, dict):
        return
    properties, required = schema.get("properties", {}), set(schema.get("required", ()))
    for key in list(node):
        sub = properties.get(key, {})
        if key not in required and rng.random() < DROP_SHARE:
            del node[key]
        elif _is_free_text(sub) and rng.random() < NASTY_SHARE:
            node[key] = nasty_text(rng, budget[0])
            budget[0] -= len(node[key].encode()) + 2
        elif _is_json_text(sub) and rng.random() < NASTY_SHARE:
            node[key] = json.dumps({"text": nasty_text(rng, budget[0] // 2)}, ensure_ascii=False)
            budget[0] -= len(node[key].encode()) * 2
        else:
            _walk(node[key], sub, rng, tomorrow, budget)
    if tomorrow:
        key = rng.choice([k for k in UNKNOWN_KEYS if k not in properties and k not in node])
        node[key] = copy.deepcopy(rng.choice(UNKNOWN_VALUES))


# -- the shrinker ---------------------------------------------------------------------------------------


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every value below the top, parents before children."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*path, key), value
        yield from _paths(value, (*path, key))


def _replaced(document: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> Any:
    out = copy.deepcopy(document)
    node = out
    for part in path[:-1]:
        node = node[part]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def smaller(document: Any) -> Iterator[Any]:
    """Candidates smaller than ``document``, the biggest cuts first: a key or an element left out,
    a string emptied, halved (either half) or cut to its first character."""
    for path, _ in _paths(document):
        yield _replaced(document, path, None, delete=True)
    for path, value in _paths(document):
        if isinstance(value, str) and value:
            half = len(value) // 2
            for shorter in dict.fromkeys(("", value[:half], value[half:], value[:1])):
                if len(shorter) < len(value):
                    yield _replaced(document, path, shorter)
        elif isinstance(value, dict | list) and value:
            yield _replaced(document, path, type(value)())


def notable(document: Any, family: Family) -> list[tuple[str, Any]]:
    """(dotted path, value) of what a finding's body holds beyond the schema's fixed parts: non-empty
    free text and JSON text, and keys the schema does not know (the "may add tomorrow" ones)."""
    found: list[tuple[str, Any]] = []

    def walk(node: Any, schema: Mapping[str, Any], path: str) -> None:
        if isinstance(node, list):
            for index, element in enumerate(node):
                walk(element, schema.get("items", {}), f"{path}.{index}" if path else str(index))
            return
        if not isinstance(node, dict):
            return
        properties = schema.get("properties", {})
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            sub = properties.get(key)
            if sub is None or ((_is_free_text(sub) or _is_json_text(sub)) and value != ""):
                found.append((where, value))
            else:
                walk(value, sub, where)

    walk(document, _variant_of(family, document), "")
    return found
