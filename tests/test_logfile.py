"""One JSON line per record: orjson writes it, the standard library takes what orjson refuses."""

from __future__ import annotations

import datetime as dt
import json
import os
import zoneinfo
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connect_hooks.logfile import discard_output, iso_milliseconds, json_text, ndjson_line

# What records hold: text (lone surrogates too), integers (past 64 bits too), floats, booleans, null.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    # a lone surrogate (JSON can escape one; a pair would read back as the character it encodes)
    st.tuples(st.text(), st.characters(categories=["Cs"]), st.text()).map("".join),
)
records = st.recursive(
    st.dictionaries(st.text(), scalars, max_size=6),
    lambda inner: st.dictionaries(st.text(), st.one_of(scalars, inner, st.lists(inner, max_size=3)), max_size=4),
    max_leaves=20,
)


def stdlib(record: Any) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


@given(records)
def test_every_record_is_one_line_of_utf8_json_that_reads_back_equal(record: dict[str, Any]) -> None:
    text = json_text(record)
    assert "\n" not in text
    text.encode("utf-8")  # a lone surrogate or a huge integer must not make a line no file can take
    assert json.loads(text) == record


@given(
    st.dictionaries(
        st.text(st.characters(exclude_categories=["Cs"])),
        st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(st.characters(codec="utf-8"))),
    )
)
def test_what_orjson_writes_is_the_text_the_standard_library_wrote(record: dict[str, Any]) -> None:
    assert json_text(record) == stdlib(record)  # logs written before and after read alike, even with grep


def test_what_orjson_refuses_is_written_with_escapes() -> None:
    record = {"channel": "\ud800x", "big": 2**70, "text": "Wébex"}
    assert json_text(record) == '{"channel":"\\ud800x","big":1180591620717411303424,"text":"W\\u00e9bex"}'


def test_a_log_line_is_stamped_first_unless_the_record_has_its_own_time() -> None:
    line = ndjson_line({"type": "request", "status": 200})
    assert line.endswith("\n") and line.count("\n") == 1
    assert list(json.loads(line)) == ["time", "type", "status"]
    assert json.loads(ndjson_line({"time": "then", "type": "x"})) == {"time": "then", "type": "x"}


@given(st.lists(st.datetimes(timezones=st.one_of(st.none(), st.timezones())), min_size=1, max_size=8))
def test_iso_milliseconds_is_isoformat_to_the_millisecond_whatever_came_before(times: list[dt.datetime]) -> None:
    # its text is kept per second: times of one second in a row (and across zones and DST folds) must not mix up
    times += [t.replace(microsecond=(t.microsecond + 1000) % 1_000_000) for t in times]
    times += [t.replace(second=(t.second + 1) % 60) for t in times]
    times += [t.replace(fold=1 - t.fold) for t in times]
    for when in times:
        assert iso_milliseconds(when) == when.isoformat(timespec="milliseconds")


def test_iso_milliseconds_tells_the_two_halves_of_a_dst_fold_apart() -> None:
    london = zoneinfo.ZoneInfo("Europe/London")
    first = dt.datetime(2026, 10, 25, 1, 30, 0, 250_000, tzinfo=london)  # 01:30 BST, then 01:30 GMT
    assert [iso_milliseconds(first), iso_milliseconds(first.replace(fold=1))] == [
        "2026-10-25T01:30:00.250+01:00",
        "2026-10-25T01:30:00.250+00:00",
    ]


def test_after_a_broken_pipe_output_goes_to_devnull_and_writes_succeed() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away, as '| head' does
    with open(write_end, "w", encoding="utf-8") as out:
        discard_output(out)
        devnull = os.stat(os.devnull)
        assert (os.fstat(out.fileno()).st_rdev, os.fstat(out.fileno()).st_ino) == (devnull.st_rdev, devnull.st_ino)
        out.write("x" * 100_000)
        out.flush()  # a broken pipe would raise here
