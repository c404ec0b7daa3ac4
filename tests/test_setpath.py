"""--set PATH=VALUE and PATH:=JSON on plain documents."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_hooks.catalogue.setpath import Assignment, assign, parse
from connect_hooks.errors import BadInput

DOC: dict[str, Any] = {
    "envelope": {"info": {"code": "7500", "count": "1"}, "transid": "t-1"},
    "items": [{"name": "a"}, {"name": "b"}],
    "text": "hello",
}


def apply(document: Any, assignment: Assignment) -> Any:
    """The assignment made in a copy of ``document`` (DOC stays as written for the next test)."""
    mine = copy.deepcopy(document)
    assign(mine, assignment)
    return mine


def apply_each(document: Any, texts: list[str]) -> Any:
    """The ``--set``s in order in one copy, as ``catalogue.render_document`` makes them."""
    mine = copy.deepcopy(document)
    for text in texts:
        assign(mine, parse(text))
    return mine


def test_equals_sets_a_string_even_when_it_looks_like_json() -> None:
    expected = Assignment(("envelope", "info", "code"), "7501", "envelope.info.code=7501")
    assert parse("envelope.info.code=7501") == expected
    assert parse("a=true").value == "true"
    assert parse("a=").value == ""


def test_colon_equals_sets_any_json_value() -> None:
    assert parse("a:=7501").value == 7501
    assert parse("a:=true").value is True
    assert parse("a:=null").value is None
    assert parse('a:={"b": [1, "x"]}').value == {"b": [1, "x"]}
    assert parse('a:="quoted"').value == "quoted"


def test_the_first_equals_ends_the_path() -> None:
    assignment = parse("message=a=b.c:=d")
    assert assignment.path == ("message",)
    assert assignment.value == "a=b.c:=d"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("no-equals", "has no '='"),
        ("=x", "has no PATH"),
        (":=1", "has no PATH"),
        ("a..b=x", "empty part"),
        (".a=x", "empty part"),
        ("a.=x", "empty part"),
        ("a:=nope", "invalid JSON"),
        ("a:=", "invalid JSON"),
        ("a:={'b': 1}", "invalid JSON"),
        ("a:=NaN", "invalid JSON"),
        ("a:=Infinity", "invalid JSON"),
        ("a:=-Infinity", "invalid JSON"),
        ('a:="\\ud800"', "lone surrogate"),
        ("a=\udcff", "not valid UTF-8"),
        ("a:=" + "[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_bad_expressions_are_bad_input(text: str, fragment: str) -> None:
    with pytest.raises(BadInput, match=fragment) as caught:
        parse(text)
    assert "\n" not in str(caught.value)


def test_sets_an_existing_nested_key() -> None:
    out = apply(DOC, parse("envelope.info.code=7501"))
    assert out["envelope"]["info"] == {"code": "7501", "count": "1"}


def test_assign_changes_the_document_it_is_given() -> None:
    mine = copy.deepcopy(DOC)
    assign(mine, parse("envelope.info.code=7501"))
    assert (mine["envelope"]["info"]["code"], DOC["envelope"]["info"]["code"]) == ("7501", "7500")


def test_creates_a_missing_key_when_its_parent_exists() -> None:
    out = apply(DOC, parse("envelope.info.extra:=[1,2]"))
    assert out["envelope"]["info"]["extra"] == [1, 2]
    assert list(out["envelope"]["info"]) == ["code", "count", "extra"]


def test_list_indexes_are_numbers_and_n_appends() -> None:
    assert apply(DOC, parse("items.1.name=z"))["items"] == [{"name": "a"}, {"name": "z"}]
    assert apply(DOC, parse("items.0:=7"))["items"] == [7, {"name": "b"}]
    assert apply(DOC, parse("items.2:={}"))["items"] == [{"name": "a"}, {"name": "b"}, {}]


def test_a_missing_parent_names_the_nearest_existing_path() -> None:
    with pytest.raises(BadInput) as caught:
        apply(DOC, parse("envelope.info.deeper.still=x"))
    assert str(caught.value) == (
        "cannot set 'envelope.info.deeper.still': 'envelope.info.deeper' does not exist "
        "(nearest existing path: 'envelope.info'); create it first with --set 'envelope.info.deeper:={}'"
    )


def test_a_missing_top_level_parent_says_top_level() -> None:
    with pytest.raises(BadInput, match=r"'nothing' does not exist \(nearest existing path: the top level\)"):
        apply(DOC, parse("nothing.here=x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("items.x=1", "cannot set 'items.x': 'items' is a list of 2, so 'x' must be an index in 0..2"),
        ("items.3=1", "cannot set 'items.3': 'items' is a list of 2, so '3' must be an index in 0..2"),
        ("items.-1=1", "cannot set 'items.-1': 'items' is a list of 2, so '-1' must be an index in 0..2"),
        (
            "items.2.name=1",
            "cannot set 'items.2.name': 'items' is a list of 2, so '2' must be an index in 0..1",
        ),
        (
            "text.sub=1",
            "cannot set 'text.sub': 'text' is a string, not an object or a list: set it whole instead",
        ),
        (
            "envelope.transid.x.y=1",
            "cannot set 'envelope.transid.x.y': 'envelope.transid' is a string, not an object or a list: "
            "set it whole instead",
        ),
    ],
)
def test_paths_that_cannot_be_reached(text: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        apply(DOC, parse(text))
    assert str(caught.value) == message


def test_later_sets_win_and_can_build_on_earlier_ones() -> None:
    out = apply_each(DOC, ["new:={}", "new.key=1", "new.key=2", "text:=null"])
    assert out["new"] == {"key": "2"}
    assert out["text"] is None


# Paths drawn from the document's own keys and indexes, plus a few that are not there, so that
# both the success and the error branches are reached.
path_parts = st.sampled_from(["envelope", "info", "code", "items", "0", "1", "2", "name", "text", "x", "-1", "9"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def set_expressions(draw: st.DrawFn) -> str:
    path = ".".join(draw(st.lists(path_parts, min_size=1, max_size=4)))
    kind = draw(st.sampled_from(["string", "json", "junk"]))
    if kind == "string":
        return f"{path}={draw(st.text())}"
    if kind == "json":
        return f"{path}:={json.dumps(draw(json_values), ensure_ascii=draw(st.booleans()))}"
    return f"{path}:={draw(st.text())}"


@settings(max_examples=300, deadline=None)
@given(st.lists(set_expressions() | st.text(), min_size=1, max_size=4))
def test_set_never_produces_invalid_json(texts: list[str]) -> None:
    try:
        out = apply_each(DOC, texts)
    except BadInput as exc:
        assert "\n" not in str(exc)
        return
    wire = json.dumps(out, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert json.loads(wire) == out
