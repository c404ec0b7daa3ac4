"""``connect-hooks demo``: both sides of a delivery story, on loopback, in a few seconds."""

from __future__ import annotations

import asyncio

import click

from connect_hooks.cli.commands.options import console, dump_json, output_options
from connect_hooks.errors import ExitCode


@click.command()
@output_options
def demo(as_json: bool) -> ExitCode:
    """Watch both sides: a receiver on a free loopback port, four notifications, a few seconds.

    A receipt delivered at once; one answered 503, 503, then 200 (retried, delivered); one
    answered 404 (failed, not retried); one never answered in time (dropped after three retries).
    Real HTTPS and signatures on 127.0.0.1 only; waits are compressed.
    """
    from connect_hooks.cli import demo as story
    from connect_hooks.cli import liveview

    if as_json:
        report = asyncio.run(story.play())
        dump_json(report.as_dict())
        return ExitCode.OK if report.ok else ExitCode.FAILED
    out = console()
    report = asyncio.run(story.play(view=liveview.DemoPrinter(out)))
    out.print()
    out.print(liveview.demo_summary(report.results))
    out.print(
        "Next: 'connect-hooks listen --respond 503,200' in one terminal, "
        "'connect-hooks send receipt/sms/delivered http://127.0.0.1:8787/hooks --speed 60' in another.",
        style="dim",
    )
    return ExitCode.OK if report.ok else ExitCode.FAILED
