"""Authorization for the sender: frozen settings in, an ``httpx.Auth`` out. The engine never sees it.

Webex Connect can attach one Authorization to a webhook (help "Authorization for Outbound Webhook
and Contact Policy"; the decisions are in shared/reference, "Authorization and mTLS"):

- ``basic``: ``Authorization: Basic base64(user:password)`` (``httpx.BasicAuth``).
- ``digest``: answers the receiver's ``401 WWW-Authenticate: Digest`` challenge once
  (``httpx.DigestAuth``). Challenge and answer are two requests of ONE attempt, inside its deadline
  (``delivery.attempt_once`` wraps the whole ``client.send``); a second 401 ends the attempt with 401.
  Later requests of the same send start pre-emptively from the last challenge (nonce count
  incremented), as httpx does. A pre-emptive Digest from a nonce configured in advance is not
  offered: a stored nonce goes stale, and every receiver that speaks Digest issues a fresh one.
- ``api-key``: one header ``<Key>: <Key Value>``.
- ``oauth2``: client credentials grant. The token request is prepared by authlib (form body,
  client authentication in the body or with HTTP Basic); the token is fetched through the same
  client (same TLS settings and client certificate) before the first attempt that needs it, shared
  by every notification of the send, reused until its ``expires_in`` runs out (measured with the
  injected ``now``), then fetched again. A 401 from the receiver discards it. A failed fetch raises
  ``AttemptFault``: that attempt fails like a connection error, with its own description.
- ``aws-sigv4``: botocore's SigV4 signer over ``host;x-amz-date`` (and ``x-amz-security-token``
  when a session token is set), the payload hash of the exact body, a fresh ``x-amz-date`` on each
  attempt (the injected ``utcnow``).

Secrets are only ever read from the environment or a file (``resolve``), never from the command
line; ``AuthSettings`` hides them from its repr, and ``describe`` names only what is not secret.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from connect_hooks.errors import BadInput
from connect_hooks.policy import AttemptFault, Fault

if TYPE_CHECKING:
    from connect_hooks.clientcert import ClientCert

AUTH_TYPES = ("basic", "digest", "api-key", "oauth2", "aws-sigv4")
CLIENT_AUTH_METHODS = ("body", "basic")

ENV_PASSWORD = "CONNECT_HOOKS_AUTH_PASSWORD"
ENV_API_KEY = "CONNECT_HOOKS_API_KEY"
ENV_CLIENT_SECRET = "CONNECT_HOOKS_CLIENT_SECRET"
ENV_CERT_PASSWORD = "CONNECT_HOOKS_CLIENT_CERT_PASSWORD"
ENV_AWS_ACCESS_KEY = "AWS_ACCESS_KEY_ID"
ENV_AWS_SECRET_KEY = "AWS_SECRET_ACCESS_KEY"
ENV_AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN"

SIGV4_STAMP = "%Y%m%dT%H%M%SZ"


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

    def describe(self) -> str:
        """One line naming the authorization without any secret in it."""
        if self.type in ("basic", "digest"):
            return f"{self.type} as user {self.user!r}"
        if self.type == "api-key":
            return f"api-key in header {self.api_key_header}"
        if self.type == "oauth2":
            how = "in the body" if self.client_auth == "body" else "with HTTP Basic"
            return f"oauth2 client {self.client_id!r} (credentials {how}), tokens from {self.token_url}"
        return f"aws-sigv4 for {self.aws_service} in {self.aws_region}, key id {self.aws_access_key_id}"


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
    for name, option, owners in _OWNED:
        if getattr(spec, name) is not None and kind not in owners:
            wanted = " or ".join(f"--auth {o}" for o in owners)
            raise BadInput(f"{option} belongs to {wanted}: add it, or drop {option}")
    if kind is None:
        return None
    if kind not in AUTH_TYPES:
        raise BadInput(f"unknown auth type {kind!r}: use one of {', '.join(AUTH_TYPES)}")
    if kind in ("basic", "digest"):
        user = spec.user
        if user is None or user == "":
            raise BadInput(f"--auth {kind} needs --auth-user USER (the password comes from {spec.password_env})")
        if ":" in user and kind == "basic":
            raise BadInput(f"--auth-user {user!r} contains ':', which Basic auth cannot carry: pick another user name")
        password = _secret(environ, spec.password_env, spec.password_file, "--auth-password-file", "password", kind)
        return AuthSettings(type=kind, user=user, password=password)
    if kind == "api-key":
        header = _need(spec.api_key_header, "--api-key-header", kind, "X-API-Key")
        if any(c in header for c in " \t\r\n:"):
            raise BadInput(f"--api-key-header {header!r} is not a header name: e.g. --api-key-header X-API-Key")
        key = _secret(environ, spec.api_key_env, spec.api_key_file, "--api-key-file", "API key", kind)
        if any(c in key for c in "\r\n"):
            raise BadInput("the API key contains a line break: a header value cannot; fix the file or variable")
        return AuthSettings(type=kind, api_key_header=header, api_key=key)
    if kind == "oauth2":
        token_url = _need(spec.token_url, "--token-url", kind, "https://auth.example.test/oauth/token")
        if not token_url.lower().startswith(("http://", "https://")):
            raise BadInput(
                f"--token-url {token_url!r} is not an http(s) URL: e.g. https://auth.example.test/oauth/token"
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


def resolve_client_cert(spec: AuthSpec, environ: Mapping[str, str]) -> ClientCert | None:
    """The client certificate ``spec`` names, read and checked now; None when there is none."""
    from connect_hooks.clientcert import load_client_cert

    if spec.client_cert is None:
        if spec.client_key is not None:
            raise BadInput("--client-key goes with --client-cert: give the certificate too")
        return None
    password = environ.get(spec.client_cert_password_env) or None
    return load_client_cert(spec.client_cert, spec.client_key, password, password_env=spec.client_cert_password_env)


# -- the httpx.Auth flows ------------------------------------------------------------------------


class ApiKeyAuth(httpx.Auth):
    """One header ``<Key>: <Key Value>`` on every request."""

    def __init__(self, header: str, value: str) -> None:
        self._header = header
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def sigv4_headers(
    method: str,
    url: str,
    host: str,
    body: bytes,
    *,
    access_key: str,
    secret_key: str,
    session_token: str | None,
    region: str,
    service: str,
    stamp: str,
) -> dict[str, str]:
    """The headers a SigV4 (``AWS4-HMAC-SHA256``) request carries: X-Amz-Date, the session token
    when set, and Authorization over ``host;x-amz-date[;x-amz-security-token]`` and the body's hash.

    botocore computes the canonical request, the string to sign and the key derivation; the
    timestamp is ours (``stamp``, ``YYYYMMDDTHHMMSSZ``) so each attempt is signed afresh and tests
    can use AWS's published vectors.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    headers = {"Host": host, "X-Amz-Date": stamp}
    if session_token:
        headers["X-Amz-Security-Token"] = session_token
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    request.context["timestamp"] = stamp
    signer = SigV4Auth(Credentials(access_key, secret_key, session_token), service, region)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    out = {k: v for k, v in headers.items() if k != "Host"}
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, SignedHeaders={signed}, Signature={signature}"
    )
    return out


class AwsSigV4Auth(httpx.Auth):
    """SigV4 on every request, with a fresh timestamp each time (so each attempt is signed anew)."""

    requires_request_body = True

    def __init__(self, settings: AuthSettings, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        assert settings.aws_access_key_id and settings.aws_secret_access_key
        assert settings.aws_region and settings.aws_service
        self._settings = settings
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        s = self._settings
        assert s.aws_access_key_id and s.aws_secret_access_key and s.aws_region and s.aws_service
        signed = sigv4_headers(
            request.method,
            str(request.url),
            request.headers["host"],
            request.content,
            access_key=s.aws_access_key_id,
            secret_key=s.aws_secret_access_key,
            session_token=s.aws_session_token,
            region=s.aws_region,
            service=s.aws_service,
            stamp=self._clock().astimezone(dt.UTC).strftime(SIGV4_STAMP),
        )
        for name, value in signed.items():
            request.headers[name] = value
        yield request


class TokenFetchFailed(AttemptFault):
    """The OAuth token could not be had: the attempt that needed it fails like a connection error."""


class OAuth2ClientCredentials(httpx.Auth):
    """OAuth 2.0 client credentials: one token cache for every request made through this auth.

    ``attach`` gives it the sending client (``transport.make_client`` does), so the token request
    goes out with the same TLS settings and client certificate. ``now`` is a monotonic clock.
    """

    def __init__(self, settings: AuthSettings, *, now: Callable[[], float] = time.monotonic) -> None:
        assert settings.token_url and settings.client_id and settings.client_secret is not None
        self._settings = settings
        self._now = now
        self._client: httpx.AsyncClient | None = None
        self._lock: asyncio.Lock | None = None
        self._token: str | None = None
        self._expires_at: float | None = None
        self.fetches = 0  # token requests made (successful or not)

    def attach(self, client: httpx.AsyncClient) -> None:
        self._client = client

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("OAuth2ClientCredentials works with httpx.AsyncClient only")

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self._token == token:
            self._token = None  # the receiver refused it: the next attempt fetches a new one

    async def token(self) -> str:
        """The cached token while it is valid, else a fresh one (one fetch at a time)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._token is not None and (self._expires_at is None or self._now() < self._expires_at):
                return self._token
            self._token = None
            token, lifetime = await self._fetch()
            self._token = token
            self._expires_at = None if lifetime is None else self._now() + lifetime
            return token

    def _token_request(self, client: httpx.AsyncClient) -> httpx.Request:
        from authlib.oauth2.auth import ClientAuth
        from authlib.oauth2.rfc6749.parameters import prepare_token_request

        s = self._settings
        extra = {"scope": s.scope} if s.scope else {}
        body = prepare_token_request("client_credentials", **extra)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        method = "client_secret_post" if s.client_auth == "body" else "client_secret_basic"
        url, headers, body = ClientAuth(s.client_id, s.client_secret, method).prepare(
            "POST", s.token_url, headers, body
        )
        return client.build_request("POST", url, headers=headers, content=body.encode("utf-8"))

    async def _fetch(self) -> tuple[str, float | None]:
        from connect_hooks.delivery import classify

        if self._client is None:
            raise RuntimeError("OAuth2ClientCredentials is not attached to a client (transport.make_client does it)")
        where = self._settings.token_url
        self.fetches += 1
        request = self._token_request(self._client)
        try:
            response = await self._client.send(request, auth=None, follow_redirects=False)
        except (httpx.TransportError, ssl.SSLError, OSError) as exc:
            fault, detail = classify(exc, 0)
            raise TokenFetchFailed(fault, f"no OAuth token: the token request to {where} failed: {detail}") from None
        try:
            document: Any = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            document = {}
        if not 200 <= response.status_code < 300:
            error = document.get("error")
            said = f" ({error})" if isinstance(error, str) and error.isprintable() and len(error) <= 80 else ""
            raise TokenFetchFailed(
                Fault.CONNECTION_ERROR,
                f"no OAuth token: the token endpoint {where} answered {response.status_code}{said}",
            )
        token = document.get("access_token")
        if not isinstance(token, str) or not token:
            raise TokenFetchFailed(
                Fault.CONNECTION_ERROR,
                f"no OAuth token: the token endpoint {where} answered {response.status_code} without an access_token",
            )
        lifetime = document.get("expires_in")
        try:
            seconds = float(lifetime) if lifetime is not None and not isinstance(lifetime, bool) else None
        except (TypeError, ValueError):
            seconds = None
        return token, seconds if seconds is not None and seconds >= 0 else None


def build(
    settings: AuthSettings,
    *,
    now: Callable[[], float] = time.monotonic,
    clock: Callable[[], dt.datetime] = utcnow,
) -> httpx.Auth:
    """The ``httpx.Auth`` for ``settings``; ``now`` times OAuth tokens, ``clock`` stamps SigV4."""
    if settings.type == "basic":
        assert settings.user is not None and settings.password is not None
        return httpx.BasicAuth(settings.user, settings.password)
    if settings.type == "digest":
        assert settings.user is not None and settings.password is not None
        return httpx.DigestAuth(settings.user, settings.password)
    if settings.type == "api-key":
        assert settings.api_key_header and settings.api_key is not None
        return ApiKeyAuth(settings.api_key_header, settings.api_key)
    if settings.type == "oauth2":
        return OAuth2ClientCredentials(settings, now=now)
    if settings.type == "aws-sigv4":
        return AwsSigV4Auth(settings, clock=clock)
    raise BadInput(f"unknown auth type {settings.type!r}: use one of {', '.join(AUTH_TYPES)}")
