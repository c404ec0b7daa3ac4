"""``connect-hooks check``: would Webex Connect accept this URL?"""

from __future__ import annotations

from typing import Any

import click

from connect_hooks.commands.options import (
    announce_credentials,
    auth_options,
    console,
    dump_json,
    output_options,
    resolve_credentials,
    timeout_option,
    tls_options,
)
from connect_hooks.errors import ExitCode


@click.command()
@click.argument("url")
@timeout_option
@tls_options
@auth_options
@output_options
def check(url: str, timeout: float, ca_bundle: str | None, insecure: bool, credentials: Any, as_json: bool) -> ExitCode:
    """Would Webex Connect accept URL? (https, HEAD answers 200, TLS verifies)

    The HEAD carries the same authorization and client certificate as the notifications would.
    """
    import asyncio
    import time

    from connect_hooks import endpoint
    from connect_hooks.auth import build
    from connect_hooks.transport import make_client
    from connect_hooks.urls import parse_url

    parse_url(url)
    auth, client_cert = resolve_credentials(credentials)
    announce_credentials(console(stderr=True), auth, client_cert, quiet=as_json)

    async def run() -> endpoint.CheckReport:
        shared = build(auth) if auth is not None else None  # one token cache for both probes
        async with make_client(ca_bundle=ca_bundle, auth=shared, client_cert=client_cert) as client:
            if not insecure:
                return await endpoint.check(url, client=client, now=time.monotonic, timeout=timeout)
            async with make_client(insecure=True, auth=shared, client_cert=client_cert) as loose:
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
