"""``connect-hooks listen``: the local receiver, served by uvicorn until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from connect_hooks.commands.options import console, resolve_secret, secret_options
from connect_hooks.errors import ExitCode


@click.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. 0.0.0.0 lets anyone on your network post to it: only when you mean it.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8787,
    show_default=True,
    help="Port to listen on; 0 lets the system pick a free one (the banner shows which).",
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
    help="Serve HTTPS with a certificate from a local test CA made at start-up; prints the CA file for --ca-bundle.",
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
                f"warning: {where.host} is not a loopback address: anyone who can reach this machine can post here",
                style="yellow",
            )
        if hub_secret is not None:
            err.print(f"  hub secret {masked(hub_secret)}: x-hub-signature is verified (401 when it does not)")
        else:
            err.print("  no hub secret: signatures are not checked (give --secret or CONNECT_HOOKS_SECRET)")
        err.print(f"  {settings.script.describe()} per notification (x-wx-gtrid)")
        if files is not None:
            err.print(f"  TLS: a local test CA signed the certificate; trust it with --ca-bundle {files.ca_path}")
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
