"""``connect-hooks check``: would Webex Connect accept this URL?"""

from __future__ import annotations

from typing import Any

import click

from connect_hooks.cli.commands.options import (
    announce_credentials,
    auth_options,
    console,
    dump_json,
    output_options,
    resolve_credentials,
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
def check(
    url: str | None, timeout: float, ca_bundle: str | None, insecure: bool, credentials: Any, as_json: bool
) -> ExitCode:
    """Would Webex Connect accept URL? (https, HEAD answers 200, TLS verifies)

    The HEAD carries the same authorization and client certificate as the notifications would.
    With --webhook NAME, URL and settings come from that webhook profile.
    """
    import asyncio
    import time

    from connect_hooks.client.auth import build
    from connect_hooks.client.transport import make_client
    from connect_hooks.sender import endpoint
    from connect_hooks.urls import parse_url

    if url is None:
        raise BadInput("check needs a URL: e.g. connect-hooks check https://example.test/hooks, or --webhook NAME")
    parse_url(url)
    auth, client_cert = resolve_credentials(credentials)
    announce_credentials(auth, client_cert, quiet=as_json)

    async def run() -> endpoint.CheckReport:
        strict = build(auth) if auth is not None else None
        async with make_client(ca_bundle=ca_bundle, auth=strict, client_cert=client_cert) as client:
            if not insecure:
                return await endpoint.check(url, client=client, now=time.monotonic, timeout=timeout)
            loose_auth = build(auth) if auth is not None else None  # its token requests skip verification too
            async with make_client(insecure=True, auth=loose_auth, client_cert=client_cert) as loose:
                return await endpoint.check(
                    url, client=client, now=time.monotonic, timeout=timeout, insecure_client=loose
                )

    report = asyncio.run(run())
    if as_json:
        dump_json(report.as_dict())
    else:
        from connect_hooks.cli import render

        render.print_check(console(), report)
    return ExitCode.OK if report.passed else ExitCode.FAILED
