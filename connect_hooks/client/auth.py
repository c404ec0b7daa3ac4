"""Authorization for the sender: frozen settings in, an ``httpx.Auth`` out. The engine never sees it."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from connect_hooks.client.credentials import (
    AUTH_TYPES,
    CLIENT_AUTH_METHODS,
    ENV_API_KEY,
    ENV_AWS_ACCESS_KEY,
    ENV_AWS_SECRET_KEY,
    ENV_AWS_SESSION_TOKEN,
    ENV_CERT_PASSWORD,
    ENV_CLIENT_SECRET,
    ENV_PASSWORD,
    AuthSettings,
    AuthSpec,
    read_credential_file,
    resolve,
    resolve_client_cert,
    wrong_credentials,
)
from connect_hooks.errors import BadInput
from connect_hooks.policy import AttemptFault, Fault
from connect_hooks.redaction import redact_url

SIGV4_STAMP = "%Y%m%dT%H%M%SZ"

__all__ = [
    "AUTH_TYPES",
    "CLIENT_AUTH_METHODS",
    "ENV_API_KEY",
    "ENV_AWS_ACCESS_KEY",
    "ENV_AWS_SECRET_KEY",
    "ENV_AWS_SESSION_TOKEN",
    "ENV_CERT_PASSWORD",
    "ENV_CLIENT_SECRET",
    "ENV_PASSWORD",
    "ApiKeyAuth",
    "AuthSettings",
    "AuthSpec",
    "AwsSigV4Auth",
    "OAuth2ClientCredentials",
    "TokenFetchFailed",
    "build",
    "read_credential_file",
    "resolve",
    "resolve_client_cert",
    "sigv4_headers",
    "wrong_credentials",
]

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

    @property
    def needs_tls(self) -> bool:
        """Whether the token request goes over https (so the client must keep its TLS settings)."""
        return str(self._settings.token_url).lower().startswith("https://")

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
        from connect_hooks.client.attempt import classify

        if self._client is None:
            raise RuntimeError("OAuth2ClientCredentials is not attached to a client (transport.make_client does it)")
        where = redact_url(str(self._settings.token_url))  # quoted in errors: never a password
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
