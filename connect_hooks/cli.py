"""The command line: parse options into settings, call one core function, render what it returns.

Errors become exit codes here and only here (see ``App.main``). Heavy imports (httpx, rich,
uvicorn) happen inside the commands that need them, so ``--help`` starts fast.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from connect_hooks import __version__
from connect_hooks.errors import BadInput, ConnectHooksError, ExitCode
from connect_hooks.policy import DEFAULT_TIMEOUT, SCHEDULES

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


class App(click.Group):
    """The root group: every error ends as one line on stderr and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "connect-hooks"
            click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(ExitCode.BAD_INPUT)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(ExitCode.BAD_INPUT)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except ConnectHooksError as exc:
            message = str(exc)
            if message:
                click.echo(f"error: {message}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(int(code or 0))


def output_options(func: F) -> F:
    """The output options every reporting command shares."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document for machines.")(func)


def tls_options(func: F) -> F:
    func = click.option(
        "--insecure", is_flag=True, help="Do not verify TLS certificates (Webex Connect always does)."
    )(func)
    func = click.option(
        "--ca-bundle",
        type=click.Path(dir_okay=False),
        help="Also trust the CA certificates in this PEM file (e.g. the one 'listen --tls' prints).",
    )(func)
    return func


def timeout_option(func: F) -> F:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Deadline in seconds for a whole attempt: connect, send, status, headers and body.",
    )(func)


def policy_options(func: F) -> F:
    func = click.option(
        "--interval",
        type=click.FloatRange(min=0, min_open=True),
        help="Seconds between retries, replacing the schedule's waits.",
    )(func)
    func = click.option("--retries", type=click.IntRange(min=0), help="Number of retries (default: 3).")(func)
    func = click.option(
        "--schedule",
        type=click.Choice(sorted(SCHEDULES)),
        default="fixed",
        show_default=True,
        help="fixed: 60, 60, 60 s (documented); backoff: 30, 60, 120 s (the mTLS FAQ).",
    )(func)
    return timeout_option(func)


def console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def dump_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def resolve_secret(ctx: click.Context, secret: str | None, secret_file: str | None) -> str | None:
    """The hub secret from --secret, CONNECT_HOOKS_SECRET or --secret-file (command line wins)."""
    from connect_hooks.hubsecret import check_secret, read_secret_file

    source = ctx.get_parameter_source("secret")
    from_env = source is click.core.ParameterSource.ENVIRONMENT
    if secret is not None and secret_file is not None and not from_env:
        raise BadInput("give the hub secret once: either --secret or --secret-file")
    if secret_file is not None:
        return read_secret_file(secret_file)
    if secret is not None:
        return check_secret(secret, "CONNECT_HOOKS_SECRET" if from_env else "--secret")
    return None


def secret_options(func: F) -> F:
    func = click.option(
        "--secret-file",
        type=click.Path(),
        help="Read the hub secret from this file (trailing newline ignored).",
    )(func)
    func = click.option(
        "--secret",
        envvar="CONNECT_HOOKS_SECRET",
        show_envvar=True,
        help=(
            "Hub secret. Prefer the environment variable or --secret-file: "
            "command lines are visible to others."
        ),
    )(func)
    return func


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="connect-hooks")
def main() -> None:
    """Play the Webex Connect side of outbound webhooks on your machine.

    Check a URL as Webex Connect does, send signed sample notifications with its retry policy
    (in real time or compressed), and explain what it does with any answer.
    """


# --------------------------------------------------------------------------------------------- send


def make_sleep(*, fast: bool, speed: float, show: Console | None) -> Callable[[float], Any]:
    """The engine's sleep: real waits (with a countdown on a terminal), scaled by --speed, or none."""

    async def sleep(seconds: float) -> None:
        if fast:
            await asyncio.sleep(0)
            return
        real = seconds / speed
        if show is None or not show.is_terminal:
            await asyncio.sleep(real)
            return
        loop = asyncio.get_running_loop()
        end = loop.time() + real
        with show.status("") as status:
            while (left := end - loop.time()) > 0:
                simulated = left * speed
                status.update(
                    f"next attempt in {simulated:.0f} s" + (f" (simulated, x{speed:g})" if speed != 1 else "")
                )
                await asyncio.sleep(min(left, 0.25))

    return sleep


@main.command()
@click.argument("targets", metavar="TARGET...", nargs=-1, required=True)
@click.argument("url")
@secret_options
@click.option("--algorithm", type=click.Choice(["sha256", "sha512"]), default="sha256", show_default=True)
@click.option(
    "--signature-style",
    type=click.Choice(["prefixed", "bare"]),
    default="prefixed",
    show_default=True,
    help="prefixed: 'sha256=<hex>'; bare: '<hex>'.",
)
@click.option(
    "-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Extra header (repeatable)."
)
@policy_options
@click.option(
    "--speed", type=click.FloatRange(min=0, min_open=True), help="Divide every wait (60 = a minute a second)."
)
@click.option("--fast", is_flag=True, help="Skip the waits entirely.")
@click.option("--allow-http", is_flag=True, help="Allow plain http:// to hosts that are not loopback.")
@tls_options
@click.option("--seed", type=int, help="Render samples reproducibly (same seed, same bytes).")
@click.option(
    "--set", "sets", multiple=True, metavar="PATH=VALUE", help="Set a field of the sample (repeatable)."
)
@click.option(
    "--log", "log_path", type=click.Path(dir_okay=False), help="Append NDJSON records to this file."
)
@output_options
@click.pass_context
def send(
    ctx: click.Context,
    targets: tuple[str, ...],
    url: str,
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
    allow_http: bool,
    ca_bundle: str | None,
    insecure: bool,
    seed: int | None,
    sets: tuple[str, ...],
    log_path: str | None,
    as_json: bool,
) -> ExitCode:
    """Send TARGET to URL the way Webex Connect does: signed, with its retry policy.

    TARGET is a sample name (or a glob such as 'receipt/sms/*'), a JSON file sent byte for byte,
    or - for stdin.
    """
    import time

    from connect_hooks import sending
    from connect_hooks.logfile import NdjsonLog
    from connect_hooks.policy import Policy
    from connect_hooks.transport import make_client

    if fast and speed is not None:
        raise BadInput("--fast and --speed contradict each other: give one of them")
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
    )
    target, notifications = sending.prepare(settings, stdin=sys.stdin.buffer.read)
    client = make_client(ca_bundle=ca_bundle, insecure=insecure)
    out = console()
    err = console(stderr=True)
    if target.note:
        err.print(target.note, style="dim")
    if insecure:
        err.print(
            "warning: --insecure: TLS certificates are not verified (Webex Connect always verifies)",
            style="yellow",
        )
    log = NdjsonLog(log_path) if log_path else None
    live = not as_json and out.is_terminal

    from connect_hooks import render
    from connect_hooks.delivery import Attempt, Delivery

    names = {n.gtrid: n.target for n in notifications}

    def on_attempt(attempt: Attempt) -> None:
        if log is not None:
            log.write(
                {
                    "type": "attempt",
                    "url": target.url,
                    "target": names[attempt.gtrid],
                    "gtrid": attempt.gtrid,
                    **attempt.as_dict(),
                }
            )
        if live:
            out.print(render.attempt_line(names[attempt.gtrid], attempt))

    def on_finish(delivery: Delivery) -> None:
        if log is not None:
            log.write({"type": "outcome", **delivery.as_dict()})

    async def run() -> list[Delivery]:
        async with client:
            return await sending.send_all(
                notifications,
                target.url,
                settings.policy,
                client=client,
                sleep=make_sleep(fast=fast, speed=speed or 1.0, show=None if as_json else err),
                now=time.monotonic,
                on_attempt=on_attempt,
                on_finish=on_finish,
            )

    interrupted = False
    try:
        deliveries = asyncio.run(run())
    except sending.SendInterrupted as stop:
        deliveries, interrupted = stop.deliveries, True
    finally:
        if log is not None:
            log.close()
    single = len(targets) == 1 and len(deliveries) == 1 and not any(c in targets[0] for c in "*?[")
    if as_json:
        documents = [d.as_dict() for d in deliveries]
        dump_json(documents[0] if single else documents)
    else:
        render.print_deliveries(out, deliveries)
    if interrupted:
        return ExitCode.INTERRUPTED
    ok = all(str(d.outcome) == "delivered" for d in deliveries)
    return ExitCode.OK if ok else ExitCode.FAILED


# -------------------------------------------------------------------------------------------- check


@main.command()
@click.argument("url")
@timeout_option
@tls_options
@output_options
def check(url: str, timeout: float, ca_bundle: str | None, insecure: bool, as_json: bool) -> ExitCode:
    """Would Webex Connect accept URL? (https, HEAD answers 200, TLS verifies)"""
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


# ------------------------------------------------------------------------------------------- policy


@main.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@policy_options
@output_options
def policy(
    inputs: tuple[str, ...],
    timeout: float,
    schedule: str,
    retries: int | None,
    interval: float | None,
    as_json: bool,
) -> ExitCode:
    """Explain what Webex Connect does when a receiver answers INPUT.

    INPUT is a status code (100-599), 'timeout', 'connection-error' or 'tls-error'.
    """
    from connect_hooks.explain import explain
    from connect_hooks.policy import Policy

    chosen = Policy.build(schedule=schedule, retries=retries, interval=interval, timeout=timeout)
    explanations = [explain(item, chosen) for item in inputs]
    if as_json:
        dump_json([e.as_dict() for e in explanations])
        return ExitCode.OK
    colours = {"delivered": "green", "failed": "red", "dropped": "red"}
    for item in explanations:
        outcome = click.style(str(item.outcome), fg=colours[str(item.outcome)], bold=True)
        click.echo(f"{click.style(item.input, bold=True)}: {outcome} — {item.summary}")
        for caveat in item.caveats:
            click.echo(click.style(f"  ! {caveat}", fg="yellow"))
    return ExitCode.OK


__all__ = ["main"]


# ============================================================================ the receiver side
# listen, sign, verify and demo (issue 4). Kept together at the end of the file.


def require_secret(ctx: click.Context, secret: str | None, secret_file: str | None) -> str:
    found = resolve_secret(ctx, secret, secret_file)
    if found is None:
        raise BadInput("no hub secret: give --secret, CONNECT_HOOKS_SECRET or --secret-file")
    return found


@main.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. 0.0.0.0 lets anyone on your network post to it: only when you mean it.",
)
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8787, show_default=True, help="Port to listen on."
)
@secret_options
@click.option(
    "--respond",
    metavar="CODES",
    default="200",
    show_default=True,
    help="Answer the n-th delivery of each notification (x-wx-gtrid) with the n-th code; the last repeats. "
    "E.g. 503,503,200.",
)
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Stall this long before answering a POST (12 trips Webex Connect's 10 s timeout).",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Serve HTTPS with a certificate from a local test CA made at start-up; "
    "prints the CA file for --ca-bundle.",
)
@click.option(
    "--log",
    "log_path",
    type=click.Path(dir_okay=False),
    help="Append one NDJSON record per request (headers, body, signature verdict, answer).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print those records to stdout (NDJSON) instead of the live view."
)
@click.pass_context
def listen(
    ctx: click.Context,
    host: str,
    port: int,
    secret: str | None,
    secret_file: str | None,
    respond: str,
    delay: float,
    tls: bool,
    log_path: str | None,
    as_json: bool,
) -> ExitCode:
    """Receive webhooks like your endpoint should: verify, recognise, answer as scripted.

    HEAD answers 200 (so 'check' passes); POST verifies x-hub-signature when a secret is set
    (401 otherwise), needs JSON (400), at most 1 MiB (413); other methods get 405. One line per
    request: time, gtrid, attempt, what it is, signature verdict, the answer. Ctrl-C stops it.
    """
    import os
    import signal

    from connect_hooks import receiver, server
    from connect_hooks.hubsecret import masked
    from connect_hooks.logfile import NdjsonLog

    hub_secret = resolve_secret(ctx, secret, secret_file)
    settings = receiver.ReceiverSettings(
        secret=hub_secret, script=receiver.Script(receiver.parse_respond(respond), delay)
    )
    sock = server.bind(host, port)
    log: NdjsonLog | None = None
    files = None
    try:
        log = NdjsonLog(log_path) if log_path else None
        if tls:
            from connect_hooks.tls import make_local_tls

            files = make_local_tls()
    except BaseException:
        sock.close()
        if log is not None:
            log.close()
        raise

    from connect_hooks import liveview

    out = console()
    err = console(stderr=True)
    count = 0
    stop = asyncio.Event()
    stopped_by: list[str] = []

    def stop_for(reason: str) -> None:
        if not stopped_by:
            stopped_by.append(reason)
        stop.set()

    def observe(record: receiver.Received) -> None:
        nonlocal count
        count += 1
        document = record.as_dict()
        if log is not None:
            log.write({"type": "request", **document})
        try:
            if as_json:
                click.echo(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
            else:
                out.print(liveview.received_line(record))
        except BrokenPipeError:  # whoever read our stdout is gone (e.g. '| head'): stop, quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            stop_for("stdout closed")

    app = receiver.ReceiverApp(settings, observe)

    def banner(where: server.Serving) -> None:
        err.print(f"listening on {where.url}", style="bold")
        if not where.loopback_only:
            err.print(
                f"warning: {where.host} is not a loopback address: "
                "anyone who can reach this machine can post here",
                style="yellow",
            )
        if hub_secret is not None:
            err.print(
                f"  hub secret {masked(hub_secret)}: x-hub-signature is verified (401 when it does not)"
            )
        else:
            err.print("  no hub secret: signatures are not checked (give --secret or CONNECT_HOOKS_SECRET)")
        err.print(f"  {settings.script.describe()} per notification (x-wx-gtrid)")
        if files is not None:
            err.print(
                f"  TLS: a local test CA signed the certificate; trust it with --ca-bundle {files.ca_path}"
            )
        if log is not None:
            err.print(f"  log: {log.path}")
        extra = f" --ca-bundle {files.ca_path}" if files is not None else ""
        secret_hint = " (with the same hub secret)" if hub_secret is not None else ""
        err.print(
            f"  try: connect-hooks send receipt/sms/delivered {where.url}/hooks{extra}{secret_hint}",
            style="dim",
        )
        err.print("  Ctrl-C to stop", style="dim")

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop_for, sig.name)
        try:
            async with server.serving(app, sock, tls=files) as where:
                banner(where)
                await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        asyncio.run(run())
    finally:
        sock.close()
        if log is not None:
            log.close()
        if files is not None:
            from connect_hooks.tls import remove_local_tls

            remove_local_tls(files)
    err.print(f"stopped by {stopped_by[0]} after {count} request{'s' if count != 1 else ''}", style="dim")
    return ExitCode.OK


@main.command("sign")
@click.argument("file", default="-", required=False, metavar="[FILE|-]")
@secret_options
@click.option("--algorithm", type=click.Choice(["sha256", "sha512"]), default="sha256", show_default=True)
@click.option(
    "--signature-style",
    type=click.Choice(["prefixed", "bare"]),
    default="prefixed",
    show_default=True,
    help="prefixed: 'sha256=<hex>'; bare: '<hex>'.",
)
@output_options
@click.pass_context
def sign_command(
    ctx: click.Context,
    file: str,
    secret: str | None,
    secret_file: str | None,
    algorithm: str,
    signature_style: str,
    as_json: bool,
) -> ExitCode:
    """Print the x-hub-signature value for exactly the bytes of FILE (default: stdin).

    Any bytes, JSON or not, signed as they are. With curl (the secret in CONNECT_HOOKS_SECRET):

    \b
    curl -H "x-hub-signature: $(connect-hooks sign body.json)" \\
         -H 'content-type: application/json' --data-binary @body.json URL
    """
    from connect_hooks import signing
    from connect_hooks.diagnose import read_input

    key = require_secret(ctx, secret, secret_file)
    body = read_input(file, sys.stdin.buffer.read)
    value = signing.sign(body, key, algorithm, signature_style)
    if as_json:
        dump_json(
            {
                "header": signing.HEADER,
                "value": value,
                "algorithm": algorithm,
                "style": signature_style,
                "bytes": len(body),
            }
        )
    else:
        click.echo(value)
    return ExitCode.OK


@main.command("verify")
@click.argument("file", default="-", required=False, metavar="[FILE|-]")
@secret_options
@click.option(
    "--signature",
    "header",
    required=True,
    metavar="HEADER",
    help="The x-hub-signature value received: sha256=<hex>, sha512=<hex> or the bare hex.",
)
@output_options
@click.pass_context
def verify_command(
    ctx: click.Context,
    file: str,
    secret: str | None,
    secret_file: str | None,
    header: str,
    as_json: bool,
) -> ExitCode:
    """Does HEADER sign exactly the bytes of FILE (default: stdin)? Exit 0 if so, 1 if not.

    On a mismatch, tries the usual causes (re-serialized JSON, a trailing newline, the prefix or
    algorithm, stray whitespace in the secret) and says which one explains it.
    """
    from connect_hooks.diagnose import advice, diagnose, read_input

    key = require_secret(ctx, secret, secret_file)
    body = read_input(file, sys.stdin.buffer.read)
    diagnosis = diagnose(body, header, key)
    if as_json:
        dump_json({"bytes": len(body), **diagnosis.as_dict()})
    else:
        if diagnosis.matches:
            click.echo(click.style("match: ", fg="green", bold=True) + diagnosis.summary)
        else:
            click.echo(click.style("mismatch: ", fg="red", bold=True) + diagnosis.summary)
            if diagnosis.cause is not None:
                for cause in diagnosis.cause.causes:
                    click.echo(click.style("fix: ", fg="yellow", bold=True) + advice(cause))
    return ExitCode.OK if diagnosis.matches else ExitCode.FAILED


@main.command()
def demo() -> ExitCode:
    """Watch both sides: a receiver on a free loopback port, four notifications, a few seconds.

    A receipt delivered at once; one answered 503, 503, then 200 (retried, delivered); one
    answered 404 (failed, not retried); one never answered in time (dropped after three retries).
    Real HTTPS and signatures on 127.0.0.1 only; waits are compressed.
    """
    from connect_hooks import demo as story
    from connect_hooks import liveview

    out = console()
    report = asyncio.run(story.play(view=liveview.DemoPrinter(out)))
    out.print()
    out.print(liveview.demo_summary(report.results))
    out.print(
        "Next: 'connect-hooks listen --respond 503,200' in one terminal, "
        "'connect-hooks send receipt/sms/delivered http://127.0.0.1:8787/hooks --speed 60' in another.",
        style="dim",
    )
    return ExitCode.OK if report.ok else ExitCode.FAILED
