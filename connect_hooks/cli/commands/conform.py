"""``connect-hooks conform URL``: run the named checks, render the verdict three ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from connect_hooks.cli.commands.options import (
    announce_credentials,
    auth_options,
    console,
    dump_json,
    output_options,
    resolve_credentials,
    resolve_secret,
    secret_options,
    signature_options,
    timeout_option,
    tls_options,
)
from connect_hooks.errors import BadInput, ExitCode


def id_list(values: tuple[str, ...]) -> tuple[str, ...]:
    """``('a,b', ' c')`` (a repeated option, each comma-separated) -> ('a', 'b', 'c'); empty items dropped."""
    return tuple(item.strip() for text in values for item in text.split(",") if item.strip())


def check_junit_path(path: str) -> Path:
    """Bad input unless the JUnit report can be written there (checked before anything is sent)."""
    target = Path(path)
    if target.is_dir():
        raise BadInput(f"--junit {path!r} is a directory: give a file name such as conform.xml")
    if not target.parent.is_dir():
        raise BadInput(f"--junit {path!r}: the directory {str(target.parent)!r} does not exist; create it first")
    return target


@click.command()
@click.argument("url")
@secret_options
@signature_options
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Extra header on every request (repeatable; values are never printed).",
)
@timeout_option
@tls_options
@click.option(
    "--only",
    multiple=True,
    metavar="ID[,ID...]",
    help="Run only these checks (repeatable); a prefix such as 'accepts' is a family.",
)
@click.option(
    "--skip",
    multiple=True,
    metavar="ID[,ID...]",
    help="Leave these checks out (repeatable); a prefix such as 'rejects' is a family.",
)
@click.option(
    "--channel",
    multiple=True,
    metavar="CHANNEL[,...]",
    help="Limit the accepts/* checks to these channels (repeatable; sms, whatsapp, ...).",
)
@click.option("--seed", type=int, help="Render the samples reproducibly (default: a random seed, shown).")
@click.option("--junit", "junit_path", type=click.Path(), help="Also write a JUnit XML report to this file.")
@auth_options
@output_options
@click.pass_context
def conform(
    ctx: click.Context,
    url: str,
    secret: str | None,
    secret_file: str | None,
    algorithm: str,
    signature_style: str,
    headers: tuple[str, ...],
    timeout: float,
    ca_bundle: str | None,
    insecure: bool,
    only: tuple[str, ...],
    skip: tuple[str, ...],
    channel: tuple[str, ...],
    seed: int | None,
    junit_path: str | None,
    credentials: Any,
    as_json: bool,
) -> ExitCode:
    """Does the receiver at URL hold up against Webex Connect? One verdict from named checks.

    Each check sends once, without retries, under the attempt deadline: the URL rules of
    'check', every sample (accepts/*), forged and tampered signatures (rejects-*, with a
    secret), raw-bytes, duplicate-delivery, unknown-fields, large-body, concurrent, latency.
    Exit 0 when no check failed (warnings allowed), 1 when one did.
    """
    import asyncio
    import time

    from connect_hooks.client.transport import make_client
    from connect_hooks.conform import conformance
    from connect_hooks.sender.sending import parse_header_option
    from connect_hooks.urls import parse_url

    parse_url(url)
    auth, client_cert = resolve_credentials(credentials)
    settings = conformance.ConformSettings(
        url=url,
        secret=resolve_secret(ctx, secret, secret_file),
        algorithm=algorithm,
        signature_style=signature_style,
        headers=tuple(parse_header_option(h) for h in headers),
        timeout=timeout,
        only=id_list(only),
        skip=id_list(skip),
        channels=id_list(channel),
        seed=seed,
        ca_bundle=ca_bundle,
        insecure=insecure,
        auth=auth,
        client_cert=client_cert.source if client_cert is not None else None,
    )
    conformance.select(settings)  # unknown IDs and channels are bad input before anything is sent
    junit_file = check_junit_path(junit_path) if junit_path is not None else None
    from connect_hooks.client.auth import build

    def client_auth() -> Any:
        return build(auth) if auth is not None else None

    client = make_client(ca_bundle=ca_bundle, insecure=insecure, auth=client_auth(), client_cert=client_cert)
    announce_credentials(auth, client_cert, quiet=as_json)
    err = console(stderr=True)
    if not as_json:
        if settings.secret is not None:
            from connect_hooks.client.hubsecret import masked

            err.print(f"signing with {algorithm}: hub secret {masked(settings.secret)}", style="dim")
        if insecure:
            err.print(
                "warning: --insecure: TLS certificates are not verified (Webex Connect always does)", style="yellow"
            )

    out = console()
    on_result = None
    if not as_json:  # rows as the checks end: a slow receiver shows progress, not silence
        from connect_hooks.cli import render_conform

        width = max(len(check_id) for check_id in conformance.check_ids(settings))
        render_conform.print_heading(out, url)

        def on_result(result: conformance.CheckResult) -> None:
            out.print(render_conform.row(result, width))

    async def run() -> conformance.ConformReport:
        async with client:
            if not insecure:
                return await conformance.run_conformance(
                    settings, client=client, now=time.monotonic, on_result=on_result
                )
            async with make_client(
                ca_bundle=ca_bundle, auth=client_auth(), client_cert=client_cert
            ) as verifying:  # url-tls verifies, as Webex Connect does
                return await conformance.run_conformance(
                    settings, client=client, now=time.monotonic, on_result=on_result, verifying_client=verifying
                )

    report = asyncio.run(run())
    if junit_file is not None:
        from connect_hooks.conform.junit import junit_xml

        try:
            junit_file.write_bytes(junit_xml(report))
        except OSError as exc:
            raise BadInput(f"cannot write --junit {junit_path!r}: {exc.strerror or exc}") from None
    if as_json:
        dump_json(report.as_dict())
    else:
        render_conform.print_details(out, report)
        err.print(f"seed {report.seed}: --seed {report.seed} sends the same bodies again", style="dim")
    return ExitCode.OK if report.ok else ExitCode.FAILED
