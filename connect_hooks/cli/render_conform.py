"""Rich output of a conformance report: folded to one page (what passed by family, each way of failing
once, with one example), or with ``--verbose`` a row per check and each failure's evidence.

Rows are lines rather than a boxed table so that long check IDs and messages never fold or get
cut in an 80-column CI log, and each row can be grepped. Imported only when printing for
people, so ``--help`` and ``--json`` never load Rich.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from connect_hooks.conform import grouping
from connect_hooks.conform.conformance import CheckResult, ConformReport, Status
from connect_hooks.redaction import redact_url
from connect_hooks.textsafe import visible

TALLY = {Status.PASS: "passed", Status.FAIL: "failed", Status.WARN: "warned", Status.SKIP: "skipped"}
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


def print_details(console: Console, report: ConformReport, *, signatures_checked: bool = True) -> None:
    """``--verbose``: each failure and warning with why it matters, its evidence and reproduce line; the verdict."""
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
    print_verdict(console, report, signatures_checked=signatures_checked)


def print_verdict(console: Console, report: ConformReport, *, signatures_checked: bool = True) -> None:
    """The closing line; without a hub secret it says that signatures were not checked, and how to give one."""
    console.print()
    verdict = Text(report.summary() + ": ", style="bold")
    if report.ok:
        verdict.append("the receiver holds up against Webex Connect", style="bold green")
    else:
        verdict.append("the receiver does not hold up against Webex Connect", style="bold red")
    if not signatures_checked:
        verdict.append(
            ", but its signatures were not checked: no hub secret was given "
            "(set CONNECT_HOOKS_SECRET or pass --secret-file FILE)",
            style="bold yellow",
        )
    console.print(verdict)


def _label_row(status: Status, label: str, width: int, message: str) -> Text:
    line = Text("  ")
    line.append(f"{status.upper():4}", style=STATUS_STYLE[status])
    line.append(f"  {label:<{width}}  {visible(message)}")
    return line


def _skip_label(each: grouping.Group) -> str:
    return each.example.id if len(each.checks) == 1 else f"{len(each.checks)} checks"


def print_folded(console: Console, report: ConformReport, *, signatures_checked: bool = True) -> None:
    """One page: what passed by family and what was skipped, each way of failing or warning once
    (the checks folded, one example's evidence and reproduce line), then the verdict."""
    every = [c.id for c in report.checks]
    passed = grouping.passed(report.checks)
    skipped = grouping.group(report.checks, (Status.SKIP,))
    labels = [label for label, _ in passed] + [_skip_label(g) for g in skipped]
    width = max((len(label) for label in labels), default=0)
    for label, message in passed:
        console.print(_label_row(Status.PASS, label, width, message))
    for each in skipped:
        console.print(_label_row(Status.SKIP, _skip_label(each), width, each.message))
        if len(each.checks) > 1:
            console.print(Text(f"        {grouping.fold_ids(each.ids, every)}", style="dim"))
    said: set[str] = set()
    for each in grouping.group(report.checks, (Status.FAIL, Status.WARN)):
        console.print()
        _print_group(console, each, every, said)
    diagnosis = report.diagnosis.line if report.diagnosis is not None else None
    if diagnosis and all(diagnosis != g.diagnosis for g in grouping.group(report.checks)):
        console.print()
        console.print(Text(f"diagnosis: {visible(diagnosis)}", style="bold"))
    print_verdict(console, report, signatures_checked=signatures_checked)


def _print_group(console: Console, each: grouping.Group, every: list[str], said: set[str]) -> None:
    """One way of failing; a diagnosis a group above already gave in full is referred to, not repeated."""
    line = Text()
    line.append(f"{each.status.upper()} ", style=STATUS_STYLE[each.status])
    line.append(visible(each.headline()), style=STATUS_STYLE[each.status])
    console.print(line)
    if each.diagnosis in said:
        console.print(Text("  diagnosis: the same as above", style="bold"))
    elif each.diagnosis:
        said.add(each.diagnosis)
        console.print(Text(f"  diagnosis: {visible(each.diagnosis)}", style="bold"))
    if len(each.checks) > 1:
        console.print(Text(f"  checks: {grouping.fold_ids(each.ids, every)}"))
    example = each.example
    console.print(Text(f"  why it matters: {example.why}", style="dim"))
    if len(each.checks) > 1:
        console.print(Text(f"  for example {example.id}:", style="dim"))
    for evidence in grouping.first_request(example.evidence):
        console.print(Text(f"  {visible(evidence)}", style="dim"))
    if example.reproduce:
        console.print(Text(f"  reproduce: {visible(example.reproduce)}"))


class Progress:
    """On a terminal, one line that counts the checks as they end (gone once the report is printed)."""

    def __init__(self, console: Console, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        self.bar = Bar(
            TextColumn("checks"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[tally]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            refresh_per_second=4,
        )
        self.counts = dict.fromkeys(Status, 0)
        self.task = self.bar.add_task("conform", total=total, tally="")

    def finished(self, result: CheckResult) -> None:
        self.counts[result.status] += 1
        tally = ", ".join(f"{n} {TALLY[status]}" for status, n in self.counts.items() if n)
        self.bar.update(self.task, advance=1, tally=tally)

    def __enter__(self) -> Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()
