"""What the commands share: option groups, the secret's sources, output helpers.

Output options live here, in one place, so every command spells them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from connect_hooks.errors import BadInput
from connect_hooks.policy import DEFAULT_TIMEOUT, SCHEDULES
from connect_hooks.signing import ALGORITHMS, STYLES

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    """The output options every reporting command shares."""
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document for machines.")(func)


def tls_options(func: F) -> F:
    func = click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (Webex Connect always does).")(
        func
    )
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
    import json

    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def resolve_secret(ctx: click.Context, secret: str | None, secret_file: str | None) -> str | None:
    """The hub secret from --secret, CONNECT_HOOKS_SECRET or --secret-file (command line wins)."""
    import os

    from connect_hooks.hubsecret import check_secret, read_secret_file

    source = ctx.get_parameter_source("secret")
    from_env = source is click.core.ParameterSource.ENVIRONMENT
    if secret is None and secret_file is None and os.environ.get("CONNECT_HOOKS_SECRET") == "":
        raise BadInput("CONNECT_HOOKS_SECRET is set but empty: give it the hub secret, or unset it to send unsigned")
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
        help="Hub secret. Prefer the environment variable or --secret-file: command lines are visible to others.",
    )(func)
    return func


def set_option(func: F) -> F:
    """--set, shared by 'send' and 'samples show'."""
    return click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="PATH=VALUE|PATH:=JSON",
        help="Set a field of the sample: = for a string, := for any JSON value; dotted PATH (repeatable).",
    )(func)


def signature_options(func: F) -> F:
    """How the x-hub-signature is made: --algorithm and --signature-style."""
    func = click.option(
        "--signature-style",
        type=click.Choice(STYLES),
        default="prefixed",
        show_default=True,
        help="prefixed: 'sha256=<hex>'; bare: '<hex>'.",
    )(func)
    func = click.option(
        "--algorithm",
        type=click.Choice(ALGORITHMS),
        default="sha256",
        show_default=True,
        help="HMAC algorithm of the x-hub-signature.",
    )(func)
    return func


def header_option(func: F) -> F:
    """-H/--header, shared by 'send' and 'replay'."""
    return click.option(
        "-H", "--header", "headers", multiple=True, metavar="'NAME: VALUE'", help="Extra header (repeatable)."
    )(func)


def allow_http_option(func: F) -> F:
    return click.option("--allow-http", is_flag=True, help="Allow plain http:// to hosts that are not loopback.")(func)


def time_options(func: F) -> F:
    """How simulated time maps onto real time: --speed and --fast ('send', 'replay')."""
    func = click.option("--fast", is_flag=True, help="Skip the waits entirely.")(func)
    func = click.option(
        "--speed", type=click.FloatRange(min=0, min_open=True), help="Divide every wait (60 = a minute a second)."
    )(func)
    return func


def concurrency_options(func: F) -> F:
    """The concurrency bound and the arrival schedule: --concurrency and --rate ('send', 'replay')."""
    func = click.option(
        "--rate",
        type=click.FloatRange(min=0, min_open=True),
        help="First attempts per (simulated) second, on a fixed schedule; default: all at once.",
    )(func)
    func = click.option(
        "--concurrency",
        type=click.IntRange(min=1, max=10_000),
        default=10,
        show_default=True,
        help="Attempts in flight at most (a notification waiting for a retry holds none).",
    )(func)
    return func


def summary_option(func: F) -> F:
    return click.option(
        "--summary", "summary_only", is_flag=True, help="Print only the summary (default above 20 notifications)."
    )(func)


def log_option(func: F) -> F:
    """--log: the NDJSON story of a run, which 'replay' reads back."""
    return click.option(
        "--log", "log_path", type=click.Path(dir_okay=False), help="Append NDJSON records to this file."
    )(func)
