"""``connect-hooks conform URL``: run the named checks, render the verdict three ways."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.cli import completers
from connect_hooks.cli.commands.options import (
    POSITIVE,
    Group,
    Option,
    auth_options,
    console,
    dump_json,
    header_options,
    output_options,
    secret_options,
    signature_options,
    timeout_option,
    tls_options,
)
from connect_hooks.errors import BadInput, ExitCode

if TYPE_CHECKING:
    import httpx

    from connect_hooks.conform import conformance


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


#: -H/--header of 'conform'.
header_option = header_options("Extra header on every request (repeatable; values are never printed).")

#: Which checks run: ``{"only", "skip", "channels"}`` of ``ConformSettings``.
selection_options: Group[dict[str, Any]] = Group(
    Option(
        "only",
        "--only",
        multiple=True,
        metavar="ID[,ID...]",
        help="Run only these checks (repeatable); a prefix such as 'accepts' is a family.",
        shell_complete=completers.check_ids,
    ),
    Option(
        "skip",
        "--skip",
        multiple=True,
        metavar="ID[,ID...]",
        help="Leave these checks out (repeatable); a prefix such as 'rejects' is a family.",
        shell_complete=completers.check_ids,
    ),
    Option(
        "channel",
        "--channel",
        multiple=True,
        metavar="CHANNEL[,...]",
        help="Limit the accepts/* checks to these channels (repeatable; sms, whatsapp, ...).",
        shell_complete=completers.channels,
    ),
    build=lambda ctx, values: {
        "only": id_list(values["only"]),
        "skip": id_list(values["skip"]),
        "channels": id_list(values["channel"]),
    },
)


@click.command()
@click.argument("url")
@secret_options
@signature_options
@header_option
@timeout_option
@tls_options
@selection_options
@click.option("--seed", type=int, help="Render the samples reproducibly (default: a random seed, shown).")
@click.option(
    "--max-time",
    type=POSITIVE,
    metavar="SECONDS",
    help="Bound the whole run: checks not done by then are skipped ('not run'). Default: no bound.",
)
@click.option("--junit", "junit_path", type=click.Path(), help="Also write a JUnit XML report to this file.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="A row per check as it ends, and every failure's evidence (default: one page).",
)
@auth_options
@output_options
@click.pass_context
def conform(ctx: click.Context, /, url: str, **options: Any) -> ExitCode:
    """Does the receiver at URL hold up against Webex Connect? One verdict from named checks.

    Each check sends once, without retries, under the attempt deadline: the URL rules of
    'check', every sample (accepts/*), forged and tampered signatures (rejects-*, with a
    secret), raw-bytes, duplicate-delivery, unknown-fields, large-body, concurrent, latency.
    Exit 0 when no check failed (warnings allowed), 1 when one did.
    """
    from connect_hooks.cli import reports
    from connect_hooks.conform import conformance
    from connect_hooks.urls import parse_url

    parse_url(url)
    credentials = auth_options.take(ctx, options)
    tls = tls_options.take(ctx, options)
    settings = conformance.ConformSettings(
        url=url,
        **secret_options.take(ctx, options),
        **signature_options.take(ctx, options),
        **header_option.take(ctx, options),
        **timeout_option.take(ctx, options),
        **selection_options.take(ctx, options),
        seed=options.pop("seed"),
        max_time=options.pop("max_time"),
        ca_bundle=tls.ca_bundle,
        insecure=tls.insecure,
        auth=credentials.auth,
        client_cert=credentials.cert.source if credentials.cert is not None else None,
    )
    conformance.select(settings)  # unknown IDs and channels are bad input before anything is sent
    junit_path = options.pop("junit_path")
    junit_file = check_junit_path(junit_path) if junit_path is not None else None
    clients = tls.pair(credentials)
    as_json = output_options.take(ctx, options)
    reports.preamble(
        credentials,
        quiet=as_json,
        silent=as_json,
        insecure=tls.insecure,
        secret=settings.secret,
        algorithm=settings.algorithm,
    )
    out = None if as_json else console()
    verbose = options.pop("verbose")
    report = _run(settings, *clients, out=out, verbose=verbose)
    if junit_file is not None:
        _write_junit(junit_file, junit_path, report)
    if out is None:
        dump_json(report.as_dict())
    else:
        from connect_hooks.cli import render_conform

        signed = settings.secret is not None
        if verbose:
            render_conform.print_details(out, report, signatures_checked=signed)
        else:
            render_conform.print_folded(out, report, signatures_checked=signed)
        console(stderr=True).print(f"seed {report.seed}: --seed {report.seed} sends the same bodies again", style="dim")
    return ExitCode.OK if report.ok else ExitCode.FAILED


def _run(
    settings: conformance.ConformSettings,
    client: httpx.AsyncClient,
    verifying: httpx.AsyncClient | None,
    *,
    out: Any,
    verbose: bool = False,
) -> conformance.ConformReport:
    """Run the checks; for people (``out``, a Rich console) the heading, then while they run a row per
    check (``--verbose``) or a progress line on a terminal (nothing on a pipe: the report follows).
    ``verifying`` (with --insecure): url-tls verifies through it, as Webex Connect does."""
    import asyncio
    import contextlib
    import time

    from connect_hooks.conform import conformance

    on_result = None
    showing: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if out is not None:
        from connect_hooks.cli import render_conform

        ids = conformance.check_ids(settings)
        render_conform.print_heading(out, settings.url)
        if verbose:  # rows as the checks end: a slow receiver shows progress, not silence
            width = max(len(check_id) for check_id in ids)

            def on_result(result: conformance.CheckResult) -> None:
                out.print(render_conform.row(result, width))

        elif out.is_terminal:
            progress = render_conform.Progress(out, len(ids))
            showing, on_result = progress, progress.finished

    async def run() -> conformance.ConformReport:
        async with client:
            if verifying is None:
                return await conformance.run_conformance(
                    settings, client=client, now=time.monotonic, on_result=on_result
                )
            async with verifying:
                return await conformance.run_conformance(
                    settings, client=client, now=time.monotonic, on_result=on_result, verifying_client=verifying
                )

    with showing:
        return asyncio.run(run())


def _write_junit(junit_file: Path, junit_path: str, report: conformance.ConformReport) -> None:
    from connect_hooks.conform.junit import junit_xml

    try:
        junit_file.write_bytes(junit_xml(report))
    except OSError as exc:
        raise BadInput(f"cannot write --junit {junit_path!r}: {exc.strerror or exc}") from None
