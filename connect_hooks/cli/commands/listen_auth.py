"""``listen``'s authorization and mTLS options: parsed here, checked by ``receiver_auth`` and ``tls``.

Kept apart from ``listen.py`` so the command stays one decorator and two calls longer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click

from connect_hooks.cli.commands.options import auth_credential_options
from connect_hooks.errors import BadInput

if TYPE_CHECKING:
    from connect_hooks.receiver.auth import RequiredAuth, Verifier
    from connect_hooks.receiver.tls import LocalTLS, MutualTLS

F = TypeVar("F", bound=Callable[..., Any])

#: ``receiver_auth.AUTH_TYPES``, spelled here so that ``listen --help`` does not import hashlib and co.
AUTH_TYPES = ("basic", "digest", "api-key", "bearer", "aws-sigv4")

CREDENTIAL_OPTIONS = (
    "auth_user",
    "auth_password_file",
    "api_key_header",
    "api_key_file",
    "client_id",
    "client_secret_file",
    "aws_region",
    "aws_service",
)


def listen_auth_options(func: F) -> F:
    func = click.option(
        "--client-ca",
        type=click.Path(dir_okay=False),
        help="With --tls: require client certificates signed by this CA (PEM) instead of the local test CA's.",
    )(func)
    func = click.option(
        "--require-client-cert",
        is_flag=True,
        help="With --tls: refuse handshakes without a client certificate from the local test CA, which issues "
        "one (PEM and .p12; password from CONNECT_HOOKS_CLIENT_CERT_PASSWORD or generated and shown once).",
    )(func)
    func = click.option(
        "--token-ttl",
        type=click.IntRange(min=1),
        default=3600,
        show_default=True,
        metavar="SECONDS",
        help="bearer: tokens from POST /oauth/token expire after this long.",
    )(func)
    func = auth_credential_options(func)
    func = click.option(
        "--require-auth",
        type=click.Choice(AUTH_TYPES),
        help="Refuse requests without these credentials (401 and a challenge); bearer also serves POST /oauth/token.",
    )(func)
    return func


def receiver_auth(options: Mapping[str, Any], *, environ: Mapping[str, str]) -> Verifier | None:
    """The verifier for ``--require-auth`` and its credentials; None without it."""
    from connect_hooks.receiver import auth as ra

    settings = required_auth(options, environ=environ)
    return ra.make_verifier(settings) if settings is not None else None


def required_auth(options: Mapping[str, Any], *, environ: Mapping[str, str]) -> RequiredAuth | None:
    """What ``--require-auth`` asks for, credentials read (the verifier's, and the inspector's replays'); None without it."""
    from connect_hooks.receiver import auth as ra

    kind = options.get("require_auth")
    if kind is None:
        given = [name for name in CREDENTIAL_OPTIONS if options.get(name) is not None]
        if given:
            raise BadInput(f"--{given[0].replace('_', '-')} is only used with --require-auth TYPE: add it, or drop it")
        return None
    needed_by = f"--require-auth {kind}"
    password = api_key = client_secret = None
    if kind in ("basic", "digest"):
        password = ra.read_credential(
            environ,
            "CONNECT_HOOKS_AUTH_PASSWORD",
            options.get("auth_password_file"),
            "--auth-password-file",
            "password",
            needed_by,
        )
    elif kind == "api-key":
        api_key = ra.read_credential(
            environ, "CONNECT_HOOKS_API_KEY", options.get("api_key_file"), "--api-key-file", "API key", needed_by
        )
    elif kind == "bearer":
        client_secret = ra.read_credential(
            environ,
            "CONNECT_HOOKS_CLIENT_SECRET",
            options.get("client_secret_file"),
            "--client-secret-file",
            "client secret",
            needed_by,
        )
    return ra.RequiredAuth(
        kind=kind,
        user=options.get("auth_user"),
        password=password,
        api_key_header=options.get("api_key_header"),
        api_key=api_key,
        client_id=options.get("client_id"),
        client_secret=client_secret,
        token_ttl=int(options.get("token_ttl") or ra.DEFAULT_TOKEN_TTL),
        aws_region=options.get("aws_region"),
        aws_service=options.get("aws_service"),
        aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID") if kind == "aws-sigv4" else None,
        aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY") if kind == "aws-sigv4" else None,
        aws_session_token=environ.get("AWS_SESSION_TOKEN") if kind == "aws-sigv4" else None,
    )


def mutual_tls(options: Mapping[str, Any], *, tls: bool, environ: Mapping[str, str]) -> MutualTLS | None:
    """``--require-client-cert`` / ``--client-ca``: client certificates required (only with --tls)."""
    from pathlib import Path

    from connect_hooks.receiver.tls import MutualTLS

    client_ca = options.get("client_ca")
    if not options.get("require_client_cert") and client_ca is None:
        return None
    if not tls:
        option = "--client-ca" if client_ca is not None else "--require-client-cert"
        raise BadInput(f"{option} needs --tls: a client certificate is presented in the TLS handshake")
    password = environ.get("CONNECT_HOOKS_CLIENT_CERT_PASSWORD")
    if password == "":
        raise BadInput("CONNECT_HOOKS_CLIENT_CERT_PASSWORD is set but empty: give it a password, or unset it")
    return MutualTLS(Path(client_ca) if client_ca is not None else None, password)


def banner_lines(verifier: Verifier | None, files: LocalTLS | None, url: str) -> list[str]:
    """What listen prints at start-up about auth and mTLS; a generated .p12 password only here, once."""
    lines: list[str] = []
    if verifier is not None:
        lines.append(f"  auth required: {verifier.describe()}; 401 without")
        if verifier.token_path is not None:
            lines.append(f"  OAuth 2.0 token endpoint: {url}{verifier.token_path} (client credentials grant)")
    if files is not None and files.client_ca_path is not None:
        if files.client is None:
            lines.append(f"  mTLS: handshakes need a client certificate signed by {files.client_ca_path}")
        else:
            client = files.client
            lines.append("  mTLS: handshakes need a client certificate from the local test CA, issued here:")
            lines.append(f"    certificate and key (PEM): {client.pem_path}")
            if client.password_generated:
                shown = f"password {client.password} (generated, shown only now)"
            else:
                shown = "password from CONNECT_HOOKS_CLIENT_CERT_PASSWORD"
            lines.append(f"    PKCS#12: {client.p12_path} ({shown})")
    hint = send_hint(verifier, files, url)
    if hint:
        lines.append(f"  send with:{hint}")
    return lines


def send_hint(verifier: Verifier | None, files: LocalTLS | None, url: str) -> str:
    """The matching ``send`` options (secrets named by their variables, never shown)."""
    from connect_hooks.receiver import auth as ra

    hint = ""
    if isinstance(verifier, ra.BasicVerifier | ra.DigestVerifier):
        hint += f" --auth {verifier.kind} --auth-user {verifier.user} (and CONNECT_HOOKS_AUTH_PASSWORD)"
    elif isinstance(verifier, ra.ApiKeyVerifier):
        hint += f" --auth api-key --api-key-header {verifier.header_name} (and CONNECT_HOOKS_API_KEY)"
    elif isinstance(verifier, ra.BearerVerifier):
        hint += f" --auth oauth2 --token-url {url}{ra.TOKEN_PATH} --client-id {verifier.client_id}"
        hint += " (and CONNECT_HOOKS_CLIENT_SECRET)"
    elif isinstance(verifier, ra.SigV4Verifier):
        hint += f" --auth aws-sigv4 --aws-region {verifier.region} --aws-service {verifier.service} (and the AWS_ keys)"
    if files is not None and files.client is not None:
        hint += f" --client-cert {files.client.pem_path}"
    return hint
