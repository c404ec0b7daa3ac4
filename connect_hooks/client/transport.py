"""The HTTP client every sender-side command uses: TLS settings, no redirects, no httpx timeouts."""

from __future__ import annotations

import ssl
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from connect_hooks.errors import BadInput
from connect_hooks.heap import settle_malloc

if TYPE_CHECKING:
    from connect_hooks.client.clientcert import ClientCert


def ssl_context(
    *, ca_bundle: str | Path | None = None, insecure: bool = False, client_cert: ClientCert | None = None
) -> ssl.SSLContext:
    """A TLS context that verifies like Webex Connect would, optionally trusting a local CA too,
    and presenting ``client_cert`` (mTLS) when the server asks for one."""
    context = ssl.create_default_context()
    if client_cert is not None:
        client_cert.load_into(context)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise BadInput(
                f"cannot use --ca-bundle {str(ca_bundle)!r}: {exc}; give a PEM file of CA certificates"
            ) from None
    return context


#: Clients of a command that takes --client-cert and was given none: a receiver that drops their
#: TLS connection unanswered most likely wants one (``attempt.classify`` says so).
_WITHOUT_CLIENT_CERT: weakref.WeakSet[httpx.AsyncClient] = weakref.WeakSet()


def offers_client_cert_option(client: httpx.AsyncClient) -> bool:
    """Whether ``client`` belongs to a command that could have been given --client-cert, and was not."""
    return client in _WITHOUT_CLIENT_CERT


def make_client(
    *,
    ca_bundle: str | Path | None = None,
    insecure: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    auth: httpx.Auth | None = None,
    client_cert: ClientCert | None = None,
    tls: bool = True,
    cert_option: bool = False,
) -> httpx.AsyncClient:
    """An AsyncClient that never follows redirects and leaves deadlines to the caller.

    ``auth`` (from ``auth.build``) applies to every request, the HEAD of ``check`` included; an
    auth that fetches tokens does so through this same client. ``client_cert`` is presented on
    every TLS handshake; ``cert_option``: the command takes --client-cert (errors may point to it).

    ``tls=False`` (the webhook URL is plain http) skips loading CA certificates no request will
    use, unless some request still needs TLS: a client certificate is set, or the OAuth token
    request (made through this same client) goes to an https token URL.
    """
    oauth = None
    if auth is not None:
        from connect_hooks.client.auth import OAuth2ClientCredentials

        oauth = auth if isinstance(auth, OAuth2ClientCredentials) else None
    tls = tls or client_cert is not None or (oauth is not None and oauth.needs_tls)
    settle_malloc()  # each answer is read into a 256 KiB buffer: from the heap, not a fresh mapping
    client = httpx.AsyncClient(
        verify=ssl_context(ca_bundle=ca_bundle, insecure=insecure, client_cert=client_cert) if tls else False,
        follow_redirects=False,
        timeout=httpx.Timeout(None),
        transport=transport,
        trust_env=False,
        auth=auth,
    )
    if oauth is not None:
        oauth.attach(client)
    if cert_option and client_cert is None:
        _WITHOUT_CLIENT_CERT.add(client)
    return client
