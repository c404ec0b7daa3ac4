"""``connect-hooks send``: options in, ``sending.prepare`` and ``sending.send_all``, a report out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.commands.options import (
    announce_credentials,
    auth_options,
    console,
    dump_json,
    output_options,
    policy_options,
    resolve_credentials,
    resolve_secret,
    secret_options,
    set_option,
    signature_options,
    tls_options,
    webhook_options,
)
from connect_hooks.errors import BadInput, ExitCode

if TYPE_CHECKING:
    from rich.console import Console


def make_sleep(*, fast: bool, speed: float, show: Console | None) -> Callable[[float], Any]:
    """The engine's sleep: real waits (with a countdown on a terminal), scaled by --speed, or none."""

    import asyncio

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


@click.command()
@click.argument("targets", metavar="TARGET...", nargs=-1)
@click.argument("url", required=False)
@secret_options
@signature_options
@click.option("-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Extra header (repeatable).")
@policy_options
@click.option(
    "--speed", type=click.FloatRange(min=0, min_open=True), help="Divide every wait (60 = a minute a second)."
)
@click.option("--fast", is_flag=True, help="Skip the waits entirely.")
@click.option("--allow-http", is_flag=True, help="Allow plain http:// to hosts that are not loopback.")
@tls_options
@click.option("--seed", type=int, help="Render samples reproducibly (same seed, same bytes).")
@set_option
@click.option("--log", "log_path", type=click.Path(dir_okay=False), help="Append NDJSON records to this file.")
@webhook_options
@auth_options
@output_options
@click.pass_context
def send(
    ctx: click.Context,
    targets: tuple[str, ...],
    url: str | None,
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
    credentials: Any,
    as_json: bool,
) -> ExitCode:
    """Send TARGET to URL the way Webex Connect does: signed, with its retry policy.

    TARGET is a sample name (or a glob such as 'receipt/sms/*'), a JSON file sent byte for byte,
    or - for stdin.
    """
    import asyncio
    import signal
    import time

    from connect_hooks import sending
    from connect_hooks.logfile import NdjsonLog
    from connect_hooks.policy import Policy
    from connect_hooks.transport import make_client

    example = "e.g. connect-hooks send receipt/sms/delivered https://example.test/hooks"
    if url is None:
        raise BadInput(f"send needs a TARGET and then a URL (or --webhook NAME): {example}")
    if not targets:
        raise BadInput(f"send needs a TARGET and then a URL, and got only {url!r}: {example}")
    if not url.lower().startswith(("http://", "https://")) and any(
        t.lower().startswith(("http://", "https://")) for t in targets
    ):
        raise BadInput(f"the URL goes last, after the TARGETs: {example}")
    if fast and speed is not None:
        raise BadInput("--fast and --speed contradict each other: give one of them")
    auth, client_cert = resolve_credentials(credentials)
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
        auth=auth,
        client_cert=client_cert,
    )
    target, notifications = sending.prepare(settings, stdin=sys.stdin.buffer.read)
    from connect_hooks.auth import build

    client = make_client(
        ca_bundle=ca_bundle,
        insecure=insecure,
        auth=build(settings.auth) if settings.auth is not None else None,
        client_cert=settings.client_cert,
    )
    log = NdjsonLog(log_path) if log_path else None
    story = sending.SendLog(log, target.url, notifications) if log is not None else None
    out = console()
    err = console(stderr=True)
    announce_credentials(auth, client_cert, quiet=as_json)
    if target.note:
        err.print(target.note, style="dim")
    if settings.secret is not None and not as_json:
        from connect_hooks.hubsecret import masked

        err.print(f"signing with {algorithm}: hub secret {masked(settings.secret)}", style="dim")
    if insecure:
        err.print(
            "warning: --insecure: TLS certificates are not verified (Webex Connect always verifies)", style="yellow"
        )
    live = not as_json and out.is_terminal

    from connect_hooks import render
    from connect_hooks.delivery import Attempt, Delivery

    names = {n.gtrid: n.target for n in notifications}

    def on_attempt(attempt: Attempt) -> None:
        if story is not None:
            story.attempt(attempt)
        if live:
            out.print(render.attempt_line(names[attempt.gtrid], attempt))

    async def run() -> list[Delivery]:
        # SIGTERM (a CI job cancelled, a container stopped) ends the send like Ctrl-C: on record.
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        async with client:
            return await sending.send_all(
                notifications,
                target.url,
                settings.policy,
                client=client,
                sleep=make_sleep(fast=fast, speed=speed or 1.0, show=None if as_json else err),
                now=time.monotonic,
                on_attempt=on_attempt,
                on_finish=story.outcome if story is not None else None,
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
        render.print_deliveries(out, deliveries, tables=not live)
    if interrupted:
        return ExitCode.INTERRUPTED
    ok = all(str(d.outcome) == "delivered" for d in deliveries)
    return ExitCode.OK if ok else ExitCode.FAILED
