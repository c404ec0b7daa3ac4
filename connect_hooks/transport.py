"""The HTTP client every sender-side command uses: TLS settings, no redirects, no httpx timeouts.

Deadlines are enforced by the callers (a whole-attempt deadline), so httpx's per-phase timeouts
are switched off here.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from connect_hooks.errors import BadInput


def ssl_context(*, ca_bundle: str | Path | None = None, insecure: bool = False) -> ssl.SSLContext:
    """A TLS context that verifies like Webex Connect would, optionally trusting a local CA too."""
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise BadInput(
                f"cannot use --ca-bundle {str(ca_bundle)!r}: {exc}; give a PEM file of CA certificates"
            ) from None
    return context


def make_client(
    *,
    ca_bundle: str | Path | None = None,
    insecure: bool = False,
    transport: httpx.AsyncBaseTransport | None = None,
    tls: bool = True,
) -> httpx.AsyncClient:
    """An AsyncClient that never follows redirects and leaves deadlines to the caller.

    ``tls=False`` (the URL is plain http) skips loading CA certificates no request will use.
    """
    return httpx.AsyncClient(
        verify=ssl_context(ca_bundle=ca_bundle, insecure=insecure) if tls else False,
        follow_redirects=False,
        timeout=httpx.Timeout(None),
        transport=transport,
        trust_env=False,
    )
