"""``connect-hooks wait URL``: wait until URL answers HEAD with 200, e.g. an app started in the background in CI."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from connect_hooks.cli.commands.options import POSITIVE, Credentials, Tls, tls_options
from connect_hooks.errors import ConnectHooksError, ExitCode

if TYPE_CHECKING:
    from connect_hooks.client.ready import Waited

DEFAULT_TIMEOUT = 30.0


@click.command()
@click.argument("url")
@click.option(
    "--timeout",
    type=POSITIVE,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Give up after this long: exit 1, saying what the last HEAD saw.",
)
@tls_options
@click.pass_context
def wait(ctx: click.Context, /, url: str, timeout: float, **options: object) -> ExitCode:
    """Wait until URL answers HEAD with 200 (polling, pauses growing to 1 s); exit 0 then.

    Exit 1 after --timeout with what the last HEAD saw (a status, connection refused, ...).
    In CI: start your app in the background, 'connect-hooks wait URL', then 'connect-hooks conform URL'.
    """
    import asyncio
    import time

    from connect_hooks.client.ready import wait_ready
    from connect_hooks.redaction import redact_url
    from connect_hooks.urls import parse_url

    target = parse_url(url)
    tls: Tls = tls_options.take(ctx, dict(options))
    client = tls.client(Credentials(None, None), tls=target.scheme == "https" or tls.ca_bundle is not None)

    async def run() -> Waited:
        async with client:
            return await wait_ready(target.url, client=client, timeout=timeout, now=time.monotonic)

    waited = asyncio.run(run())
    shown = redact_url(target.url)
    if not waited.ready:
        raise ConnectHooksError(
            f"{shown} did not answer HEAD with 200 within {timeout:g} s ({waited.attempts} tries); last: {waited.last}"
        )
    click.echo(f"{shown} is ready: HEAD answered 200 after {waited.seconds:.1f} s", err=True)
    return ExitCode.OK
