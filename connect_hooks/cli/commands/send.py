"""``connect-hooks send``: options in, ``sending.plan`` and ``sending.run``, a report out."""

from __future__ import annotations

import sys
from typing import Any

import click

from connect_hooks.cli import completers
from connect_hooks.cli.commands.options import (
    allow_http_option,
    auth_options,
    concurrency_options,
    header_option,
    log_option,
    output_options,
    policy_options,
    secret_options,
    set_option,
    signature_options,
    summary_option,
    time_options,
    tls_options,
    webhook_options,
)
from connect_hooks.errors import BadInput, ExitCode


@click.command()
@click.argument("targets", metavar="TARGET...", nargs=-1, shell_complete=completers.send_targets)
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
@click.option(
    "--out-of-order",
    is_flag=True,
    help="Deliver each story's steps last first (receipts may arrive in any order: Webex Connect retries each).",
)
@set_option
@log_option
@webhook_options
@auth_options
@output_options
@click.pass_context
def send(ctx: click.Context, /, targets: tuple[str, ...], url: str | None, **options: Any) -> ExitCode:
    """Send TARGET to URL the way Webex Connect does: signed, with its retry policy.

    TARGET is a sample name (or a glob such as 'receipt/sms/*'), a story (story/whatsapp/read:
    every step its own notification, at its offset), a JSON file sent byte for byte, or - for stdin.
    """
    import functools

    from connect_hooks.cli import reports
    from connect_hooks.sender import sending

    if url is None:
        raise BadInput(f"send needs a TARGET and then a URL (or --webhook NAME): {sending.EXAMPLE}")
    credentials = auth_options.take(ctx, options)
    settings = sending.SendSettings(
        url=url,
        targets=targets,
        **secret_options.take(ctx, options),
        **signature_options.take(ctx, options),
        **header_option.take(ctx, options),
        **policy_options.take(ctx, options),
        **allow_http_option.take(ctx, options),
        seed=options.pop("seed"),
        out_of_order=options.pop("out_of_order"),
        **set_option.take(ctx, options),
        count=options.pop("count"),
        **concurrency_options.take(ctx, options),
        **time_options.take(ctx, options),
        **log_option.take(ctx, options),
        auth=credentials.auth,
        client_cert=credentials.cert,
    )
    plan = sending.plan(settings, stdin=sys.stdin.buffer.read)
    tls = tls_options.take(ctx, options)
    client = tls.client(credentials, tls=plan.target.scheme == "https" or tls.ca_bundle is not None)
    as_json = output_options.take(ctx, options)
    preamble = functools.partial(
        reports.preamble,
        credentials,
        quiet=as_json,
        insecure=tls.insecure,
        notes=([plan.target.note] if plan.target.note else []) + _shared_gtrid_note(plan),
        secret=settings.secret,
        algorithm=settings.algorithm,
    )
    summary_only = summary_option.take(ctx, options)
    return reports.report(plan, client, as_json=as_json, summary_only=summary_only, preamble=preamble)


def _shared_gtrid_note(plan: Any) -> list[str]:
    """Say so when a send repeats one notification under a fixed gtrid (-H 'x-wx-gtrid: G')."""
    from connect_hooks.sender.delivery import fixed_gtrid
    from connect_hooks.textsafe import visible

    fixed = fixed_gtrid(plan.settings.headers)
    if fixed is None or plan.total < 2:
        return []
    return [f"x-wx-gtrid {visible(fixed)} is fixed: the same notification is delivered {plan.total} times"]
