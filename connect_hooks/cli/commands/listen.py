"""``connect-hooks listen``: the local receiver, served by uvicorn until Ctrl-C or SIGTERM."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from connect_hooks.cli.commands.listen_auth import listen_auth_options
from connect_hooks.cli.commands.options import NON_NEGATIVE, POSITIVE, console, secret_options
from connect_hooks.errors import BadInput, ExitCode
from connect_hooks.receiver.relay import DEFAULT_TIMEOUT as DEFAULT_FORWARD_TIMEOUT
from connect_hooks.redaction import redact_url

if TYPE_CHECKING:
    from connect_hooks.receiver.app import Received
    from connect_hooks.receiver.listening import ListenSettings, Started


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
    help="Port to listen on; 0 lets the OS pick one (printed at start-up).",
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
    type=NON_NEGATIVE,
    default=0.0,
    metavar="SECONDS",
    help="Stall this long before answering a POST (12 trips Webex Connect's 10 s timeout).",
)
@click.option(
    "--forward-to",
    metavar="URL",
    help="Relay: pass every POST that passes the signature check on to your app at URL, and its answer back "
    "(502 when it cannot be reached or is too slow).",
)
@click.option(
    "--forward-timeout",
    type=POSITIVE,
    default=DEFAULT_FORWARD_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long the app behind --forward-to gets to answer (under Webex Connect's 10 s).",
)
@click.option(
    "--inspect",
    is_flag=True,
    help="Also serve the inspector, a web page of the requests (live), on the same address: open the URL it prints.",
)
@click.option(
    "--inspect-port",
    type=click.IntRange(0, 65535),
    default=4040,
    show_default=True,
    help="Port of the inspector; 0 lets the OS pick one.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer the inspector on this host name (repeatable), e.g. this machine's name with --host 0.0.0.0; "
    "other names are refused, so no web page can rebind one to it.",
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
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False),
    metavar="PATH",
    help="Once listening, write a JSON of where (url, port; inspector with --inspect) here, atomically; "
    "removed when listen stops. With --port 0, how a script learns the port.",
)
@listen_auth_options
@click.pass_context
def listen(ctx: click.Context, /, as_json: bool, **options: Any) -> ExitCode:
    """Receive webhooks like your endpoint should: verify, recognise, answer as scripted.

    HEAD answers 200 (so 'check' passes); POST verifies x-hub-signature when a secret is set
    (401 otherwise), needs JSON (400), at most 1 MiB (413); other methods get 405. One line per
    request: time, gtrid, attempt, what it is, signature verdict, the answer. Ctrl-C stops it.
    With --forward-to, your app answers instead (a relay); --inspect adds a web page of the requests.
    --require-auth TYPE asks every request for credentials first (401 and a challenge otherwise);
    --tls --require-client-cert asks for a client certificate (mTLS).
    """
    from connect_hooks.receiver import listening

    settings = _settings(ctx, options)
    stopped = listening.listen(settings, ListenPrinter(as_json), out=sys.stdout)
    s = "s" if stopped.requests != 1 else ""
    console(stderr=True).print(f"stopped by {stopped.reason} after {stopped.requests} request{s}", style="dim")
    return ExitCode.OK


def _settings(ctx: click.Context, options: dict[str, Any]) -> ListenSettings:
    """The options (the auth and mTLS ones included, read by ``listen_auth``), checked, as settings."""
    import os

    from connect_hooks.cli.commands import listen_auth
    from connect_hooks.receiver import app as receiver
    from connect_hooks.receiver import listening
    from connect_hooks.receiver.auth import make_verifier

    host, port, tls, forward_to = options["host"], options["port"], options["tls"], options["forward_to"]
    if forward_to is not None:
        forward_to = _relay_target(ctx, forward_to, host=host, port=port)
    _check_allow_hosts(options["allow_hosts"], inspect=options["inspect"])
    required = listen_auth.required_auth(options, environ=os.environ)
    return listening.ListenSettings(
        receiver=receiver.ReceiverSettings(
            **secret_options.take(ctx, options),
            script=receiver.Script(receiver.parse_respond(options["respond"]), options["delay"]),
            auth=make_verifier(required) if required is not None else None,
        ),
        required_auth=required,
        host=host,
        port=port,
        tls=tls,
        mutual=listen_auth.mutual_tls(options, tls=tls, environ=os.environ),
        log_path=options["log_path"],
        forward_to=forward_to,
        forward_timeout=options["forward_timeout"],
        inspect=options["inspect"],
        inspect_port=options["inspect_port"],
        allow_hosts=options["allow_hosts"],
        ready_file=_ready_file(options["ready_file"]),
    )


def _relay_target(ctx: click.Context, forward_to: str, *, host: str, port: int) -> str:
    """--forward-to's URL, checked: not this receiver itself, and not with a scripted answer."""
    from urllib.parse import urlsplit

    from connect_hooks.urls import is_loopback, parse_url

    try:
        target = parse_url(forward_to)
    except BadInput as exc:
        raise BadInput(f"--forward-to {exc}") from None
    target_port = urlsplit(target.url).port or (443 if target.scheme == "https" else 80)
    if target_port == port and (is_loopback(target.host) or target.host == host):
        raise BadInput(
            f"--forward-to {redact_url(forward_to)} is this receiver itself (port {port}): it would relay to itself "
            "for ever; give your app's URL"
        )
    for option in ("respond", "delay"):
        if ctx.get_parameter_source(option) is not click.core.ParameterSource.DEFAULT:
            raise BadInput(
                f"--{option} and --forward-to exclude each other: with --forward-to your app answers; "
                f"drop --{option}, or drop --forward-to to script the answers"
            )
    return target.url


def _ready_file(path: str | None) -> str | None:
    """--ready-file: its directory must exist (checked before binding)."""
    if path is None:
        return None
    from pathlib import Path

    parent = Path(path).parent
    if not parent.is_dir():
        raise BadInput(f"--ready-file {path!r}: the directory {str(parent)!r} does not exist; create it first")
    return path


def _check_allow_hosts(allow_hosts: tuple[str, ...], *, inspect: bool) -> None:
    """--allow-host: only with --inspect, and each a host name (no scheme, no port)."""
    for name in allow_hosts:
        if not inspect:
            raise BadInput(f"--allow-host {name} is only used with --inspect: add it, or drop --allow-host")
        if not name or not all(c.isalnum() or c in ".-_" for c in name) or not name.isascii():
            raise BadInput(
                f"--allow-host {name!r} is not a host name: give the name the browser uses, "
                "without scheme nor port (e.g. --allow-host mybox.local)"
            )


class ListenPrinter:
    """The banner on stderr; one line per request on stdout: the live view, or the JSON record."""

    def __init__(self, as_json: bool) -> None:
        from connect_hooks.cli import liveview
        from connect_hooks.logfile import json_text

        self.as_json = as_json
        self.color = liveview.wants_color(sys.stdout)
        self.err = console(stderr=True)
        # Made once, not per request: the line is on every request's path.
        self._received_ansi = liveview.received_ansi
        self._encode = json_text

    def line(self, record: Received) -> str:
        if self.as_json:
            return self._encode(record.as_dict())
        return self._received_ansi(record, color=self.color)

    def started(self, started: Started) -> None:
        from connect_hooks.client.hubsecret import masked

        err, where, settings = self.err, started.where, started.settings.receiver
        err.print(f"listening on {where.url}", style="bold")
        if not where.loopback_only:
            err.print(
                f"warning: {where.host} is not a loopback address: anyone who can reach this machine can post here",
                style="yellow",
            )
        if settings.secret is not None:
            err.print(f"  hub secret {masked(settings.secret)}: x-hub-signature is verified (401 when it does not)")
        else:
            err.print("  no hub secret: signatures are not checked (give --secret or CONNECT_HOOKS_SECRET)")
        relay = started.settings.forward_to
        if relay is not None:
            timeout = started.settings.forward_timeout
            err.print(
                f"  relays every POST that passes the signature check to {redact_url(relay)} (502 after {timeout:g} s)"
            )
        else:
            err.print(f"  {settings.script.describe()} per notification (x-wx-gtrid)")
        if started.tls is not None:
            err.print(f"  TLS: a local test CA signed the certificate; trust it with --ca-bundle {started.tls.ca_path}")
        if started.inspector is not None:
            err.print(f"  inspector: {started.inspector.url}/", style="bold")
            if not started.inspector.loopback_only:
                err.print(
                    "  warning: the inspector (which shows every request and can replay them) is reachable "
                    "from other machines too, because --host is not a loopback address",
                    style="yellow",
                )
                names = ", ".join(("localhost", *started.settings.allow_hosts))
                err.print(f"  the inspector answers by IP address and as {names} (more with --allow-host NAME)")
        from connect_hooks.cli.commands.listen_auth import banner_lines

        for line in banner_lines(settings.auth, started.tls, where.url):
            err.print(line, markup=False)
        if started.log_path is not None:
            err.print(f"  log: {started.log_path}")
        extra = f" --ca-bundle {started.tls.ca_path}" if started.tls is not None else ""
        secret_hint = " (with the same hub secret)" if settings.secret is not None else ""
        err.print(
            f"  try: connect-hooks send receipt/sms/delivered {where.url}/hooks{extra}{secret_hint}",
            style="dim",
        )
        err.print("  Ctrl-C to stop", style="dim")
