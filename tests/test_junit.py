"""JUnit XML of a conformance report, parsed back as a CI test reporter reads it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from connect_hooks.conform.conformance import CheckResult, ConformReport, Status
from connect_hooks.conform.diagnosis import ProbeOutcome, SignatureDiagnosis
from connect_hooks.conform.junit import junit_xml


def result(
    check_id: str, status: Status, message: str, evidence: str = "", reproduce: str | None = None
) -> CheckResult:
    return CheckResult(check_id, status, message, f"why {check_id}", evidence, reproduce, 1500.0)


REPORT = ConformReport(
    url="http://127.0.0.1:8000/hooks?a=1&b=<2>",
    checks=(
        result("url-https", Status.SKIP, "plain http on loopback"),
        result("raw-bytes", Status.FAIL, "got 401 & not 200", "POST ...\n  body: \x00\x1b[31m{}", "printf '%s' '{}'"),
        result("latency", Status.WARN, "p95 is over half", "POST ...", "connect-hooks send x"),
        result("large-body", Status.PASS, "200 in 3 ms"),
    ),
    seed=42,
)


def test_one_suite_one_case_per_check_with_failure_skipped_and_warning() -> None:
    root = ET.fromstring(junit_xml(REPORT))
    (suite,) = root.findall("testsuite")
    assert suite.attrib == {
        "name": "connect-hooks conform",
        "tests": "4",
        "failures": "1",
        "errors": "0",
        "skipped": "1",
        "time": "6.000",
    }
    assert {p.get("name"): p.get("value") for p in suite.iter("property")} == {
        "url": "http://127.0.0.1:8000/hooks?a=1&b=<2>",
        "seed": "42",
        "signatures-checked": "true",
    }
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["url-https", "raw-bytes", "latency", "large-body"]
    assert all(case.get("time") == "1.500" for case in cases.values())
    skipped = cases["url-https"].find("skipped")
    assert skipped is not None and skipped.get("message") == "plain http on loopback"
    failure = cases["raw-bytes"].find("failure")
    assert failure is not None and failure.get("message") == "got 401 & not 200"
    # Control characters cannot be in XML 1.0: they become U+FFFD, the rest is kept.
    assert failure.text == (
        "POST ...\n  body: \ufffd\ufffd[31m{}\nreproduce: printf '%s' '{}'\nwhy it matters: why raw-bytes"
    )
    out = cases["latency"].find("system-out")
    assert cases["latency"].find("failure") is None
    assert out is not None and out.text == "WARN: p95 is over half\nPOST ...\nreproduce: connect-hooks send x"
    assert list(cases["large-body"]) == []


def test_a_diagnosis_heads_each_failure_it_explains_and_its_probes_are_the_suite_output() -> None:
    line = "your receiver computes the HMAC over a re-serialized body: verify the raw request bytes"
    probes = (
        ProbeOutcome("reserialized-spaced", "diagnosis probe: signed over the body re-serialized", 200, None),
        ProbeOutcome("bare", "diagnosis probe: the bare hex digest", 401, None),
        ProbeOutcome("sha1", "diagnosis probe: signed with sha1", None, "timed out"),
    )
    explained = CheckResult("accepts/x", Status.FAIL, "answered 401", "why", "POST ...", None, 1.0, diagnosis=line)
    warned = CheckResult("raw-bytes", Status.WARN, "could not judge", "why", "", None, 1.0, diagnosis=line)
    report = ConformReport(
        url="http://127.0.0.1:8000/hooks",
        checks=(explained, warned),
        seed=1,
        diagnosis=SignatureDiagnosis(line, "reserialized-spaced", 401, probes),
        signatures_checked=True,
    )
    (suite,) = ET.fromstring(junit_xml(report)).findall("testsuite")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["diagnosis"] == line
    out = suite.find("system-out")
    assert out is not None and out.text == (
        "diagnosis probe: signed over the body re-serialized: 200 (accepted)\n"
        "diagnosis probe: the bare hex digest: 401\n"
        "diagnosis probe: signed with sha1: no answer (timed out)"
    )
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    failure = cases["accepts/x"].find("failure")
    assert failure is not None and failure.text == f"diagnosis: {line}\nPOST ...\nwhy it matters: why"
    warning = cases["raw-bytes"].find("system-out")
    assert warning is not None and warning.text == f"WARN: could not judge\ndiagnosis: {line}"


def test_without_a_secret_the_suite_says_signatures_were_not_checked() -> None:
    report = ConformReport(url="http://127.0.0.1:8000/hooks", checks=(), seed=1, signatures_checked=False)
    (suite,) = ET.fromstring(junit_xml(report)).findall("testsuite")
    assert {p.get("name"): p.get("value") for p in suite.iter("property")}["signatures-checked"] == "false"
    assert suite.find("system-out") is None
