"""A conformance report as JUnit XML, the format Jenkins, GitLab and GitHub test reporters read."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from connect_hooks.conform.conformance import ConformReport, Status
from connect_hooks.conform.diagnosis import ProbeOutcome

SUITE = "connect-hooks conform"
#: Characters XML 1.0 cannot carry, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"


def _probe_line(probe: ProbeOutcome) -> str:
    answer = f"no answer ({probe.error})" if probe.status is None else str(probe.status)
    return f"{probe.label}: {answer}{' (accepted)' if probe.accepted else ''}"


def junit_xml(report: ConformReport) -> bytes:
    """The report as a UTF-8 JUnit XML document.

    A diagnosis (why signed notifications were refused) is a suite property, the first line of
    each failure it explains, and its probes (each marked "diagnosis probe") the suite's system-out.
    """
    total = sum(c.duration_ms for c in report.checks)
    counts = {
        "tests": str(len(report.checks)),
        "failures": str(len(report.failed)),
        "errors": "0",
        "skipped": str(len(report.skipped)),
        "time": _seconds(total),
    }
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", {"name": "url", "value": _text(report.url)})
    ET.SubElement(properties, "property", {"name": "seed", "value": str(report.seed)})
    checked = "true" if report.signatures_checked else "false"
    ET.SubElement(properties, "property", {"name": "signatures-checked", "value": checked})
    if report.diagnosis is not None:
        ET.SubElement(properties, "property", {"name": "diagnosis", "value": _text(report.diagnosis.line)})
        if report.diagnosis.probes:
            probes = ET.SubElement(suite, "system-out")
            probes.text = _text("\n".join(_probe_line(p) for p in report.diagnosis.probes))
    for result in report.checks:
        case = ET.SubElement(
            suite, "testcase", {"name": result.id, "classname": SUITE, "time": _seconds(result.duration_ms)}
        )
        if result.status is Status.FAIL:
            failure = ET.SubElement(case, "failure", {"message": _text(result.message), "type": "conformance"})
            body = [f"diagnosis: {result.diagnosis}"] if result.diagnosis else []
            body += [result.evidence] if result.evidence else []
            if result.reproduce:
                body.append(f"reproduce: {result.reproduce}")
            body.append(f"why it matters: {result.why}")
            failure.text = _text("\n".join(body))
        elif result.status is Status.SKIP:
            ET.SubElement(case, "skipped", {"message": _text(result.message)})
        elif result.status is Status.WARN:
            out = ET.SubElement(case, "system-out")
            lines = [
                f"WARN: {result.message}",
                f"diagnosis: {result.diagnosis}" if result.diagnosis else "",
                result.evidence,
            ]
            if result.reproduce:
                lines.append(f"reproduce: {result.reproduce}")
            out.text = _text("\n".join(line for line in lines if line))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
