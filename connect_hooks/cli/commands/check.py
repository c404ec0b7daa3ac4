"""``connect-hooks check``: would Webex Connect accept this URL?"""

from __future__ import annotations

from typing import Any

import click

from connect_hooks.cli.commands.options import (
    Credentials,
    Tls,
    auth_options,
    console,
    dump_json,
    output_options,
    timeout_option,
    tls_options,
    webhook_options,
)
from connect_hooks.errors import BadInput, ExitCode


@click.command()
@click.argument("url", required=False)
@timeout_option
@tls_options
@webhook_options
@auth_options
@output_options
@click.pass_context
def check(ctx: click.Context, /, url: str | None, timeout: float, as_json: bool, **options: Any) -> ExitCode:
    """Would Webex Connect accept URL? (https, HEAD answers 200, TLS verifies)

    The HEAD carries the same authorization and client certificate as the notifications would.
    With --webhook NAME, URL and settings come from that webhook profile.
    """
    import asyncio
    import time

    from connect_hooks.sender import endpoint
    from connect_hooks.urls import parse_url

    if url is None:
        raise BadInput("check needs a URL: e.g. connect-hooks check https://example.test/hooks, or --webhook NAME")
    parse_url(url)
    credentials: Credentials = auth_options.take(ctx, options)
    credentials.announce(quiet=as_json)
    tls: Tls = tls_options.take(ctx, options)

    async def run() -> endpoint.CheckReport:
        client, verifying = tls.pair(credentials)
        if verifying is None:
            async with client:
                return await endpoint.check_endpoint(url, client=client, now=time.monotonic, timeout=timeout)
        async with verifying, client:  # judged as Webex Connect verifies; the insecure client goes on past TLS
            return await endpoint.check_endpoint(
                url, client=verifying, now=time.monotonic, timeout=timeout, insecure_client=client
            )

    report = asyncio.run(run())
    if as_json:
        dump_json(report.as_dict())
    else:
        from connect_hooks.cli import render

        render.print_check(console(), report)
    return ExitCode.OK if report.passed else ExitCode.FAILED
