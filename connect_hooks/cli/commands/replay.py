"""``connect-hooks replay``: options in, ``replay.prepare_replay`` and ``sending.run``, the report of 'send' out."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.cli.commands.options import (
    Group,
    Option,
    allow_http_option,
    auth_options,
    concurrency_options,
    dump_json,
    header_option,
    log_option,
    output_options,
    policy_options,
    secret_options,
    signature_options,
    summary_option,
    time_options,
    tls_options,
)
from connect_hooks.errors import ExitCode

if TYPE_CHECKING:
    from connect_hooks.cli.commands.options import Credentials, Tls
    from connect_hooks.sender.replay import Filters, ReplayPlan


def _filters(ctx: click.Context, values: dict[str, Any]) -> Filters:
    from connect_hooks.sender import replay as core

    outcome, status, since = values["outcome"], values["status"], values["since"]
    return core.Filters(
        outcomes=core.parse_outcomes(outcome) if outcome is not None else (),
        statuses=core.parse_statuses(status) if status is not None else (),
        targets=values["targets"],
        gtrids=values["gtrids"],
        since=core.parse_since(since) if since is not None else None,
    )


#: Which of the log's notifications are sent again: a ``replay.Filters``.
filter_options: Group[Filters] = Group(
    Option(
        "outcome",
        "--outcome",
        metavar="OUTCOME[,OUTCOME]",
        help="Only notifications that ended so (send logs): delivered, failed, dropped, interrupted.",
    ),
    Option(
        "status",
        "--status",
        metavar="CODE[,CODE]",
        help="Only notifications the receiver last answered so (listen logs).",
    ),
    Option("targets", "--target", multiple=True, metavar="GLOB", help="Only these targets, e.g. 'receipt/*'."),
    Option("gtrids", "--gtrid", multiple=True, metavar="ID", help="Only this x-wx-gtrid (repeatable)."),
    Option("since", "--since", metavar="ISO-TIME", help="Only notifications recorded at or after this time."),
    build=_filters,
)


@click.command()
@click.argument("log", metavar="LOG")
@click.argument("url", required=False)
@filter_options
@click.option(
    "--new-gtrid", is_flag=True, help="Give each notification a fresh x-wx-gtrid (default: the recorded one)."
)
@click.option(
    "--resign", is_flag=True, help="Sign again with the current hub secret (default: the recorded signature)."
)
@secret_options
@signature_options
@header_option
@policy_options
@time_options
@concurrency_options
@summary_option
@allow_http_option
@tls_options
@click.option("--dry-run", is_flag=True, help="List what would be sent, and send nothing.")
@log_option
@auth_options
@output_options
@click.pass_context
def replay(ctx: click.Context, /, log: str, url: str | None, **options: Any) -> ExitCode:
    """Send again what LOG recorded ('send --log' or 'listen --log'; - for stdin) to URL.

    URL defaults to each notification's original URL (send logs); a listen log needs it. By
    default a replay is exact: the same body bytes, x-wx-gtrid and x-hub-signature, so the
    receiver's idempotency is tested. Skipped log lines are reported on stderr. A recorded
    Authorization is never sent again: give --auth (and --client-cert) as for 'send'.
    """
    from connect_hooks.sender import replay as core

    dry_run = options.pop("dry_run")
    settings = core.ReplaySettings(
        log=log,
        url=url,
        filters=filter_options.take(ctx, options),
        new_gtrid=options.pop("new_gtrid"),
        resign=options.pop("resign"),
        **secret_options.take(ctx, options),
        **signature_options.take(ctx, options),
        **header_option.take(ctx, options),
        **allow_http_option.take(ctx, options),
        **policy_options.take(ctx, options),
        **concurrency_options.take(ctx, options),
        **time_options.take(ctx, options),
        log_path=None if dry_run else log_option.take(ctx, options)["log_path"],
    )
    credentials = auth_options.take(ctx, options)
    plan = core.prepare_replay(settings, stdin=sys.stdin.buffer)
    as_json, summary_only = output_options.take(ctx, options), summary_option.take(ctx, options)
    for problem in plan.problems:
        _note(problem, fg="yellow")
    if not plan.total:
        _note(f"nothing to replay: none of the {_in(plan)} matches")
        if as_json:
            from connect_hooks.sender.summary import SummaryCounter

            dump_json(SummaryCounter().summary(0.0).as_dict() if summary_only and not dry_run else [])
        return ExitCode.OK
    if dry_run:
        code = _dry_run(plan, as_json)
    else:
        tls = tls_options.take(ctx, options)
        code = _replay(plan, tls, credentials, summary_only=summary_only, as_json=as_json)
    for late in plan.late:  # lines that changed while the replay ran (read twice: to plan, to send)
        _note(late.describe(plan.log.source), fg="yellow")
    return code


def _note(text: str, **style: Any) -> None:  # click, not Rich: --json never loads Rich
    click.echo(click.style(text, **style), err=True)


def _notifications(n: int) -> str:
    return f"{n} notification{'s' if n != 1 else ''}"


def _in(plan: ReplayPlan) -> str:
    """'the 4 notifications in LOG', and how many of its lines were skipped."""
    skipped = len(plan.log.problems)
    lines = f" ({skipped} line{'s' if skipped != 1 else ''} skipped)" if skipped else ""
    return f"{_notifications(plan.log.count)} in {plan.log.source}{lines}"


def _dry_run(plan: ReplayPlan, as_json: bool) -> ExitCode:
    if as_json:
        dump_json([item.as_dict() for item in plan.planned])
        return ExitCode.OK
    from connect_hooks.cli import render
    from connect_hooks.cli.commands.options import console

    render.print_replay_plan(console(), plan.planned)
    return ExitCode.OK


def _replay(plan: ReplayPlan, tls: Tls, credentials: Credentials, *, summary_only: bool, as_json: bool) -> ExitCode:
    import functools

    from connect_hooks.cli import reports

    settings = plan.settings
    needs_tls = tls.ca_bundle is not None or any(url.lower().startswith("https:") for url in plan.urls)
    client = tls.client(credentials, tls=needs_tls)
    preamble = functools.partial(
        reports.preamble,
        credentials,
        quiet=as_json,
        insecure=tls.insecure,
        notes=[*plan.notes, f"replaying {plan.total} of the {_in(plan)}"],
        secret=settings.secret if settings.resign else None,
        algorithm=settings.algorithm,
        verb="re-signing",
    )
    return reports.report(plan, client, as_json=as_json, summary_only=summary_only, preamble=preamble)
