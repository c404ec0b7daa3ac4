"""Authorization settings: what the user asked for (``AuthSpec``, secrets as references) and what
it resolves to (``AuthSettings``, secrets read from the environment or files).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from connect_hooks.errors import BadInput
from connect_hooks.redaction import redact_url

if TYPE_CHECKING:
    from connect_hooks.client.clientcert import ClientCert

AUTH_TYPES = ("basic", "digest", "api-key", "oauth2", "aws-sigv4")
CLIENT_AUTH_METHODS = ("body", "basic")

ENV_PASSWORD = "CONNECT_HOOKS_AUTH_PASSWORD"
ENV_API_KEY = "CONNECT_HOOKS_API_KEY"
ENV_CLIENT_SECRET = "CONNECT_HOOKS_CLIENT_SECRET"
ENV_CERT_PASSWORD = "CONNECT_HOOKS_CLIENT_CERT_PASSWORD"
ENV_AWS_ACCESS_KEY = "AWS_ACCESS_KEY_ID"
ENV_AWS_SECRET_KEY = "AWS_SECRET_ACCESS_KEY"
ENV_AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN"


@dataclass(frozen=True)
class AuthSpec:
    """What the user asked for, secrets only as references (an environment variable or a file).

    Filled from command-line options, a webhook profile, or both; ``resolve`` reads the secrets.
    """

    type: str | None = None
    user: str | None = None
    password_env: str = ENV_PASSWORD
    password_file: str | None = None
    api_key_header: str | None = None
    api_key_env: str = ENV_API_KEY
    api_key_file: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None
    client_secret_env: str = ENV_CLIENT_SECRET
    client_secret_file: str | None = None
    client_auth: str = "body"
    aws_region: str | None = None
    aws_service: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    client_cert_password_env: str = ENV_CERT_PASSWORD


@dataclass(frozen=True)
class AuthSettings:
    """One resolved authorization, secrets included (hidden from repr; never printed)."""

    type: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key_header: str | None = None
    api_key: str | None = field(default=None, repr=False)
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    scope: str | None = None
    client_auth: str = "body"
    aws_region: str | None = None
    aws_service: str | None = None
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)

    def command_args(self) -> list[str]:
        """The command-line options that ask for this authorization again (never a secret: those
        come from the same environment variables, or are named as files by the user)."""
        if self.type in ("basic", "digest"):
            return ["--auth", self.type, "--auth-user", self.user or ""]
        if self.type == "api-key":
            return ["--auth", "api-key", "--api-key-header", self.api_key_header or ""]
        if self.type == "oauth2":
            args = ["--auth", "oauth2", "--token-url", redact_url(self.token_url or "")]
            args += ["--client-id", self.client_id or ""]
            if self.scope:
                args += ["--scope", self.scope]
            if self.client_auth != "body":
                args += ["--client-auth", self.client_auth]
            return args
        return ["--auth", "aws-sigv4", "--aws-region", self.aws_region or "", "--aws-service", self.aws_service or ""]

    def describe(self) -> str:
        """One line naming the authorization without any secret in it."""
        if self.type in ("basic", "digest"):
            return f"{self.type} as user {self.user!r}"
        if self.type == "api-key":
            return f"api-key in header {self.api_key_header}"
        if self.type == "oauth2":
            how = "in the body" if self.client_auth == "body" else "with HTTP Basic"
            return (
                f"oauth2 client {self.client_id!r} (credentials {how}), tokens from {redact_url(self.token_url or '')}"
            )
        return f"aws-sigv4 for {self.aws_service} in {self.aws_region} (keys from the environment)"


def read_credential_file(path: str | Path, option: str, what: str) -> str:
    """The text of a credential file without its trailing newline; bad input when empty or unreadable."""
    where = repr(str(path))
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{option} {where} is a directory: give a file that holds the {what}")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(f"{option} {where} does not exist: give a file that holds the {what}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise BadInput(f"cannot read {option} {where}: {reason}; check the file and its permissions") from None
    value = text.removesuffix("\n").removesuffix("\r")
    if not value:
        raise BadInput(f"{option} {where} is empty: put the {what} in it")
    return value


def _secret(environ: Mapping[str, str], env: str, file: str | None, option: str, what: str, auth: str) -> str:
    if file is not None:
        return read_credential_file(file, option, what)
    value = environ.get(env)
    if value is None:
        raise BadInput(f"--auth {auth} needs the {what}: set {env} or give {option} FILE")
    if value == "":
        raise BadInput(f"{env} is set but empty: give it the {what}, or use {option} FILE")
    return value


def _need(value: str | None, option: str, auth: str, example: str) -> str:
    if value is None or not value.strip():
        raise BadInput(f"--auth {auth} needs {option}: e.g. {option} {example}")
    return value.strip()


# Options that only make sense with one auth type: (spec field, option, the types it belongs to).
_OWNED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("user", "--auth-user", ("basic", "digest")),
    ("password_file", "--auth-password-file", ("basic", "digest")),
    ("api_key_header", "--api-key-header", ("api-key",)),
    ("api_key_file", "--api-key-file", ("api-key",)),
    ("token_url", "--token-url", ("oauth2",)),
    ("client_id", "--client-id", ("oauth2",)),
    ("scope", "--scope", ("oauth2",)),
    ("client_secret_file", "--client-secret-file", ("oauth2",)),
    ("aws_region", "--aws-region", ("aws-sigv4",)),
    ("aws_service", "--aws-service", ("aws-sigv4",)),
)


def resolve(spec: AuthSpec, environ: Mapping[str, str]) -> AuthSettings | None:
    """Check ``spec`` and read its secrets from ``environ`` and files; None when no auth is asked for."""
    kind = spec.type
    _check_owned_options(spec)
    if kind is None:
        return None
    if kind not in AUTH_TYPES:
        raise BadInput(f"unknown auth type {kind!r}: use one of {', '.join(AUTH_TYPES)}")
    return _RESOLVERS[kind](spec, environ, kind)


def _check_owned_options(spec: AuthSpec) -> None:
    """An option that belongs to another auth type than the one given is bad input."""
    for name, option, owners in _OWNED:
        if getattr(spec, name) is not None and spec.type not in owners:
            wanted = " or ".join(f"--auth {o}" for o in owners)
            raise BadInput(f"{option} belongs to {wanted}: add it, or drop {option}")
    if spec.client_auth != "body" and spec.type != "oauth2":
        raise BadInput("--client-auth belongs to --auth oauth2: add it, or drop --client-auth")


def _resolve_user(spec: AuthSpec, environ: Mapping[str, str], kind: str) -> AuthSettings:
    """basic and digest: a user name, and the password from the environment or a file."""
    user = spec.user
    if user is None or user == "":
        raise BadInput(f"--auth {kind} needs --auth-user USER (the password comes from {spec.password_env})")
    if ":" in user and kind == "basic":
        raise BadInput(f"--auth-user {user!r} contains ':', which Basic auth cannot carry: pick another user name")
    password = _secret(environ, spec.password_env, spec.password_file, "--auth-password-file", "password", kind)
    return AuthSettings(type=kind, user=user, password=password)


def _resolve_api_key(spec: AuthSpec, environ: Mapping[str, str], kind: str) -> AuthSettings:
    header = _need(spec.api_key_header, "--api-key-header", kind, "X-API-Key")
    if any(c in header for c in " \t\r\n:"):
        raise BadInput(f"--api-key-header {header!r} is not a header name: e.g. --api-key-header X-API-Key")
    key = _secret(environ, spec.api_key_env, spec.api_key_file, "--api-key-file", "API key", kind)
    if any(c in key for c in "\r\n"):
        raise BadInput("the API key contains a line break: a header value cannot; fix the file or variable")
    return AuthSettings(type=kind, api_key_header=header, api_key=key)


def _resolve_oauth2(spec: AuthSpec, environ: Mapping[str, str], kind: str) -> AuthSettings:
    token_url = _need(spec.token_url, "--token-url", kind, "https://auth.example.test/oauth/token")
    if not token_url.lower().startswith(("http://", "https://")):
        raise BadInput(
            f"--token-url {redact_url(token_url)!r} is not an http(s) URL: e.g. https://auth.example.test/oauth/token"
        )
    client_id = _need(spec.client_id, "--client-id", kind, "my-client")
    if spec.client_auth not in CLIENT_AUTH_METHODS:
        raise BadInput(f"--client-auth {spec.client_auth!r} is unknown: use body or basic")
    secret = _secret(
        environ, spec.client_secret_env, spec.client_secret_file, "--client-secret-file", "client secret", kind
    )
    scope = " ".join(spec.scope.split()) if spec.scope else None
    return AuthSettings(
        type=kind,
        token_url=token_url,
        client_id=client_id,
        client_secret=secret,
        scope=scope,
        client_auth=spec.client_auth,
    )


def _resolve_sigv4(spec: AuthSpec, environ: Mapping[str, str], kind: str) -> AuthSettings:
    region = _need(spec.aws_region, "--aws-region", kind, "eu-west-1")
    service = _need(spec.aws_service, "--aws-service", kind, "execute-api")
    access_key = environ.get(ENV_AWS_ACCESS_KEY) or None
    secret_key = environ.get(ENV_AWS_SECRET_KEY) or None
    if access_key is None or secret_key is None:
        missing = " and ".join(
            n for n, v in ((ENV_AWS_ACCESS_KEY, access_key), (ENV_AWS_SECRET_KEY, secret_key)) if not v
        )
        raise BadInput(f"--auth aws-sigv4 needs {missing} set in the environment (and {ENV_AWS_SESSION_TOKEN} if any)")
    return AuthSettings(
        type=kind,
        aws_region=region,
        aws_service=service,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        aws_session_token=environ.get(ENV_AWS_SESSION_TOKEN) or None,
    )


#: Each auth type's reader: its options checked, its secrets read.
_RESOLVERS: dict[str, Callable[[AuthSpec, Mapping[str, str], str], AuthSettings]] = {
    "basic": _resolve_user,
    "digest": _resolve_user,
    "api-key": _resolve_api_key,
    "oauth2": _resolve_oauth2,
    "aws-sigv4": _resolve_sigv4,
}


def resolve_client_cert(spec: AuthSpec, environ: Mapping[str, str]) -> ClientCert | None:
    """The client certificate ``spec`` names, read and checked now; None when there is none."""
    if spec.client_cert is None:
        if spec.client_key is not None:
            raise BadInput("--client-key goes with --client-cert: give the certificate too")
        return None
    from connect_hooks.client.clientcert import load_client_cert

    password = environ.get(spec.client_cert_password_env) or None
    return load_client_cert(spec.client_cert, spec.client_key, password, password_env=spec.client_cert_password_env)


def wrong_credentials(settings: AuthSettings) -> AuthSettings:
    """The same authorization with a wrong secret (a random one): what a receiver must refuse.

    For oauth2 that is a bearer token the token endpoint never issued (fetching one with a wrong
    client secret would test the token endpoint, not the receiver).
    """
    import dataclasses
    import secrets

    junk = "wrong-" + secrets.token_urlsafe(12)
    if settings.type in ("basic", "digest"):
        return dataclasses.replace(settings, password=junk)
    if settings.type == "api-key":
        return dataclasses.replace(settings, api_key=junk)
    if settings.type == "oauth2":
        return AuthSettings(type="api-key", api_key_header="Authorization", api_key=f"Bearer {junk}")
    return dataclasses.replace(settings, aws_secret_access_key=junk, aws_session_token=None)
