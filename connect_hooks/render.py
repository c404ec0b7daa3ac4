"""Rich output for people. The same records feed ``--json`` through their ``as_dict``.

Imported only by commands that print for people, so ``--help`` never loads Rich.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from connect_hooks.delivery import Attempt, Delivery
from connect_hooks.endpoint import CheckReport, Verdict
from connect_hooks.explain import fmt_seconds
from connect_hooks.policy import Decision, Outcome

OUTCOME_STYLE = {
    Outcome.DELIVERED: "bold green",
    Outcome.FAILED: "bold red",
    Outcome.DROPPED: "bold red",
    Outcome.INTERRUPTED: "bold yellow",
}
DECISION_STYLE = {
    Decision.DELIVERED: "green",
    Decision.FAILED: "red",
    Decision.RETRY: "yellow",
    Decision.DROPPED: "red",
}
VERDICT_STYLE = {Verdict.PASS: "green", Verdict.FAIL: "red", Verdict.SKIP: "dim"}


def answer(attempt: Attempt) -> str:
    return str(attempt.status) if attempt.status is not None else (attempt.error or "no answer")


def decision_text(attempt: Attempt) -> Text:
    label = str(attempt.decision)
    if attempt.decision is Decision.RETRY and attempt.wait is not None:
        label = f"retry in {attempt.wait:g} s"
    return Text(label, style=DECISION_STYLE[attempt.decision])


def attempt_line(target: str, attempt: Attempt) -> Text:
    """One live line per attempt, as it happens."""
    line = Text(f"{fmt_seconds(attempt.scheduled_at):>8}  {target}  attempt {attempt.attempt}: ")
    line.append(answer(attempt), style="bold" if attempt.status is not None else "red")
    line.append(f" ({attempt.elapsed_ms:.0f} ms) → ")
    line.append_text(decision_text(attempt))
    return line


def delivery_table(delivery: Delivery) -> Table:
    table = Table(title=f"{delivery.target} → {delivery.url}", title_justify="left", expand=False)
    table.add_column("attempt", justify="right")
    table.add_column("at", justify="right")
    table.add_column("answer")
    table.add_column("latency", justify="right")
    table.add_column("decision")
    for attempt in delivery.attempts:
        table.add_row(
            str(attempt.attempt),
            fmt_seconds(attempt.scheduled_at),
            answer(attempt),
            f"{attempt.elapsed_ms:.0f} ms",
            decision_text(attempt),
        )
    return table


def closing_line(delivery: Delivery) -> Text:
    n = len(delivery.attempts)
    attempts = f"{n} attempt{'s' if n != 1 else ''}"
    detail = {
        Outcome.DELIVERED: f"delivered after {attempts}",
        Outcome.FAILED: f"failed after {attempts}: the answer is on the no-retry list",
        Outcome.DROPPED: f"dropped after {attempts}: no retry left",
        Outcome.INTERRUPTED: f"interrupted after {attempts}, {delivery.retries_left} retries not made",
    }[delivery.outcome]
    if delivery.outcome is Outcome.INTERRUPTED and n == 0:
        detail = "interrupted before its first attempt"
    line = Text(f"{delivery.target}: ")
    line.append(detail, style=OUTCOME_STYLE[delivery.outcome])
    line.append(f"  (gtrid {delivery.gtrid})", style="dim")
    return line


def print_deliveries(console: Console, deliveries: Sequence[Delivery], *, tables: bool = True) -> None:
    """The report: a timeline table per notification (unless the attempts were shown live) and a closing line."""
    for delivery in deliveries:
        if tables and delivery.attempts:
            console.print(delivery_table(delivery))
        console.print(closing_line(delivery))
    if len(deliveries) > 1:
        console.print(Text(f"{len(deliveries)} notifications: {outcome_counts(deliveries)}", style="bold"))


def outcome_counts(deliveries: Sequence[Delivery]) -> str:
    """'2 delivered, 1 failed, 1 dropped', in order of first appearance."""
    counts = Counter(str(delivery.outcome) for delivery in deliveries)
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def print_check(console: Console, report: CheckReport) -> None:
    console.print(Text(f"check {report.url}", style="bold"))
    for rule in report.rules:
        line = Text("  ")
        line.append(f"{rule.verdict.upper():4}", style=VERDICT_STYLE[rule.verdict])
        line.append(f"  {rule.name:9} {rule.reason}")
        console.print(line)
    if report.passed:
        console.print(Text("Webex Connect would accept this URL.", style="bold green"))
    else:
        console.print(Text("Webex Connect would refuse this URL.", style="bold red"))
