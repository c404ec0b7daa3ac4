"""What the sending commands ('send', 'replay', 'conform') say around a run: the one preamble on
stderr, and the reports of a run (one JSON document, or the people's view) with its exit code."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.errors import ExitCode

if TYPE_CHECKING:
    from typing import Protocol

    import httpx
    from rich.console import Console

    from connect_hooks.cli.commands.options import Credentials
    from connect_hooks.sender import sending

    class Reported(sending.Runnable, Protocol):
        """What the reports need of a plan: a ``SendPlan``, or a replay's plan."""

        @property
        def total(self) -> int: ...
        @property
        def single(self) -> bool: ...  # --json prints one object instead of a list
        @property
        def tables(self) -> bool: ...  # few enough notifications for their tables


INSECURE = "warning: --insecure: TLS certificates are not verified (Webex Connect always verifies)"


def note(text: str, **style: Any) -> None:
    """One line on stderr (click, not Rich: --json never loads Rich)."""
    click.echo(click.style(text, **style), err=True)


def preamble(
    credentials: Credentials,
    *,
    quiet: bool,
    insecure: bool,
    notes: Iterable[str] = (),
    secret: str | None = None,
    algorithm: str = "sha256",
    verb: str = "signing",
    silent: bool = False,
) -> None:
    """What a command that sends says on stderr before its first request: the authorization and
    client certificate, the command's own ``notes``, the hub secret it signs with (masked), and a
    warning with --insecure. ``quiet`` (--json) drops the credentials' and the secret's lines;
    ``silent`` (conform's --json, whose stderr stays empty) drops the --insecure warning too."""
    credentials.announce(quiet=quiet)
    for text in notes:
        note(text, dim=True)
    if secret is not None and not quiet:
        from connect_hooks.client.hubsecret import masked

        note(f"{verb} with {algorithm}: hub secret {masked(secret)}", dim=True)
    if insecure and not silent:
        note(INSECURE, fg="yellow")


def report(
    plan: Reported, client: httpx.AsyncClient, *, as_json: bool, summary_only: bool, preamble: Callable[[], None]
) -> ExitCode:
    """Run ``plan`` and report it: --json, or for people (only the summary beyond their tables)."""
    summary_only = summary_only or (not as_json and not plan.tables)
    if as_json:
        return json_report(plan, client, summary_only, preamble)
    return people_report(plan, client, summary_only, preamble)


def json_report(
    plan: Reported, client: httpx.AsyncClient, summary_only: bool, preamble: Callable[[], None]
) -> ExitCode:
    from connect_hooks.cli.commands.options import dump_json
    from connect_hooks.sender import sending

    result = sending.run(plan, client=client, on_begin=preamble, keep=not summary_only)
    if summary_only:
        document: Any = result.summary.as_dict()
    else:
        documents = [d.as_dict() for d in result.deliveries]
        # One notification is one object (null if an interruption came before its first attempt).
        document = (documents[0] if documents else None) if plan.single else documents
    try:
        dump_json(document)
    except BrokenPipeError:
        sending.stdout_gone()
    return exit_code(result)


def exit_code(result: sending.SendResult) -> ExitCode:
    if result.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.OK if result.all_delivered else ExitCode.FAILED


def people_report(
    plan: Reported,
    client: httpx.AsyncClient,
    summary_only: bool,
    preamble: Callable[[], None],
) -> ExitCode:
    import sys

    from connect_hooks.cli import summarytext

    if summary_only and not summarytext.maybe_terminal(sys.stdout) and not summarytext.maybe_terminal(sys.stderr):
        return plain_summary_report(plan, client, preamble)  # a pipe: Rich would draw no style, so no Rich

    from connect_hooks.cli import render
    from connect_hooks.cli.commands.options import console
    from connect_hooks.sender import sending

    out = console()
    err = console(stderr=True)
    settings = plan.settings
    live = out.is_terminal and not summary_only
    clock = sending.make_clock(settings, sleep=make_sleep(speed=settings.speed or 1.0, show=err if live else None))
    if summary_only and err.is_terminal:
        with render.BurstProgress(err, plan.total) as progress:
            result = sending.run(
                plan, client=client, clock=clock, on_begin=preamble, on_finish=progress.finished, keep=False
            )
    else:
        on_attempt = (lambda target, attempt: out.print(render.attempt_line(target, attempt))) if live else None
        result = sending.run(
            plan, client=client, clock=clock, on_begin=preamble, on_attempt=on_attempt, keep=not summary_only
        )
    try:
        if summary_only:
            render.print_summary(out, result.summary)
        else:
            render.print_deliveries(out, result.deliveries, tables=not live)
            if result.summary.never_started:
                out.print(render.never_started_line(result.summary.never_started))
    except BrokenPipeError:
        sending.stdout_gone()
    return exit_code(result)


def plain_summary_report(plan: Reported, client: httpx.AsyncClient, preamble: Callable[[], None]) -> ExitCode:
    """The people's summary where neither stdout nor stderr is a terminal: the text Rich would write
    there (summarytext), without loading Rich (tens of ms of a burst's start-up)."""
    import sys

    from connect_hooks.cli import summarytext
    from connect_hooks.sender import sending

    clock = sending.make_clock(plan.settings, sleep=make_sleep(speed=plan.settings.speed or 1.0, show=None))
    result = sending.run(plan, client=client, clock=clock, on_begin=preamble, keep=False)
    try:
        sys.stdout.write(summarytext.plain(summarytext.summary_lines(result.summary)))
        sys.stdout.flush()
    except BrokenPipeError:
        sending.stdout_gone()
    return exit_code(result)


def make_sleep(*, speed: float, show: Console | None) -> Callable[[float], Any]:
    """The scheduler's real sleep, with a countdown of the simulated wait on a terminal."""

    import asyncio

    async def sleep(seconds: float) -> None:
        if show is None or not show.is_terminal or seconds < 0.5:
            await asyncio.sleep(seconds)
            return
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        with show.status("") as status:
            while (left := end - loop.time()) > 0:
                simulated = left * speed
                status.update(
                    f"next attempt in {simulated:.0f} s" + (f" (simulated, x{speed:g})" if speed != 1 else "")
                )
                await asyncio.sleep(min(left, 0.25))

    return sleep
