"""Rich output for people. The same records feed ``--json`` through their ``as_dict``.

Imported only by commands that print for people, so ``--help`` never loads Rich.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from connect_hooks.cli import summarytext
from connect_hooks.cli.summarytext import OUTCOME_STYLE
from connect_hooks.explain import fmt_seconds
from connect_hooks.policy import Decision, Outcome
from connect_hooks.redaction import redact_url
from connect_hooks.sender.delivery import Attempt, Delivery
from connect_hooks.sender.summary import Summary
from connect_hooks.textsafe import visible

if TYPE_CHECKING:  # annotations only: 'send' renders without loading 'check' and 'replay' (start-up)
    from rich.progress import Progress

    from connect_hooks.sender.endpoint import CheckReport
    from connect_hooks.sender.replay import Planned

DECISION_STYLE = {
    Decision.DELIVERED: "green",
    Decision.FAILED: "red",
    Decision.RETRY: "yellow",
    Decision.DROPPED: "red",
}
VERDICT_STYLE = {"pass": "green", "fail": "red", "skip": "dim"}  # by endpoint.RuleVerdict (a StrEnum) value


def answer(attempt: Attempt) -> str:
    return str(attempt.status) if attempt.status is not None else visible(attempt.error or "no answer")


def decision_text(attempt: Attempt) -> Text:
    label = str(attempt.decision)
    if attempt.decision is Decision.RETRY and attempt.wait is not None:
        label = f"retry in {attempt.wait:g} s"
    return Text(label, style=DECISION_STYLE[attempt.decision])


def attempt_line(target: str, attempt: Attempt) -> Text:
    """One live line per attempt, as it happens."""
    line = Text(f"{fmt_seconds(attempt.scheduled_at):>8}  {visible(target)}  attempt {attempt.attempt}: ")
    line.append(answer(attempt), style="bold" if attempt.status is not None else "red")
    line.append(f" ({attempt.elapsed_ms:.0f} ms) → ")
    line.append_text(decision_text(attempt))
    return line


def delivery_table(delivery: Delivery) -> Table:
    title = f"{visible(delivery.target)} → {visible(redact_url(delivery.url))}"
    table = Table(title=title, title_justify="left", expand=False)
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
    line = Text(f"{visible(delivery.target)}: ")
    line.append(detail, style=OUTCOME_STYLE[delivery.outcome])
    line.append(f"  (gtrid {delivery.gtrid})", style="dim")
    return line


def print_deliveries(console: Console, deliveries: Sequence[Delivery], *, tables: bool = True) -> None:
    """The report: the timeline (unless the attempts were shown live), then a closing line each.

    One notification gets a table; several get one line per attempt in simulated-time order,
    the order the receiver saw them (a Rich table per notification would cost far more than a line).
    """
    if tables and len(deliveries) == 1 and deliveries[0].attempts:
        console.print(delivery_table(deliveries[0]))
    elif tables and deliveries:
        lines = sorted(
            (attempt.scheduled_at, index, attempt.attempt, delivery.target, attempt)
            for index, delivery in enumerate(deliveries)
            for attempt in delivery.attempts
        )
        width = max(len(delivery.target) for delivery in deliveries)
        for _, _, _, target, attempt in lines:
            console.print(attempt_line(f"{target:<{width}}", attempt))
    for delivery in deliveries:
        console.print(closing_line(delivery))
    if len(deliveries) > 1:
        console.print(Text(f"{len(deliveries)} notifications: {outcome_counts(deliveries)}", style="bold"))


def never_started_line(count: int, *, indent: bool = False) -> Text:
    """How many notifications an interruption stopped before their first attempt (never made)."""
    if indent:  # a row of the summary
        return Text(summarytext.never_started_row(count))
    what = f"{count} more notification{'s' if count != 1 else ''}"
    return Text(
        f"{what} never started (interrupted before their first attempt)", style=OUTCOME_STYLE[Outcome.INTERRUPTED]
    )


def outcome_counts(deliveries: Sequence[Delivery]) -> str:
    """'2 delivered, 1 failed, 1 dropped', in order of first appearance."""
    counts = Counter(str(delivery.outcome) for delivery in deliveries)
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def print_summary(console: Console, summary: Summary) -> None:
    """The burst summary (summarytext.summary_lines), one Text a line."""
    for runs in summarytext.summary_lines(summary):
        (first, style), *rest = runs
        line = Text(first, style=style or "")
        for text, run_style in rest:
            line.append(text, style=run_style)
        console.print(line)


class _Tally:
    """The progress bar's outcomes so far and notifications per second, as text made only when drawn.

    Read by the bar's text fields (``_Text``) each time rich draws, at most ``BurstProgress.REFRESH``
    times a second, never once per notification.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.started = time.monotonic()

    def outcomes(self) -> str:
        counts = list(self.counts.items())  # one step: the loop's thread may add an outcome meanwhile
        return ", ".join(f"{n} {name}" for name, n in counts)

    def rate(self) -> str:
        elapsed, done = time.monotonic() - self.started, sum(list(self.counts.values()))
        return f"{done / elapsed:.0f}/s" if done and elapsed > 0 else ""


class _Text:
    """A task field whose text is ``make()``, made when the bar is drawn."""

    def __init__(self, make: Callable[[], str]) -> None:
        self.make = make

    def __format__(self, spec: str) -> str:
        return format(self.make(), spec)


class BurstProgress:
    """A progress bar on a terminal: done / total, outcomes so far, notifications per second.

    Drawn REFRESH times a second by rich's thread; a notification's end only counts it. The bar
    appears only once a burst has run DELAY seconds: one that ends sooner needs none, and does not
    pay for loading rich.progress and starting its thread.
    """

    REFRESH = 4
    DELAY = 0.5

    def __init__(self, console: Console, total: int) -> None:
        self.console = console
        self.total = total
        self.tally = _Tally()
        self.counts = self.tally.counts
        self._progress: Progress | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    @property
    def progress(self) -> Progress:
        """The bar (made on first use, with what has ended so far)."""
        with self._lock:
            if self._progress is None:
                self._progress = self._make()
            return self._progress

    def _make(self) -> Progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[outcomes]}"),
            TextColumn("{task.fields[rate]}", style="dim"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            refresh_per_second=self.REFRESH,
        )
        outcomes, rate = _Text(self.tally.outcomes), _Text(self.tally.rate)
        done = sum(list(self.counts.values()))
        progress.add_task("send", total=self.total, completed=done, outcomes=outcomes, rate=rate)
        return progress

    def finished(self, delivery: Delivery) -> None:
        self.counts[str(delivery.outcome)] += 1
        progress = self._progress
        if progress is not None:
            progress.advance(progress.task_ids[0])

    def _show(self) -> None:
        self.progress.start()

    def __enter__(self) -> BurstProgress:
        self._timer = threading.Timer(self.DELAY, self._show)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
        if self._progress is not None:
            self._progress.stop()


def print_check(console: Console, report: CheckReport) -> None:
    console.print(Text(f"check {visible(report.url)}", style="bold"))
    for rule in report.rules:
        line = Text("  ")
        line.append(f"{rule.verdict.upper():4}", style=VERDICT_STYLE[rule.verdict])
        line.append(f"  {rule.name:9} {visible(rule.reason)}")
        console.print(line)
    if report.passed:
        console.print(Text("Webex Connect would accept this URL.", style="bold green"))
    else:
        console.print(Text("Webex Connect would refuse this URL.", style="bold red"))


def print_webhooks(console: Console, documents: Sequence[dict[str, object]]) -> None:
    """``connect-hooks webhooks``: one block per profile, only the settings it has (secrets masked)."""
    for document in documents:
        console.print(Text(visible(str(document["name"])), style="bold"), Text(f"({document['source']})", style="dim"))
        for key, value in document.items():
            if key in ("name", "source") or value is None:
                continue
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            console.print(f"  {key:<21} {visible(str(value))}")


def print_replay_plan(console: Console, planned: Sequence[Planned]) -> None:
    """``replay --dry-run``: what would be sent, one row per notification, and nothing sent."""
    urls = {redact_url(item.url) for item in planned}
    one_url = next(iter(urls)) if len(urls) == 1 else None
    title = (
        f"replay --dry-run to {visible(one_url)}: nothing is sent" if one_url else "replay --dry-run: nothing is sent"
    )
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("line", justify="right")
    table.add_column("target")
    table.add_column("gtrid", min_width=36, overflow="fold")  # whole, to copy into --gtrid
    table.add_column("recorded")
    table.add_column("bytes", justify="right")
    table.add_column("signature")
    if one_url is None:
        table.add_column("to", overflow="fold")
    for item in planned:
        recorded = item.recorded
        was = recorded.outcome if recorded.outcome is not None else str(recorded.status or "-")
        gtrid = Text(visible(item.notification.gtrid))
        if item.notification.gtrid != recorded.gtrid:
            gtrid.append(" (new)", style="yellow")
        signed = "re-signed" if item.resigned else ("as recorded" if recorded.header("x-hub-signature") else "none")
        row: list[str | Text] = [str(recorded.line), visible(item.notification.target), gtrid, visible(was)]
        row += [str(len(item.notification.body)), signed]
        table.add_row(*row, *([visible(redact_url(item.url))] if one_url is None else []))
    console.print(table)
    n = len(planned)
    console.print(Text(f"{n} notification{'s' if n != 1 else ''} would be replayed", style="bold"))
