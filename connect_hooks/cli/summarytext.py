"""The burst summary's lines for people, as styled runs: Rich draws them (render.print_summary), and a
pipe gets them as plain text without loading Rich (what Rich would write there, to the byte)."""

from __future__ import annotations

import builtins
import os
from typing import IO

from connect_hooks.policy import Outcome
from connect_hooks.sender.summary import Percentiles, Summary

OUTCOME_STYLE = {
    Outcome.DELIVERED: "bold green",
    Outcome.FAILED: "bold red",
    Outcome.DROPPED: "bold red",
    Outcome.INTERRUPTED: "bold yellow",
}

#: Runs of text and their style (None: none); a line's first run's style is the whole line's.
Line = list[tuple[str, str | None]]

#: Set, these make Rich treat a stream as a terminal whatever it is (or tell it how to).
TERMINAL_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS", "JUPYTER_LINES")


def never_started_row(count: int) -> str:
    """The summary's row for the notifications an interruption stopped before their first attempt."""
    return f"  never started  {count} (interrupted before their first attempt: never sent, not in the log)"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:g} ms"


def _percentiles(label: str, p: Percentiles) -> str:
    return f"  {label:15} p50 {_ms(p.p50)}   p90 {_ms(p.p90)}   p99 {_ms(p.p99)}   max {_ms(p.max)}"


def summary_lines(summary: Summary) -> list[Line]:
    """The burst summary: counts, answers, throughput, latency percentiles and a small histogram."""
    n, a = summary.notifications, summary.attempts
    title: Line = [(f"{n} notification{'s' if n != 1 else ''}, {a} attempt{'s' if a != 1 else ''}", "bold")]
    title.append(
        (f" in {summary.wall_s:.2f} s: {summary.throughput_per_s:.1f} notifications/s", "bold" if n else "dim")
    )
    if summary.ended < n:  # throughput counts the notifications that reached an outcome, not the interrupted ones
        title.append((f" ({summary.ended} reached an outcome)", "dim"))
    outcomes: Line = [("  outcomes       ", None)]
    for index, (name, count) in enumerate(summary.outcomes.items()):
        if index:
            outcomes.append((", ", None))
        outcomes.append((f"{count} {name}", OUTCOME_STYLE[Outcome(name)] if count else "dim"))
    lines = [title, outcomes]
    if summary.never_started:
        lines.append([(never_started_row(summary.never_started), None)])
    answers = ", ".join(f"{key} x{count}" for key, count in summary.answers.items()) or "none"
    lines.append([(f"  answers        {answers}", None)])
    lines.append([("  latency (from each attempt's intended start to its answer)", "dim")])
    lines.append([(_percentiles("first attempts", summary.first_attempt), None)])
    lines.append([(_percentiles("all attempts", summary.all_attempts), None)])
    most = max((count for _, count in summary.histogram), default=0)
    for label, count in summary.histogram:
        bar = "█" * (round(30 * count / most) if most else 0)
        lines.append([(f"  {label:>11}  {bar:30} {count}", None)])
    return lines


def plain(lines: list[Line]) -> str:
    return "".join("".join(text for text, _ in line) + "\n" for line in lines)


def maybe_terminal(stream: IO[str]) -> bool:
    """Whether Rich may draw on ``stream`` as on a terminal (styles, a progress bar): it is a tty, or the
    environment decides for Rich, or Rich would draw in a notebook. False only when Rich surely would
    not: then its output is the lines' plain text."""
    if any(name in os.environ for name in TERMINAL_ENV) or hasattr(builtins, "get_ipython"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return True  # let Rich decide
