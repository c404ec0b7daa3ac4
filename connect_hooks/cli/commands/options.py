"""What the commands share: option groups (each with the one function that turns its values into
settings), the secret's sources, the credentials and the TLS client pair, output helpers.

A group is declared once and spelled the same way by every command that takes it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import click

from connect_hooks.cli import completers
from connect_hooks.errors import BadInput
from connect_hooks.policy import DEFAULT_TIMEOUT, SCHEDULES
from connect_hooks.signing import ALGORITHMS, STYLES

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

    from connect_hooks.cli.profiles import Webhook
    from connect_hooks.client.clientcert import ClientCert
    from connect_hooks.client.credentials import AuthSettings, AuthSpec

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: Keyword arguments of a core settings object (``SendSettings``, ``ReplaySettings``, ...).
Fields = dict[str, Any]


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


# -- option groups ----------------------------------------------------------------------------------


class Option:
    """One click option, declared once; ``name`` is its parameter (its key in a command's ``**options``).

    A ``type`` given as ``PATH`` or ``FILE`` becomes its ``click.Path`` when the option is added to a
    command: making one is not free, and 'policy' imports this module but takes none of them.
    """

    __slots__ = ("attrs", "decls", "name")

    def __init__(self, name: str, *decls: str, **attrs: Any) -> None:
        self.name, self.decls, self.attrs = name, decls, attrs

    def __call__(self, func: F) -> F:
        attrs = self.attrs
        if attrs.get("type") in (PATH, FILE):
            attrs = {**attrs, "type": click.Path(dir_okay=attrs["type"] is PATH)}
        return click.option(*self.decls, self.name, **attrs)(func)


#: ``Option`` types: a path (``click.Path()``), a file path (``click.Path(dir_okay=False)``).
PATH, FILE = object(), object()


class Group(Generic[T]):
    """Options that belong together, in ``--help`` order, and ``build``: what their values become.

    As a decorator it adds the options to a command; ``take`` pops their values from the
    command's ``**options`` (and ``extras``, set by a decorator above, such as ``webhook_options``)
    and builds the settings. Building may raise ``BadInput``: commands take groups in the order
    they check their input.
    """

    __slots__ = ("build", "extras", "options")

    def __init__(
        self, *options: Option, build: Callable[[click.Context, dict[str, Any]], T], extras: tuple[str, ...] = ()
    ) -> None:
        self.options, self.build, self.extras = options, build, extras

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(option.name for option in self.options)

    def __call__(self, func: F) -> F:
        for option in reversed(self.options):
            func = option(func)
        return func

    def take(self, ctx: click.Context, values: dict[str, Any]) -> T:
        mine = {name: values.pop(name) for name in self.names}
        mine.update((name, values.pop(name, None)) for name in self.extras)
        return self.build(ctx, mine)


def _fields(ctx: click.Context, values: dict[str, Any]) -> Fields:
    """The options' values as they are, under their own names."""
    return values


def _flag(ctx: click.Context, values: dict[str, Any]) -> Any:
    """The one option's value."""
    (value,) = values.values()
    return value


#: ``--json``: the output option every reporting command shares (a bool).
output_options: Group[bool] = Group(
    Option("as_json", "--json", is_flag=True, help="Print one JSON document for machines."), build=_flag
)

#: ``--summary`` (a bool).
summary_option: Group[bool] = Group(
    Option(
        "summary_only",
        "--summary",
        is_flag=True,
        help="Print only the summary (default above 20 notifications).",
    ),
    build=_flag,
)


def _policy(ctx: click.Context, values: dict[str, Any]) -> Fields:
    from connect_hooks.policy import Policy

    return {"policy": Policy.build(**values)}


def _timeout_option(name: str = "timeout") -> Option:
    return Option(
        name,
        "--timeout",
        type=POSITIVE,
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Deadline in seconds for a whole attempt: connect, send, status, headers and body.",
    )


#: ``--timeout``: ``{"timeout": seconds}``.
timeout_option: Group[Fields] = Group(_timeout_option(), build=_fields)

#: The retry policy: ``{"policy": Policy}``.
policy_options: Group[Fields] = Group(
    _timeout_option(),
    Option(
        "schedule",
        "--schedule",
        type=click.Choice(sorted(SCHEDULES)),
        default="fixed",
        show_default=True,
        help="fixed: 60, 60, 60 s (documented); backoff: 30, 60, 120 s (the mTLS FAQ).",
    ),
    Option("retries", "--retries", type=click.IntRange(min=0), help="Number of retries (default: 3)."),
    Option("interval", "--interval", type=POSITIVE, help="Seconds between retries, replacing the schedule's waits."),
    build=_policy,
)

#: How simulated time maps onto real time ('send', 'replay'): ``{"speed", "fast"}``.
time_options: Group[Fields] = Group(
    Option("speed", "--speed", type=POSITIVE, help="Divide every wait (60 = a minute a second)."),
    Option("fast", "--fast", is_flag=True, help="Skip the waits entirely."),
    build=_fields,
)

#: The concurrency bound and the arrival schedule ('send', 'replay'): ``{"concurrency", "rate"}``.
concurrency_options: Group[Fields] = Group(
    Option(
        "concurrency",
        "--concurrency",
        type=click.IntRange(min=1, max=10_000),
        default=10,
        show_default=True,
        help="Attempts in flight at most (a notification waiting for a retry holds none).",
    ),
    Option(
        "rate",
        "--rate",
        type=POSITIVE,
        help="First attempts per (simulated) second, on a fixed schedule; default: all at once.",
    ),
    build=_fields,
)

#: ``--allow-http``: ``{"allow_http"}``.
allow_http_option: Group[Fields] = Group(
    Option("allow_http", "--allow-http", is_flag=True, help="Allow plain http:// to hosts that are not loopback."),
    build=_fields,
)

#: ``--log``, the NDJSON story of a run, which 'replay' reads back: ``{"log_path"}``.
log_option: Group[Fields] = Group(
    Option("log_path", "--log", type=FILE, help="Append NDJSON records to this file."),
    build=_fields,
)

#: ``--set``, shared by 'send' and 'samples show': ``{"sets"}``.
set_option: Group[Fields] = Group(
    Option(
        "sets",
        "--set",
        multiple=True,
        metavar="PATH=VALUE|PATH:=JSON",
        help="Set a field of the sample: = for a string, := for any JSON value; dotted PATH (repeatable).",
    ),
    build=_fields,
)


def _headers(ctx: click.Context, values: dict[str, Any]) -> Fields:
    from connect_hooks.sender.sending import parse_header_option

    return {"headers": tuple(parse_header_option(h) for h in values["headers"])}


def header_options(help: str) -> Group[Fields]:
    """-H/--header, parsed: ``{"headers": ((name, value), ...)}``."""
    return Group(Option("headers", "-H", "--header", multiple=True, metavar="'NAME: VALUE'", help=help), build=_headers)


#: -H/--header of 'send' and 'replay'.
header_option = header_options("Extra header (repeatable).")


# -- the hub secret and the signature ---------------------------------------------------------------


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


#: --secret and --secret-file: ``{"secret": the hub secret or None}``.
secret_options: Group[Fields] = Group(
    Option(
        "secret",
        "--secret",
        envvar="CONNECT_HOOKS_SECRET",
        show_envvar=True,
        help="Hub secret. Prefer the environment variable or --secret-file: command lines are visible to others.",
    ),
    Option(
        "secret_file",
        "--secret-file",
        type=PATH,
        help="Read the hub secret from this file (trailing newline ignored).",
    ),
    build=lambda ctx, values: {"secret": resolve_secret(ctx, values["secret"], values["secret_file"])},
)

#: How the x-hub-signature is made: ``{"algorithm", "signature_style"}``.
signature_options: Group[Fields] = Group(
    Option(
        "algorithm",
        "--algorithm",
        type=click.Choice(ALGORITHMS),
        default="sha256",
        show_default=True,
        help="HMAC algorithm of the x-hub-signature.",
    ),
    Option(
        "signature_style",
        "--signature-style",
        type=click.Choice(STYLES),
        default="prefixed",
        show_default=True,
        help="prefixed: 'sha256=<hex>'; bare: '<hex>'.",
    ),
    build=_fields,
)


# -- TLS: the client pair ----------------------------------------------------------------------------


class Tls:
    """--ca-bundle and --insecure, and the HTTP clients they make: the only place a client is made."""

    __slots__ = ("ca_bundle", "insecure")

    def __init__(self, ca_bundle: str | None, insecure: bool) -> None:
        self.ca_bundle, self.insecure = ca_bundle, insecure

    def client(self, credentials: Credentials, *, tls: bool = True) -> httpx.AsyncClient:
        """The client that sends: it skips verification with --insecure. ``tls=False``: the URL is
        plain http, so no CA certificates are loaded (``transport.make_client``)."""
        return self._make(credentials, insecure=self.insecure, tls=tls)

    def pair(self, credentials: Credentials) -> tuple[httpx.AsyncClient, httpx.AsyncClient | None]:
        """``client()`` and, with --insecure, a twin that verifies as Webex Connect does (else None).
        Each has its own authorization: an OAuth token request goes through its own client."""
        return self.client(credentials), self._make(credentials, insecure=False) if self.insecure else None

    def _make(self, credentials: Credentials, *, insecure: bool, tls: bool = True) -> httpx.AsyncClient:
        from connect_hooks.client.transport import make_client

        return make_client(
            ca_bundle=self.ca_bundle,
            insecure=insecure,
            tls=tls,
            auth=credentials.httpx_auth(),
            client_cert=credentials.cert,
            cert_option=True,
        )


#: --ca-bundle and --insecure: a ``Tls``.
tls_options: Group[Tls] = Group(
    Option(
        "ca_bundle",
        "--ca-bundle",
        type=FILE,
        help="Also trust the CA certificates in this PEM file (e.g. the one 'listen --tls' prints).",
    ),
    Option("insecure", "--insecure", is_flag=True, help="Do not verify TLS certificates (Webex Connect always does)."),
    build=lambda ctx, values: Tls(**values),
)


# -- authorization and client certificate (send, check, conform, replay) ----------------------------


class Credentials:
    """What ``auth_options`` resolved before anything is sent: the authorization (``AuthSettings``)
    and the client certificate (``ClientCert``), each None when not given. Never printed whole."""

    __slots__ = ("auth", "cert")

    def __init__(self, auth: AuthSettings | None, cert: ClientCert | None) -> None:
        self.auth, self.cert = auth, cert

    def httpx_auth(self) -> httpx.Auth | None:
        """A fresh ``httpx.Auth`` (one per client: an OAuth token cache shared by its requests), or None."""
        if self.auth is None:
            return None
        from connect_hooks.client.auth import build

        return build(self.auth)

    def announce(self, *, quiet: bool) -> None:
        """On stderr: which authorization and client certificate are used (never a secret) unless
        ``quiet``; always a warning when the client certificate expires within 60 days. Plain
        click, so ``--json`` runs never load Rich."""
        import datetime as dt

        auth, cert = self.auth, self.cert
        if auth is not None and not quiet:
            click.echo(click.style(f"authorization: {auth.describe()}", dim=True), err=True)
        if cert is not None:
            if not quiet:
                click.echo(click.style(f"client certificate: {cert.subject} from {cert.source}", dim=True), err=True)
            warning = cert.expiry_warning(dt.datetime.now(dt.UTC))
            if warning is not None:
                click.echo(click.style(f"warning: {warning}", fg="yellow"), err=True)


def given_on_command_line(ctx: click.Context, name: str) -> bool:
    """Whether the user set parameter ``name`` (on the command line or through its variable)."""
    source = ctx.get_parameter_source(name)
    return source in (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


#: The credential options both sides share (send/check's --auth, listen's --require-auth): defined once.
#: Secrets never go on the command line: they come from the environment variables named here or from files.
CREDENTIAL_OPTIONS: dict[str, Option] = {
    option.name: option
    for option in (
        Option(
            "auth_user",
            "--auth-user",
            metavar="USER",
            help="basic/digest: the user (password: CONNECT_HOOKS_AUTH_PASSWORD).",
        ),
        Option(
            "auth_password_file",
            "--auth-password-file",
            type=PATH,
            help="basic/digest: read the password from this file instead of CONNECT_HOOKS_AUTH_PASSWORD.",
        ),
        Option(
            "api_key_header",
            "--api-key-header",
            metavar="NAME",
            help="api-key: the header's name (value: CONNECT_HOOKS_API_KEY).",
        ),
        Option(
            "api_key_file",
            "--api-key-file",
            type=PATH,
            help="api-key: read the key from this file instead of CONNECT_HOOKS_API_KEY.",
        ),
        Option(
            "client_id",
            "--client-id",
            metavar="ID",
            help="oauth2/bearer: the client id (secret: CONNECT_HOOKS_CLIENT_SECRET).",
        ),
        Option(
            "client_secret_file",
            "--client-secret-file",
            type=PATH,
            help="oauth2/bearer: read the client secret from this file instead of CONNECT_HOOKS_CLIENT_SECRET.",
        ),
        Option(
            "aws_region",
            "--aws-region",
            metavar="REGION",
            help="aws-sigv4: the region (keys: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN).",
        ),
        Option("aws_service", "--aws-service", metavar="NAME", help="aws-sigv4: the service name signed for."),
    )
}

#: The shared credential options alone (``listen --require-auth``); ``auth_options`` adds the sender's own.
auth_credential_options: Group[Fields] = Group(*CREDENTIAL_OPTIONS.values(), build=_fields)

#: ``auth_options``' click parameters -> ``AuthSpec`` fields (the rest keep their names).
AUTH_FIELDS = {"auth_type": "type", "auth_user": "user", "auth_password_file": "password_file"}


def _credentials(ctx: click.Context, values: dict[str, Any]) -> Credentials:
    """Resolve the options (and a webhook profile's settings) against the environment and files,
    before anything is sent; BadInput when unusable."""
    import os

    from connect_hooks.client.credentials import AuthSpec, resolve, resolve_client_cert

    profile: Webhook | None = values.pop("webhook_profile")
    spec: AuthSpec = AuthSpec(**{AUTH_FIELDS.get(param, param): value for param, value in values.items()})
    if profile is not None:
        from connect_hooks.cli.profiles import merge_credentials

        explicit = {AUTH_FIELDS.get(param, param) for param in values if given_on_command_line(ctx, param)}
        spec = merge_credentials(profile, spec, explicit)
    return Credentials(resolve(spec, os.environ), resolve_client_cert(spec, os.environ))


#: ``--auth`` with its credentials, and ``--client-cert``/``--client-key`` (mTLS): ``Credentials``.
#: A webhook profile (``webhook_options``, above it) fills in what the command line left out.
#: Secrets come only from environment variables or files, never from an option's value.
auth_options: Group[Credentials] = Group(
    Option(
        "auth_type",
        "--auth",
        type=click.Choice(["basic", "digest", "api-key", "oauth2", "aws-sigv4"]),
        help="Authorization Webex Connect adds to every request (default: none).",
    ),
    CREDENTIAL_OPTIONS["auth_user"],
    CREDENTIAL_OPTIONS["auth_password_file"],
    CREDENTIAL_OPTIONS["api_key_header"],
    CREDENTIAL_OPTIONS["api_key_file"],
    Option("token_url", "--token-url", metavar="URL", help="oauth2: the token endpoint (client credentials grant)."),
    CREDENTIAL_OPTIONS["client_id"],
    Option("scope", "--scope", metavar="'A B'", help="oauth2: space-separated scopes to ask for (optional)."),
    CREDENTIAL_OPTIONS["client_secret_file"],
    Option(
        "client_auth",
        "--client-auth",
        type=click.Choice(["body", "basic"]),
        default="body",
        show_default=True,
        help="oauth2: send the client credentials in the token request's body, or with HTTP Basic.",
    ),
    CREDENTIAL_OPTIONS["aws_region"],
    CREDENTIAL_OPTIONS["aws_service"],
    Option(
        "client_cert",
        "--client-cert",
        type=FILE,
        help="mTLS: present this client certificate: a PEM with certificate and key, or a .p12/.pfx "
        "(password: CONNECT_HOOKS_CLIENT_CERT_PASSWORD).",
    ),
    Option(
        "client_key",
        "--client-key",
        type=FILE,
        help="mTLS: the private key, when not in --client-cert.",
    ),
    build=_credentials,
    extras=("webhook_profile",),
)


# -- webhook profiles ---------------------------------------------------------------------------------


def webhook_options(func: F) -> F:
    """``--webhook NAME`` and ``--config FILE``: take the URL and settings from a webhook profile.

    Must sit above ``auth_options`` (it hands the profile on, as ``webhook_profile``). What the
    user gave on the command line (or through an environment variable) wins over the profile.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        name = kwargs.pop("webhook")
        config = kwargs.pop("config")
        if name is None:
            if config is not None:
                raise BadInput("--config names the profiles file: add --webhook NAME to use one of its webhooks")
            return func(*args, **kwargs)
        from pathlib import Path

        from connect_hooks.cli.profiles import load_webhook

        profile = load_webhook(name, config, Path.cwd())
        _apply_profile(click.get_current_context(), profile, kwargs)
        kwargs["webhook_profile"] = profile
        return func(*args, **kwargs)

    decorated: Any = click.option(
        "--config",
        type=click.Path(dir_okay=False),
        help="Webhook profiles file (default: connect-hooks.toml here, or [tool.connect-hooks] in pyproject.toml).",
    )(wrapper)
    decorated = click.option(
        "--webhook",
        metavar="NAME",
        help="Take the URL and settings from this webhook profile (see 'webhooks').",
        shell_complete=completers.webhooks,
    )(decorated)
    return decorated  # type: ignore[no-any-return]


def _apply_profile(ctx: click.Context, profile: Webhook, kwargs: dict[str, Any]) -> None:
    """Fill ``kwargs`` from the profile: URL (and a TARGET given where the URL goes), the plain
    settings the user did not give, the hub secret's source."""
    import os

    name = profile.name
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


# -- output ------------------------------------------------------------------------------------------


def console(*, stderr: bool = False) -> Console:
    """Rich output for people. No markup and no emoji codes: what we print (URLs, targets, answers,
    header values) is the user's text and shows as sent, ``[/x]`` and ``:smile:`` included."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False, emoji=False)


def dump_json(document: Any) -> None:
    import json

    click.echo(json.dumps(document, indent=2, ensure_ascii=False))
