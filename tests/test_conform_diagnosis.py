"""``conform`` names why a receiver refuses signed notifications: real runs against real receivers.

Each receiver of ``signature_receivers`` makes one usual mistake; ``conform --json`` (the CLI, over
a socket on 127.0.0.1) must name it in ``diagnosis``, on the checks it explains, and in JUnit; a
correct receiver gets no diagnosis and no extra request.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.main import main
from tests import conform_receivers as receivers
from tests import signature_receivers as mistakes
from tests.conform_receivers import SECRET, Receiver, TrustsEverything, served

pytestmark = pytest.mark.e2e

ACCEPTS = [f"accepts/{name}" for name in catalogue.names()]
SMS = [name for name in catalogue.names() if name.split("/")[1] == "sms"]
#: The most diagnosis probes a run may send.
MAX_PROBES = 12


def conform(receiver: Receiver, *args: str, secret: str | None = SECRET) -> tuple[int, dict[str, Any], int]:
    """``conform --json`` against ``receiver``: exit code, report, requests the receiver got."""
    env = {"CONNECT_HOOKS_SECRET": secret} if secret is not None else {}
    with served(receiver) as url:
        result = CliRunner().invoke(main, ["conform", url + "/hooks", "--json", *args], env=env)
    assert result.stderr == ""
    assert SECRET not in result.stdout
    return result.exit_code, json.loads(result.stdout), receiver.requests


@pytest.fixture(scope="module")
def correct() -> tuple[dict[str, Any], int]:
    code, report, requests = conform(Receiver())
    assert code == 0
    return report, requests


def test_a_correct_receiver_gets_no_diagnosis_and_no_probe(correct: tuple[dict[str, Any], int]) -> None:
    report, requests = correct
    assert report["diagnosis"] is None
    assert all(check["diagnosis"] is None for check in report["checks"])
    # HEAD once; a POST per sample, 4 forgeries, 5 raw bodies and their compact forms, 2 duplicates, 1, 1, 25.
    assert requests == 1 + len(ACCEPTS) + 4 + 10 + 2 + 3 + 1 + 1 + 25


MISTAKES = [
    # (receiver, the cause conform must name, words its line must have, raw-bytes' status)
    (
        mistakes.ReserializesWithDefaults,
        "reserialized-spaced",
        ["json.dumps defaults", "verify the raw request bytes"],
        "fail",
    ),
    (mistakes.ReserializesCompact, "reserialized-compact", ["compact JSON", "verify the raw request bytes"], "fail"),
    (mistakes.RemovesWhiteSpace, "whitespace-removed", ["white space removed", "verify the raw request bytes"], "fail"),
    (mistakes.SecretWithNewline, "secret-newline", ["hub secret ends with a newline", "strip it"], "warn"),
    (mistakes.ExpectsBareHex, "bare", ["bare hex digest", "strip the 'sha256=' prefix"], "warn"),
    (mistakes.ExpectsSha512, "sha512", ["expects sha512", "conform signs with sha256"], "warn"),
    (mistakes.ExpectsUpperHex, "upper-hex", ["upper-case hex", "compare case-insensitively"], "warn"),
]


@pytest.mark.parametrize(("receiver", "cause", "words", "raw_bytes"), MISTAKES, ids=[m[0].__name__ for m in MISTAKES])
def test_each_mistake_is_named_in_one_line_from_a_few_probes(
    correct: tuple[dict[str, Any], int], receiver: type[Receiver], cause: str, words: list[str], raw_bytes: str
) -> None:
    code, report, requests = conform(receiver())
    assert code == 1
    diagnosis = report["diagnosis"]
    assert diagnosis is not None and diagnosis["cause"] == cause, diagnosis
    line = diagnosis["line"]
    assert "\n" not in line and all(word in line for word in words), line
    probes = diagnosis["probes"]
    assert requests - correct[1] == len(probes) <= MAX_PROBES  # the probes are the only extra requests
    assert all(p["label"].startswith("diagnosis probe: ") for p in probes)
    assert [p["cause"] for p in probes if p["accepted"]] == [cause]
    checks = {check["id"]: check for check in report["checks"]}
    assert checks["raw-bytes"]["status"] == raw_bytes
    explained = [check_id for check_id, check in checks.items() if check["diagnosis"] is not None]
    assert diagnosis["explains"] == explained and "raw-bytes" in explained
    assert all(checks[check_id]["diagnosis"] == line for check_id in explained)
    assert all(check["status"] != "pass" for check in checks.values() if check["diagnosis"] is not None)
    assert {i for i in report["failed"] if i.startswith("accepts/")} <= set(explained)
    # The catalogue's bodies are compact already, and only some have spaces: the others refuse every sample.
    if cause not in ("reserialized-compact", "whitespace-removed"):
        assert set(ACCEPTS) <= set(explained) and set(ACCEPTS) <= set(report["failed"])


def test_a_receiver_with_another_secret_is_told_so_plainly_not_guessed_at(correct: tuple[dict[str, Any], int]) -> None:
    code, report, requests = conform(mistakes.HasAnotherSecret())
    assert code == 1
    diagnosis = report["diagnosis"]
    assert diagnosis["cause"] is None
    assert diagnosis["line"].startswith("refused every signature variant tried (")
    assert diagnosis["line"].endswith("check that the receiver has the same hub secret as conform")
    assert not any(p["accepted"] for p in diagnosis["probes"])
    assert requests - correct[1] == len(diagnosis["probes"]) <= MAX_PROBES


@pytest.mark.parametrize(
    "receiver",
    [receivers.Answers201, receivers.StrictSchema, receivers.RejectsRedelivery, mistakes.RefusesEveryPostWith400],
    ids=lambda receiver: receiver.__name__,
)
def test_a_receiver_failing_for_another_reason_gets_no_diagnosis(
    correct: tuple[dict[str, Any], int], receiver: type[Receiver]
) -> None:
    code, report, requests = conform(receiver(), "--channel", "sms")
    assert code == 1
    assert report["diagnosis"] is None
    assert all(check["diagnosis"] is None for check in report["checks"])
    if receiver is not mistakes.RefusesEveryPostWith400:  # refused nothing with 400, 401 or 403: no probe
        assert requests == correct[1] - len(ACCEPTS) + len(SMS)


def test_the_diagnosis_is_in_junit_with_its_probes(tmp_path: Path) -> None:
    junit = tmp_path / "conform.xml"
    code, report, _ = conform(mistakes.ReserializesWithDefaults(), "--junit", str(junit), "--channel", "sms")
    assert code == 1
    (suite,) = ET.parse(junit).getroot()
    line = report["diagnosis"]["line"]
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["diagnosis"] == line
    failures = {case.get("name"): case.find("failure") for case in suite.iter("testcase")}
    raw = failures["raw-bytes"]
    assert raw is not None and raw.text is not None and raw.text.startswith(f"diagnosis: {line}\n")
    out = suite.find("system-out")
    assert out is not None and out.text is not None
    assert len(out.text.splitlines()) == len(report["diagnosis"]["probes"])
    assert all(probe.startswith("diagnosis probe: ") for probe in out.text.splitlines())


def test_without_a_secret_the_verdict_says_signatures_were_not_checked() -> None:
    code, report, _ = conform(TrustsEverything(), secret=None)
    assert code == 0  # nothing failed; the warning says what was not judged
    assert report["signatures_checked"] is False
    assert report["warned"] == ["rejects-unsigned"]
    warning = next(check for check in report["checks"] if check["id"] == "rejects-unsigned")
    assert warning["message"].startswith("signatures not checked: no hub secret was given")
    assert "set CONNECT_HOOKS_SECRET or use --secret-file" in warning["message"]
    for check in report["checks"]:
        if check["id"].startswith("rejects-") and check["status"] == "skip":
            assert check["message"] == (
                "no hub secret given: set CONNECT_HOOKS_SECRET or use --secret-file so that signatures can be judged"
            )


def test_without_a_secret_a_receiver_that_checks_signatures_is_told_to_get_one(
    correct: tuple[dict[str, Any], int],
) -> None:
    code, report, requests = conform(Receiver(), "--channel", "sms", secret=None)
    assert code == 1
    diagnosis = report["diagnosis"]
    assert diagnosis["probes"] == []  # nothing to sign with: no probe
    assert requests == correct[1] - len(ACCEPTS) + len(SMS) - 4  # and no forgery (rejects-*) without a secret
    assert diagnosis["line"] == (
        "refused unsigned notifications (401): if the receiver checks signatures, give conform its hub secret "
        "(set CONNECT_HOOKS_SECRET or use --secret-file)"
    )
    assert report["signatures_checked"] is False
