"""``connect-hooks fuzz URL``: options in, ``fuzz.run_fuzz``, findings out (people, --json, --junit)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.cli.commands.options import (
    POSITIVE,
    Group,
    Option,
    allow_http_option,
    auth_options,
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

    from connect_hooks.conform import fuzz

#: -H/--header of 'fuzz'.
header_option = header_options("Extra header on every request (repeatable; values are never printed).")

#: What is generated and for how long: ``{"examples", "seed", "channels", "max_time"}``.
generation_options: Group[dict[str, Any]] = Group(
    Option(
        "examples",
        "--examples",
        type=click.IntRange(min=1, max=1_000_000),
        default=200,
        show_default=True,
        help="How many bodies to send.",
    ),
    Option(
        "seed",
        "--seed",
        type=int,
        help="Generate reproducibly: the same seed sends the same bodies (default: random, shown).",
    ),
    Option(
        "channel",
        "--channel",
        multiple=True,
        metavar="CHANNEL[,...]",
        help="Only these channels' families (repeatable; sms, whatsapp, ...).",
    ),
    Option("max_time", "--max-time", type=POSITIVE, help="Stop after this many seconds, shrinking included."),
    build=lambda ctx, values: {
        "examples": values["examples"],
        "seed": values["seed"],
        "channels": tuple(c.strip() for text in values["channel"] for c in text.split(",") if c.strip()),
        "max_time": values["max_time"],
    },
)


def _junit_path(path: str | None) -> Path | None:
    if path is None:
        return None
    target = Path(path)
    if target.is_dir():
        raise BadInput(f"--junit {path!r} is a directory: give a file name such as fuzz.xml")
    if not target.parent.is_dir():
        raise BadInput(f"--junit {path!r}: the directory {str(target.parent)!r} does not exist; create it first")
    return target


@click.command()
@click.argument("url")
@secret_options
@signature_options
@header_option
@timeout_option
@tls_options
@allow_http_option
@generation_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="connect-hooks-findings",
    show_default=True,
    help="Directory the findings' bodies are written to (created when there is one).",
)
@click.option("--junit", "junit_path", type=click.Path(), help="Also write a JUnit XML report to this file.")
@auth_options
@output_options
@click.pass_context
def fuzz_command(ctx: click.Context, /, url: str, **options: Any) -> ExitCode:
    """Send URL bodies generated from each family's JSON Schema: does the receiver answer 200 to all?

    Text that breaks receivers (non-BMP and right-to-left text, emoji, empty and very long strings,
    numbers at the edges as strings), optional fields absent, and fields Webex Connect may add
    tomorrow. Each body is signed and sent once, without retries, under the attempt deadline.
    Anything but 200 is a finding: shrunk against the receiver, saved under --out, with the
    'connect-hooks send' line that sends it again. Exit 0 without findings, 1 with.
    """
    from connect_hooks.cli import reports
    from connect_hooks.conform import fuzz, fuzzcases
    from connect_hooks.urls import parse_send_url

    fuzzcases.need_libraries()
    allow_http = allow_http_option.take(ctx, options)["allow_http"]
    target = parse_send_url(url, allow_http=allow_http)
    credentials = auth_options.take(ctx, options)
    tls = tls_options.take(ctx, options)
    settings = fuzz.FuzzSettings(
        url=url,
        **secret_options.take(ctx, options),
        **signature_options.take(ctx, options),
        **header_option.take(ctx, options),
        **timeout_option.take(ctx, options),
        **generation_options.take(ctx, options),
        out_dir=options.pop("out_dir"),
        ca_bundle=tls.ca_bundle,
        insecure=tls.insecure,
        auth=credentials.auth,
        client_cert=credentials.cert.source if credentials.cert is not None else None,
    )
    fuzzcases.catalogue_families(settings.channels)  # an unknown channel is bad input before anything is sent
    fuzz.check_out_dir(settings.out_dir)
    junit_file = _junit_path(options.pop("junit_path"))
    client = tls.client(credentials, tls=target.scheme == "https" or tls.ca_bundle is not None)
    as_json = output_options.take(ctx, options)
    notes = [target.note] if target.note else []
    reports.preamble(
        credentials,
        quiet=as_json,
        insecure=tls.insecure,
        notes=notes,
        secret=settings.secret,
        algorithm=settings.algorithm,
    )
    report = _run(settings, client, people=not as_json)
    if junit_file is not None:
        try:
            junit_file.write_bytes(fuzz.junit_xml(report))
        except OSError as exc:
            raise BadInput(f"cannot write --junit {str(junit_file)!r}: {exc.strerror or exc}") from None
    if as_json:
        dump_json(report.as_dict())
    else:
        _print(report)
    return ExitCode.OK if report.ok else ExitCode.FAILED


def _run(settings: fuzz.FuzzSettings, client: httpx.AsyncClient, *, people: bool) -> fuzz.FuzzReport:
    """Run the fuzzer; for people, a progress line on stderr (rewritten in place on a terminal)."""
    import asyncio

    from connect_hooks.conform import fuzz

    live = people and sys.stderr.isatty()
    step = max(1, settings.examples // 20)

    def progress(done: int, total: int) -> None:
        if live and (done % step == 0 or done == total):
            click.echo(f"\rsent {done}/{total}", err=True, nl=False)

    async def run() -> fuzz.FuzzReport:
        async with client:
            return await fuzz.run_fuzz(settings, client=client, on_progress=progress)

    report = asyncio.run(run())
    if live:
        click.echo("\r", err=True, nl=False)
    return report


def _print(report: fuzz.FuzzReport) -> None:
    """People's output: one progress line, then one line (and its reproduce line) per finding."""
    rate = report.examples / report.seconds if report.seconds > 0 else 0.0
    stopped = " (--max-time ran out)" if report.stopped else ""
    findings = f"{len(report.findings)} finding{'s' if len(report.findings) != 1 else ''}"
    click.echo(
        f"fuzz {report.url}: {report.examples} examples of {len(report.families)} families in "
        f"{report.seconds:.1f} s ({rate:.0f}/s){stopped}: {findings}"
    )
    for finding in report.findings:
        click.echo(finding.line())
        click.echo(f"    reproduce: {finding.reproduce}")
    click.echo(click.style(f"seed {report.seed}: --seed {report.seed} sends the same bodies again", dim=True), err=True)
