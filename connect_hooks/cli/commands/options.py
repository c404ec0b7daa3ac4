"""What the commands share: option groups, the secret's sources, output helpers.

Output options live here, in one place, so every command spells them the same way.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from connect_hooks.errors import BadInput
from connect_hooks.policy import DEFAULT_TIMEOUT, SCHEDULES
from connect_hooks.signing import ALGORITHMS, STYLES

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


class FiniteFloat(click.FloatRange):
    """A number of seconds (or a rate, a speed) in a range, and finite.

    ``float()`` takes 'nan', 'inf' and 'infinity', and NaN passes every range check (it compares
    false with everything): a deadline of nan seconds times out every attempt, an interval of inf
    never ends. Every float option of the command line takes this type (a test walks them all).
    """

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number: give one such as 10 or 0.5", param, ctx)
        return super().convert(number, param, ctx)


#: Seconds, rates and speeds: more than zero. ``NON_NEGATIVE``: zero or more (a delay).
POSITIVE = FiniteFloat(min=0, min_open=True)
NON_NEGATIVE = FiniteFloat(min=0)


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
        type=POSITIVE,
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Deadline in seconds for a whole attempt: connect, send, status, headers and body.",
    )(func)


def policy_options(func: F) -> F:
    func = click.option(
        "--interval",
        type=POSITIVE,
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
    """Rich output for people. No markup and no emoji codes: what we print (URLs, targets, answers,
    header values) is the user's text and shows as sent, ``[/x]`` and ``:smile:`` included."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False, emoji=False)


def dump_json(document: Any) -> None:
    import json

    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def resolve_secret(ctx: click.Context, secret: str | None, secret_file: str | None) -> str | None:
    """The hub secret from --secret, CONNECT_HOOKS_SECRET or --secret-file (command line wins)."""
    import os

    from connect_hooks.client.hubsecret import check_secret, read_secret_file

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


# -- authorization and client certificate (send, check, conform) ------------------------------------

#: The keyword arguments ``auth_options`` adds, packed into one ``credentials`` (an ``auth.AuthSpec``).
AUTH_PARAMS: dict[str, str] = {
    # click parameter name -> AuthSpec field
    "auth_type": "type",
    "auth_user": "user",
    "auth_password_file": "password_file",
    "api_key_header": "api_key_header",
    "api_key_file": "api_key_file",
    "token_url": "token_url",
    "client_id": "client_id",
    "scope": "scope",
    "client_secret_file": "client_secret_file",
    "client_auth": "client_auth",
    "aws_region": "aws_region",
    "aws_service": "aws_service",
    "client_cert": "client_cert",
    "client_key": "client_key",
}


def given_on_command_line(ctx: click.Context, name: str) -> bool:
    """Whether the user set parameter ``name`` (on the command line or through its variable)."""
    source = ctx.get_parameter_source(name)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


#: The credential options both sides share (send/check's --auth, listen's --require-auth): defined once.
#: Secrets never go on the command line: they come from the environment variables named here or from files.
CREDENTIAL_OPTIONS: dict[str, Callable[[Any], Any]] = {
    "--auth-user": click.option(
        "--auth-user", metavar="USER", help="basic/digest: the user (password: CONNECT_HOOKS_AUTH_PASSWORD)."
    ),
    "--auth-password-file": click.option(
        "--auth-password-file",
        type=click.Path(),
        help="basic/digest: read the password from this file instead of CONNECT_HOOKS_AUTH_PASSWORD.",
    ),
    "--api-key-header": click.option(
        "--api-key-header", metavar="NAME", help="api-key: the header's name (value: CONNECT_HOOKS_API_KEY)."
    ),
    "--api-key-file": click.option(
        "--api-key-file",
        type=click.Path(),
        help="api-key: read the key from this file instead of CONNECT_HOOKS_API_KEY.",
    ),
    "--client-id": click.option(
        "--client-id", metavar="ID", help="oauth2/bearer: the client id (secret: CONNECT_HOOKS_CLIENT_SECRET)."
    ),
    "--client-secret-file": click.option(
        "--client-secret-file",
        type=click.Path(),
        help="oauth2/bearer: read the client secret from this file instead of CONNECT_HOOKS_CLIENT_SECRET.",
    ),
    "--aws-region": click.option(
        "--aws-region",
        metavar="REGION",
        help="aws-sigv4: the region (keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).",
    ),
    "--aws-service": click.option("--aws-service", metavar="NAME", help="aws-sigv4: the service name signed for."),
}


def auth_credential_options(func: F) -> F:
    """The shared credential options alone (``listen --require-auth``); ``auth_options`` adds the sender's own."""
    for option in reversed(CREDENTIAL_OPTIONS.values()):
        func = option(func)
    return func


def auth_options(func: F) -> F:
    """``--auth`` with its credentials, and ``--client-cert``/``--client-key`` (mTLS).

    The command gets one ``credentials`` argument (an ``auth.AuthSpec``) instead of these options;
    a webhook profile (``webhook_options``) fills in what the command line left out. Secrets come
    only from environment variables or files, never from an option's value.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from connect_hooks.client.credentials import AuthSpec

        values = {field: kwargs.pop(param) for param, field in AUTH_PARAMS.items()}
        profile = kwargs.pop("webhook_profile", None)
        spec = AuthSpec(**values)
        if profile is not None:
            from connect_hooks.cli.profiles import merge_credentials

            ctx = click.get_current_context()
            explicit = {field for param, field in AUTH_PARAMS.items() if given_on_command_line(ctx, param)}
            spec = merge_credentials(profile, spec, explicit)
        kwargs["credentials"] = spec
        return func(*args, **kwargs)

    options = [
        click.option(
            "--auth",
            "auth_type",
            type=click.Choice(["basic", "digest", "api-key", "oauth2", "aws-sigv4"]),
            help="Authorization Webex Connect adds to every request (default: none).",
        ),
        CREDENTIAL_OPTIONS["--auth-user"],
        CREDENTIAL_OPTIONS["--auth-password-file"],
        CREDENTIAL_OPTIONS["--api-key-header"],
        CREDENTIAL_OPTIONS["--api-key-file"],
        click.option("--token-url", metavar="URL", help="oauth2: the token endpoint (client credentials grant)."),
        CREDENTIAL_OPTIONS["--client-id"],
        click.option("--scope", metavar="'A B'", help="oauth2: space-separated scopes to ask for (optional)."),
        CREDENTIAL_OPTIONS["--client-secret-file"],
        click.option(
            "--client-auth",
            type=click.Choice(["body", "basic"]),
            default="body",
            show_default=True,
            help="oauth2: send the client credentials in the token request's body, or with HTTP Basic.",
        ),
        CREDENTIAL_OPTIONS["--aws-region"],
        CREDENTIAL_OPTIONS["--aws-service"],
        click.option(
            "--client-cert",
            type=click.Path(dir_okay=False),
            help="mTLS: present this client certificate: a PEM with certificate and key, or a .p12/.pfx "
            "(password: CONNECT_HOOKS_CLIENT_CERT_PASSWORD).",
        ),
        click.option(
            "--client-key", type=click.Path(dir_okay=False), help="mTLS: the private key, when not in --client-cert."
        ),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def webhook_options(func: F) -> F:
    """``--webhook NAME`` and ``--config FILE``: take the URL and settings from a webhook profile.

    Must sit above ``auth_options`` (it hands the profile on). What the user gave on the command
    line (or through an environment variable) wins over the profile.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        name = kwargs.pop("webhook")
        config = kwargs.pop("config")
        if name is None:
            if config is not None:
                raise BadInput("--config names the profiles file: add --webhook NAME to use one of its webhooks")
            return func(*args, **kwargs)
        import os
        from pathlib import Path

        from connect_hooks.cli.profiles import load_webhook

        ctx = click.get_current_context()
        profile = load_webhook(name, config, Path.cwd())
        if "url" in kwargs and profile.url is not None:
            url = kwargs["url"]
            if url is None:
                kwargs["url"] = profile.url  # 'check --webhook NAME'
            elif "targets" in kwargs and not url.lower().startswith(("http://", "https://")):
                kwargs["targets"] = (*kwargs.get("targets", ()), url)  # 'send TARGET --webhook NAME'
                kwargs["url"] = profile.url
        if "targets" in kwargs and not kwargs["targets"]:
            raise BadInput(f"--webhook {name} gives the URL; the TARGET is still needed: e.g. receipt/sms/delivered")
        for param, value in profile.plain_settings().items():
            if param in kwargs and value is not None and not given_on_command_line(ctx, param):
                kwargs[param] = value
        if "secret" in kwargs and kwargs["secret"] is None and kwargs.get("secret_file") is None:
            if profile.secret_file is not None:
                kwargs["secret_file"] = profile.secret_file
            elif profile.secret_env is not None:
                value = os.environ.get(profile.secret_env)
                if not value:
                    raise BadInput(
                        f"webhook {name!r} takes its hub secret from {profile.secret_env}, which is not set: set it"
                    )
                kwargs["secret"] = value
        kwargs["webhook_profile"] = profile
        return func(*args, **kwargs)

    decorated: Any = click.option(
        "--config",
        type=click.Path(dir_okay=False),
        help="Webhook profiles file (default: connect-hooks.toml here, or [tool.connect-hooks] in pyproject.toml).",
    )(wrapper)
    decorated = click.option(
        "--webhook", metavar="NAME", help="Take the URL and settings from this webhook profile (see 'webhooks')."
    )(decorated)
    return decorated  # type: ignore[no-any-return]


def resolve_credentials(credentials: Any) -> tuple[Any, Any]:
    """Resolve ``credentials`` (an ``auth.AuthSpec``) against the environment and files, before
    anything is sent: (``AuthSettings`` or None, ``ClientCert`` or None); BadInput when unusable."""
    import os

    from connect_hooks.client.credentials import resolve, resolve_client_cert

    return resolve(credentials, os.environ), resolve_client_cert(credentials, os.environ)


def announce_credentials(auth: Any, cert: Any, *, quiet: bool) -> None:
    """On stderr: which authorization and client certificate are used (never a secret) unless
    ``quiet``; always a warning when the client certificate expires within 60 days. Plain click,
    so ``--json`` runs never load Rich."""
    import datetime as dt

    if auth is not None and not quiet:
        click.echo(click.style(f"authorization: {auth.describe()}", dim=True), err=True)
    if cert is not None:
        if not quiet:
            click.echo(click.style(f"client certificate: {cert.subject} from {cert.source}", dim=True), err=True)
        warning = cert.expiry_warning(dt.datetime.now(dt.UTC))
        if warning is not None:
            click.echo(click.style(f"warning: {warning}", fg="yellow"), err=True)


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
    func = click.option("--speed", type=POSITIVE, help="Divide every wait (60 = a minute a second).")(func)
    return func


def concurrency_options(func: F) -> F:
    """The concurrency bound and the arrival schedule: --concurrency and --rate ('send', 'replay')."""
    func = click.option(
        "--rate",
        type=POSITIVE,
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
