"""Rich output of a conformance report: one aligned row per check, then each failure's evidence.

Rows are lines rather than a boxed table so that long check IDs and messages never fold or get
cut in an 80-column CI log, and each row can be grepped. Imported only when printing for
people, so ``--help`` and ``--json`` never load Rich.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from connect_hooks.conform.conformance import CheckResult, ConformReport, Status
from connect_hooks.redaction import redact_url
from connect_hooks.textsafe import visible

STATUS_STYLE = {Status.PASS: "green", Status.FAIL: "bold red", Status.WARN: "yellow", Status.SKIP: "dim"}


def row(result: CheckResult, width: int) -> Text:
    """``PASS  accepts/receipt/sms/delivered  200 in 4 ms  (5 ms)``"""
    line = Text("  ")
    line.append(f"{result.status.upper():4}", style=STATUS_STYLE[result.status])
    line.append(f"  {result.id:<{width}}  {visible(result.message)}")
    line.append(f"  ({result.duration_ms:.0f} ms)", style="dim")
    return line


def print_heading(console: Console, url: str) -> None:
    console.print(Text(f"conform {visible(redact_url(url))}", style="bold"))


def print_details(console: Console, report: ConformReport) -> None:
    """Each failure and warning with why it matters, its evidence and reproduce line; the verdict."""
    for result in report.checks:
        if result.status not in (Status.FAIL, Status.WARN):
            continue
        console.print()
        line = Text()
        line.append(f"{result.status.upper()} {result.id}", style=STATUS_STYLE[result.status])
        line.append(f": {visible(result.message)}")
        console.print(line)
        console.print(Text(f"  why it matters: {result.why}", style="dim"))
        for evidence in result.evidence.split("\n"):  # only our own line breaks: a \r or \x85 is shown
            console.print(Text(f"  {visible(evidence)}", style="dim"))
        if result.reproduce:
            console.print(Text(f"  reproduce: {visible(result.reproduce)}"))
    console.print()
    verdict = Text(report.summary() + ": ", style="bold")
    if report.ok:
        verdict.append("the receiver holds up against Webex Connect", style="bold green")
    else:
        verdict.append("the receiver does not hold up against Webex Connect", style="bold red")
    console.print(verdict)
