"""``connect-hooks fuzz`` and ``webex_connect.fuzz``: generated bodies against real receivers on 127.0.0.1.

Each weak receiver verifies signatures like a correct one and breaks on exactly one thing; the fuzzer
must find it, shrink it to a small body that still breaks it, save it and give a line that sends it again.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.main import main
from connect_hooks.conform import fuzz, fuzzcases
from connect_hooks.testing.webex_connect import Defaults, WebexConnect
from tests.conform_receivers import SECRET, Receiver, served

EXAMPLES = "48"
ENV = {"CONNECT_HOOKS_SECRET": SECRET}


def strings(document: Any) -> Iterator[str]:
    """Every key and every string value of a JSON document."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from strings(value)
    elif isinstance(document, str):
        yield document


def walk_items(document: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) of every object member, at any depth."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield key, value
            yield from walk_items(value)
    elif isinstance(document, list):
        for value in document:
            yield from walk_items(value)


def beyond_bmp(text: str) -> bool:
    return any(ord(char) > 0xFFFF for char in text)


#: Every top-level key some family's schema names: what a strict receiver knows today.
KNOWN_TOP = {
    key
    for family in catalogue.families()
    for variant in catalogue.schema(family)["oneOf"]
    for key in variant["properties"]
}


class CrashesOnNonBMP(Receiver):
    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        return 500 if any(beyond_bmp(text) for text in strings(document)) else 200


class CrashesOnLongString(Receiver):
    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        return 500 if any(len(text) > 300 for text in strings(document)) else 200


class CrashesOnUnknownTopLevelField(Receiver):
    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        return 500 if set(document) - KNOWN_TOP else 200


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["fuzz", *args], env=ENV if env is None else env)


def fuzz_json(url: str, out: Path, *more: str) -> tuple[int, dict[str, Any]]:
    result = run(url, "--examples", EXAMPLES, "--out", str(out), "--json", *more)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def relaxed(schema: Any) -> Any:
    """The schema with unknown keys allowed everywhere (written here, apart from the fuzzer's own)."""
    if isinstance(schema, dict):
        return {k: relaxed(v) for k, v in schema.items() if k != "additionalProperties"}
    if isinstance(schema, list):
        return [relaxed(v) for v in schema]
    return schema


def strictly_valid(family: str, document: Any) -> bool:
    return Draft202012Validator(catalogue.schema(family)).is_valid(document)


# ------------------------------------------------------------------------------------ the receivers


@pytest.mark.e2e
def test_a_receiver_that_crashes_on_a_non_bmp_character_is_found_with_one_character(tmp_path: Path) -> None:
    receiver = CrashesOnNonBMP()
    with served(receiver) as url:
        code, report = fuzz_json(url, tmp_path, "--seed", "5")
        assert code == 1
        (finding,) = report["findings"]
        assert finding["status"] == 500 and "error" not in finding
        body = Path(finding["file"]).read_bytes()
        assert json.loads(body) == finding["body"]
        offending = [text for text in strings(finding["body"]) if beyond_bmp(text)]
        assert len(offending) == 1 and len(offending[0]) <= 2, offending  # shrunk to the character itself
        assert finding["bytes"] < finding["original_bytes"]
        assert finding["variant"] == "schema" and strictly_valid(finding["family"], finding["body"])
        # The reproduce line sends the saved file again, signed, and gets the same answer.
        before = receiver.requests
        line = shlex.split(finding["reproduce"])
        assert line[:3] == ["connect-hooks", "send", finding["file"]]
        again = CliRunner().invoke(main, line[1:], env=ENV)
        assert again.exit_code == 1, again.output
        assert receiver.requests == before + 1  # once: --retries 0


@pytest.mark.e2e
def test_a_receiver_that_crashes_on_strings_over_300_characters_is_found_with_one_long_string(tmp_path: Path) -> None:
    with served(CrashesOnLongString()) as url:
        code, report = fuzz_json(url, tmp_path, "--seed", "5")
    assert code == 1
    (finding,) = report["findings"]
    lengths = sorted(len(text) for text in strings(finding["body"]))
    assert 300 < lengths[-1] <= 601, lengths[-1]  # halved while it still failed
    assert lengths[-2] <= 300  # the only long one left
    assert finding["examples"] > 1


@pytest.mark.e2e
def test_a_receiver_that_crashes_on_an_unknown_top_level_field_is_found_as_a_may_add_tomorrow_variant(
    tmp_path: Path,
) -> None:
    with served(CrashesOnUnknownTopLevelField()) as url:
        code, report = fuzz_json(url, tmp_path, "--seed", "5")
    assert code == 1
    (finding,) = report["findings"]
    document = finding["body"]
    unknown = set(document) - KNOWN_TOP
    assert finding["variant"] == "tomorrow" and len(unknown) == 1
    assert not strictly_valid(finding["family"], document)
    assert strictly_valid(finding["family"], {k: v for k, v in document.items() if k not in unknown})


@pytest.mark.e2e
def test_a_robust_receiver_yields_no_finding_and_gets_each_example_once(tmp_path: Path) -> None:
    receiver = Receiver()
    with served(receiver) as url:
        result = run(url, "--examples", EXAMPLES, "--out", str(tmp_path / "findings"), "--seed", "9")
    assert result.exit_code == 0, result.output
    assert f"fuzz {url}: {EXAMPLES} examples of 18 families" in result.stdout
    assert "0 findings" in result.stdout
    assert receiver.requests == int(EXAMPLES)  # signed right (no 401), once each
    assert not (tmp_path / "findings").exists()


class Slow(Receiver):
    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        await asyncio.sleep(0.5)  # 48 examples, 10 at a time: 2.5 s at least, over --max-time 1.5
        return 200


@pytest.mark.e2e
def test_max_time_stops_starting_requests(tmp_path: Path) -> None:
    receiver = Slow()
    with served(receiver) as url:
        code, report = fuzz_json(url, tmp_path, "--seed", "3", "--max-time", "1.5")
    assert code == 0 and report["stopped_early"] is True
    assert 0 < report["examples"] < int(EXAMPLES) and receiver.requests == report["examples"]


@pytest.mark.e2e
def test_the_same_seed_gives_the_same_findings(tmp_path: Path) -> None:
    with served(CrashesOnLongString()) as url:
        first = fuzz_json(url, tmp_path / "a", "--seed", "21")[1]["findings"]
        second = fuzz_json(url, tmp_path / "b", "--seed", "21")[1]["findings"]
    for finding in (*first, *second):
        finding.pop("file")
        finding.pop("reproduce")
    assert first == second and first


@pytest.mark.e2e
def test_people_see_one_line_per_finding_and_junit_names_the_failing_families(tmp_path: Path) -> None:
    junit = tmp_path / "fuzz.xml"
    with served(CrashesOnNonBMP()) as url:
        result = run(url, "--examples", "16", "--seed", "5", "--out", str(tmp_path), "--junit", str(junit))
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"fuzz {url}: 16 examples of 18 families") and lines[0].endswith(": 1 finding")
    assert lines[1].startswith("answered 500: ") and lines[2].startswith("    reproduce: connect-hooks send ")
    assert len(lines) == 3
    xml = junit.read_text(encoding="utf-8")
    assert 'tests="18"' in xml and "<failure" in xml


def test_a_finding_from_a_connection_fault_carries_the_error_not_a_status() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "metadata" in request.content.decode() or beyond_bmp(request.content.decode()):
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200)

    async def go() -> fuzz.FuzzReport:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            settings = fuzz.FuzzSettings(url="https://example.test/hooks", examples=24, seed=2, out_dir=None)
            return await fuzz.run_fuzz(settings, client=client)

    (finding,) = asyncio.run(go()).findings
    document = finding.as_dict()
    assert "status" not in document and document["error"].startswith("cannot connect: ")
    assert finding.reproduce == "webex_connect.send(finding.body, url='https://example.test/hooks', retries=0)"


# ------------------------------------------------------------------------------------ the bodies


def test_every_generated_body_is_valid_under_its_schema_unless_it_is_a_may_add_tomorrow_variant() -> None:
    cases = fuzzcases.make_cases(fuzzcases.catalogue_families(), 400, seed=3)
    assert len(cases) == 400
    tomorrow = 0
    for case in cases:
        document = json.loads(case.body)
        family = case.family.name
        if case.tomorrow:
            tomorrow += 1
            assert not strictly_valid(family, document), case
            assert Draft202012Validator(relaxed(catalogue.schema(family))).is_valid(document), case
        else:
            assert strictly_valid(family, document), case
        stamps = [v for k, v in walk_items(document) if k in ("ts", "timeStamp")]
        assert all(stamp.isascii() for stamp in stamps), stamps  # \\d means 0-9 (ECMA-262), not any digit
    assert 40 < tomorrow < 120
    assert {case.family.name for case in cases} == set(catalogue.families())


def test_the_bodies_lean_towards_what_breaks_receivers() -> None:
    cases = fuzzcases.make_cases(fuzzcases.catalogue_families(), 400, seed=4)
    texts = [text for case in cases for text in strings(json.loads(case.body))]
    assert sum(beyond_bmp(t) for t in texts) > 20
    # emoji on purpose: hypothesis's own text makes about 30 in these 400 bodies, the fuzzer about 150
    assert sum(any("\U0001f300" <= c <= "\U0001faff" for c in t) for t in texts) > 80
    assert sum(any("\u0590" <= c <= "\u08ff" for c in t) for t in texts) > 20  # Hebrew, Arabic
    assert sum(t == "" for t in texts) > 100
    assert sum(len(t) >= 5000 for t in texts) > 5
    assert "9223372036854775808" in texts and "-2147483649" in texts
    assert max(len(case.body) for case in cases) <= fuzzcases.BODY_LIMIT
    assert max(len(case.body) for case in cases) > fuzzcases.BODY_LIMIT // 2
    # optional fields absent: some receipt leaves out a key its schema does not require
    optional_missing = 0
    for case in cases:
        for variant in case.family.variants:
            if Draft202012Validator(relaxed(dict(variant))).is_valid(json.loads(case.body)):
                optional_missing += any(key not in json.loads(case.body) for key in variant["properties"])
    assert optional_missing > 5


def test_tomorrows_fields_come_at_every_level() -> None:
    cases = fuzzcases.make_cases(fuzzcases.catalogue_families(["sms"]), 200, seed=8)
    receipts = [json.loads(c.body) for c in cases if c.tomorrow and c.family.name == "receipt/sms"]
    assert len(receipts) > 5
    for receipt in receipts:
        (variant,) = [
            v for v in catalogue.schema("receipt/sms")["oneOf"] if Draft202012Validator(relaxed(v)).is_valid(receipt)
        ]
        outer = variant["properties"]["deliveryInfoNotification"]
        inner = outer["properties"]["deliveryInfo"]
        assert set(receipt) - set(variant["properties"])
        assert set(receipt["deliveryInfoNotification"]) - set(outer["properties"])
        assert set(receipt["deliveryInfoNotification"]["deliveryInfo"]) - set(inner["properties"])


def test_the_seed_decides_the_bodies() -> None:
    families = fuzzcases.catalogue_families(["whatsapp"])
    one = [c.body for c in fuzzcases.make_cases(families, 40, seed=1)]
    assert one == [c.body for c in fuzzcases.make_cases(families, 40, seed=1)]
    assert one != [c.body for c in fuzzcases.make_cases(families, 40, seed=2)]


# ------------------------------------------------------------------------------------ the plugin


def test_the_plugin_fuzzes_an_app_in_process() -> None:
    connect = WebexConnect(Defaults(secret=SECRET))
    robust = Receiver()
    report = connect.fuzz(app=robust, examples=24, seed=6)
    assert report.ok and robust.requests == 24, report
    found = connect.fuzz(app=CrashesOnNonBMP(), examples=24, seed=6)
    assert not found.ok
    assert any(beyond_bmp(text) for text in strings(json.loads(found.findings[0].body)))
    assert "retries=0" in found.findings[0].reproduce


# ------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--examples", "0"], "Invalid value for '--examples'"),
        (["--channel", "sms,fax"], "error: --channel 'fax' is not a channel of the catalogue: use apple, "),
        (["--max-time", "nan"], "is not a finite number"),
        (["--junit", "."], "is a directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run("https://example.test/hooks", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_out_naming_a_file_is_bad_input(tmp_path: Path) -> None:
    file = tmp_path / "taken"
    file.write_text("")
    result = run("https://example.test/hooks", "--out", str(file))
    assert result.exit_code == 2 and "is a file" in result.stderr


def test_without_the_fuzz_extra_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis_jsonschema", None)
    result = run("https://example.test/hooks")
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: fuzz needs hypothesis_jsonschema: pip install 'connect-hooks[fuzz]'"
