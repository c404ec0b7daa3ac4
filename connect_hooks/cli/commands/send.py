"""``connect-hooks send``: options in, ``sending.plan`` and ``sending.run``, a report out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.cli.commands.options import (
    allow_http_option,
    announce_credentials,
    auth_options,
    concurrency_options,
    console,
    dump_json,
    header_option,
    log_option,
    output_options,
    policy_options,
    resolve_credentials,
    resolve_secret,
    secret_options,
    set_option,
    signature_options,
    summary_option,
    time_options,
    tls_options,
    webhook_options,
)
from connect_hooks.errors import BadInput, ExitCode

if TYPE_CHECKING:
    from typing import Protocol

    import httpx
    from rich.console import Console

    from connect_hooks.sender import sending

    class Reported(sending.Runnable, Protocol):
        """What the reports need of a plan: a ``SendPlan``, or a replay's plan."""

        @property
        def total(self) -> int: ...
        @property
        def single(self) -> bool: ...  # --json prints one object instead of a list


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


@click.command()
@click.argument("targets", metavar="TARGET...", nargs=-1)
@click.argument("url", required=False)
@secret_options
@signature_options
@header_option
@policy_options
@time_options
@click.option(
    "--count", type=click.IntRange(min=1), default=1, show_default=True, help="Send every TARGET this many times."
)
@concurrency_options
@summary_option
@allow_http_option
@tls_options
@click.option("--seed", type=int, help="Render samples reproducibly (same seed, same bytes).")
@set_option
@log_option
@webhook_options
@auth_options
@output_options
@click.pass_context
def send(
    ctx: click.Context,
    targets: tuple[str, ...],
    url: str | None,
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
    count: int,
    concurrency: int,
    rate: float | None,
    summary_only: bool,
    allow_http: bool,
    ca_bundle: str | None,
    insecure: bool,
    seed: int | None,
    sets: tuple[str, ...],
    log_path: str | None,
    credentials: Any,
    as_json: bool,
) -> ExitCode:
    """Send TARGET to URL the way Webex Connect does: signed, with its retry policy.

    TARGET is a sample name (or a glob such as 'receipt/sms/*'), a JSON file sent byte for byte,
    or - for stdin.
    """
    from connect_hooks.client.transport import make_client
    from connect_hooks.policy import Policy
    from connect_hooks.sender import sending

    if url is None:
        raise BadInput(f"send needs a TARGET and then a URL (or --webhook NAME): {sending.EXAMPLE}")
    auth, client_cert = resolve_credentials(credentials)
    settings = sending.SendSettings(
        url=url,
        targets=targets,
        secret=resolve_secret(ctx, secret, secret_file),
        algorithm=algorithm,
        signature_style=signature_style,
        headers=tuple(sending.parse_header_option(h) for h in headers),
        policy=Policy.build(schedule=schedule, retries=retries, interval=interval, timeout=timeout),
        allow_http=allow_http,
        seed=seed,
        sets=sets,
        count=count,
        concurrency=concurrency,
        rate=rate,
        speed=speed,
        fast=fast,
        log_path=log_path,
        auth=auth,
        client_cert=client_cert,
    )
    plan = sending.plan(settings, stdin=sys.stdin.buffer.read)
    tls = plan.target.scheme == "https" or ca_bundle is not None
    client = make_client(
        ca_bundle=ca_bundle, insecure=insecure, tls=tls, auth=build_auth(auth), client_cert=client_cert
    )
    summary_only = summary_only or (not as_json and not plan.tables)

    def preamble() -> None:  # click, not Rich: --json never loads Rich
        def note(text: str, **style: Any) -> None:
            click.echo(click.style(text, **style), err=True)

        announce_credentials(auth, client_cert, quiet=as_json)
        if plan.target.note:
            note(plan.target.note, dim=True)
        if settings.secret is not None and not as_json:
            from connect_hooks.client.hubsecret import masked

            note(f"signing with {settings.algorithm}: hub secret {masked(settings.secret)}", dim=True)
        if insecure:
            note("warning: --insecure: TLS certificates are not verified (Webex Connect always verifies)", fg="yellow")

    if as_json:
        return json_report(plan, client, summary_only, preamble)
    return people_report(plan, client, summary_only, preamble)


def build_auth(auth: Any) -> httpx.Auth | None:
    """The client's ``httpx.Auth`` for resolved ``AuthSettings`` (one per run: an OAuth token cache
    shared by every notification), or None."""
    if auth is None:
        return None
    from connect_hooks.client.auth import build

    return build(auth)


def json_report(
    plan: Reported, client: httpx.AsyncClient, summary_only: bool, preamble: Callable[[], None]
) -> ExitCode:
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
    from connect_hooks.cli import render
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
