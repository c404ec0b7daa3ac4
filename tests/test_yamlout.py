"""The small YAML emitter: any JSON data comes back unchanged through a YAML 1.1 reader (PyYAML)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_hooks.catalogue import yamlout

#: Strings a YAML reader might take for something else, or that need escapes.
AWKWARD = st.sampled_from(
    ["", "yes", "No", "ON", "null", "~", "true", "1", "0x1F", "1e3", "1_000", "12:30", "- a", "a: b", "#c", "&x", "*x",
     "!t", "'q'", '"', "\\", "\t", "\n", " lead", "trail ", "\x85", "\u2028", "\u2029", "\ufeff", "\x7f", "é", "😀",
     ".inf", ".nan", "<<", "=", "?", "@x", "%x", "`x", "|", ">", "[", "{"]
)  # fmt: skip
TEXT = st.one_of(AWKWARD, st.text(st.characters(exclude_categories=["Cs"]), max_size=12))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), TEXT)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(JSON)
def test_any_json_data_round_trips(data: Any) -> None:
    assert yaml.safe_load(yamlout.dump(data)) == data


def test_block_style_with_plain_keys_where_safe() -> None:
    data = {"a": [1, {"b": None, "yes": [], "/p": {}}], "c": [[True, 2.5e-07, 1e16]]}
    text = yamlout.dump(data)
    assert text == 'a:\n  - 1\n  - b: null\n    "yes": []\n    "/p": {}\nc:\n  - - true\n    - 2.5e-07\n    - 1.0e+16\n'
    assert yaml.safe_load(text) == data  # '1e+16' would come back a string
