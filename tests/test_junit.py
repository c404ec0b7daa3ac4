"""JUnit XML of a conformance report, parsed back as a CI test reporter reads it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from connect_hooks.conform.conformance import CheckResult, ConformReport, Status
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
