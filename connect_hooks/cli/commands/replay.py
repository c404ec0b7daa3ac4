"""``connect-hooks replay``: options in, ``replay.prepare_replay`` and ``sending.run``, send's report out."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.cli.commands.options import (
    allow_http_option,
    announce_credentials,
    auth_options,
    concurrency_options,
    dump_json,
    header_option,
    log_option,
    output_options,
    policy_options,
    resolve_credentials,
    resolve_secret,
    secret_options,
    signature_options,
    summary_option,
    time_options,
    tls_options,
)
from connect_hooks.errors import ExitCode

if TYPE_CHECKING:
    from connect_hooks.sender.replay import ReplayPlan


@click.command()
@click.argument("log", metavar="LOG")
@click.argument("url", required=False)
@click.option(
    "--outcome",
    metavar="OUTCOME[,OUTCOME]",
    help="Only notifications that ended so (send logs): delivered, failed, dropped, interrupted.",
)
@click.option("--status", metavar="CODE[,CODE]", help="Only notifications the receiver last answered so (listen logs).")
@click.option("--target", "targets", multiple=True, metavar="GLOB", help="Only these targets, e.g. 'receipt/*'.")
@click.option("--gtrid", "gtrids", multiple=True, metavar="ID", help="Only this x-wx-gtrid (repeatable).")
@click.option("--since", metavar="ISO-TIME", help="Only notifications recorded at or after this time.")
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
def replay(
    ctx: click.Context,
    log: str,
    url: str | None,
    outcome: str | None,
    status: str | None,
    targets: tuple[str, ...],
    gtrids: tuple[str, ...],
    since: str | None,
    new_gtrid: bool,
    resign: bool,
    secret: str | None,
    secret_file: str | None,
    algorithm: str,
    signature_style: str,
    headers: tuple[str, ...],
    timeout: float,
    schedule: str,
    retries: int | None,
    interval: float | None,
    speed: float | None,
    fast: bool,
    concurrency: int,
    rate: float | None,
    summary_only: bool,
    allow_http: bool,
    ca_bundle: str | None,
    insecure: bool,
    dry_run: bool,
    log_path: str | None,
    credentials: Any,
    as_json: bool,
) -> ExitCode:
    """Send again what LOG recorded ('send --log' or 'listen --log'; - for stdin) to URL.

    URL defaults to each notification's original URL (send logs); a listen log needs it. By
    default a replay is exact: the same body bytes, x-wx-gtrid and x-hub-signature, so the
    receiver's idempotency is tested. Skipped log lines are reported on stderr. A recorded
    Authorization is never sent again: give --auth (and --client-cert) as for 'send'.
    """
    from connect_hooks.policy import Policy
    from connect_hooks.sender import replay as core
    from connect_hooks.sender.sending import parse_header_option

    settings = core.ReplaySettings(
        log=log,
        url=url,
        filters=core.Filters(
            outcomes=core.parse_outcomes(outcome) if outcome is not None else (),
            statuses=core.parse_statuses(status) if status is not None else (),
            targets=targets,
            gtrids=gtrids,
            since=core.parse_since(since) if since is not None else None,
        ),
        new_gtrid=new_gtrid,
        resign=resign,
        secret=resolve_secret(ctx, secret, secret_file),
        algorithm=algorithm,
        signature_style=signature_style,
        headers=tuple(parse_header_option(h) for h in headers),
        allow_http=allow_http,
        policy=Policy.build(schedule=schedule, retries=retries, interval=interval, timeout=timeout),
        concurrency=concurrency,
        rate=rate,
        speed=speed,
        fast=fast,
        log_path=None if dry_run else log_path,
    )
    auth, client_cert = resolve_credentials(credentials)
    plan = core.prepare_replay(settings, stdin=sys.stdin.buffer)

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
        code = _replay(
            plan,
            summary_only=summary_only,
            as_json=as_json,
            ca_bundle=ca_bundle,
            insecure=insecure,
            auth=auth,
            client_cert=client_cert,
        )
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


def _replay(
    plan: ReplayPlan,
    *,
    summary_only: bool,
    as_json: bool,
    ca_bundle: str | None,
    insecure: bool,
    auth: Any,
    client_cert: Any,
) -> ExitCode:
    from connect_hooks.cli.commands.send import build_auth, json_report, people_report
    from connect_hooks.client.transport import make_client

    settings = plan.settings
    tls = ca_bundle is not None or any(url.lower().startswith("https:") for url in plan.urls)
    client = make_client(
        ca_bundle=ca_bundle, insecure=insecure, tls=tls, auth=build_auth(auth), client_cert=client_cert
    )
    summary_only = summary_only or (not as_json and not plan.tables)

    def preamble() -> None:
        announce_credentials(auth, client_cert, quiet=as_json)
        for remark in plan.notes:
            _note(remark, dim=True)
        _note(f"replaying {plan.total} of the {_in(plan)}", dim=True)
        if settings.resign and settings.secret is not None and not as_json:
            from connect_hooks.client.hubsecret import masked

            _note(f"re-signing with {settings.algorithm}: hub secret {masked(settings.secret)}", dim=True)
        if insecure:
            _note("warning: --insecure: TLS certificates are not verified (Webex Connect always verifies)", fg="yellow")

    if as_json:
        return json_report(plan, client, summary_only, preamble)
    return people_report(plan, client, summary_only, preamble)
