"""``connect-hooks check``: would Webex Connect accept this URL?"""

from __future__ import annotations

import click

from connect_hooks.commands.options import console, dump_json, output_options, timeout_option, tls_options
from connect_hooks.errors import ExitCode


@click.command()
@click.argument("url")
@timeout_option
@tls_options
@output_options
def check(url: str, timeout: float, ca_bundle: str | None, insecure: bool, as_json: bool) -> ExitCode:
    """Would Webex Connect accept URL? (https, HEAD answers 200, TLS verifies)"""
    import asyncio
    import time

    from connect_hooks import endpoint
    from connect_hooks.transport import make_client
    from connect_hooks.urls import parse_url

    parse_url(url)

    async def run() -> endpoint.CheckReport:
        async with make_client(ca_bundle=ca_bundle) as client:
            if not insecure:
                return await endpoint.check(url, client=client, now=time.monotonic, timeout=timeout)
            async with make_client(insecure=True) as loose:
                return await endpoint.check(
                    url, client=client, now=time.monotonic, timeout=timeout, insecure_client=loose
                )

    report = asyncio.run(run())
    if as_json:
        dump_json(report.as_dict())
    else:
        from connect_hooks import render

        render.print_check(console(), report)
    return ExitCode.OK if report.passed else ExitCode.FAILED
