"""One HTTP attempt under a deadline, and what went wrong in words: the one attempt function every
sender (send, replay, demo, the plugin), conform and check time their requests with."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from dataclasses import dataclass

import httpx

from connect_hooks.client.transport import offers_client_cert_option
from connect_hooks.policy import AttemptFault, Fault


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from, outermost first (cycles cut)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def timed_out(timeout: float) -> str:
    """What a timed-out attempt says."""
    return f"no complete answer within {timeout:g} s"


#: What a receiver that wants a client certificate (mTLS) does to a sender without one, when it
#: is not an explicit alert: TLS 1.2 fails the handshake; TLS 1.3 drops the connection after it.
_DROPPED = (
    "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "broken pipe",
    "connection reset by peer",
    "ReadError",
    "Server disconnected",
)
WANTS_CERT = "the receiver wants a client certificate (mTLS): give --client-cert"


def classify(exc: BaseException, timeout: float, *, without_cert: bool = False) -> tuple[Fault, str]:
    """Map an exception from one attempt to a fault and a one-line description.

    ``without_cert``: a TLS connection of a command that takes --client-cert and was given none;
    the receiver dropping it unanswered is then said to most likely want one.
    """
    fault, text = _classify(exc, timeout)
    if "CERTIFICATE_REQUIRED" in text:  # TLS 1.3's alert 116: it says so itself
        return fault, f"TLS failed: {WANTS_CERT}"
    if without_cert and any(sign in text for sign in _DROPPED):
        return fault, f"{text.rstrip('.')}; {WANTS_CERT.replace('wants', 'most likely wants', 1)}"
    return fault, text


def _classify(exc: BaseException, timeout: float) -> tuple[Fault, str]:
    if isinstance(exc, AttemptFault):
        return exc.fault, exc.description
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Fault.TIMEOUT, timed_out(timeout)
    causes = _causes(exc)
    tls = next((c for c in causes if isinstance(c, ssl.SSLError)), None)
    if tls is not None:
        if isinstance(tls, ssl.SSLCertVerificationError):
            return Fault.TLS_ERROR, f"TLS failed: certificate verify failed ({tls.verify_message})"
        reason = getattr(tls, "reason", None) or str(tls)
        return Fault.TLS_ERROR, f"TLS failed: {reason}"
    detail = str(exc).strip() or type(exc).__name__
    os_error = next((c for c in causes if isinstance(c, OSError) and (c.strerror or c.errno)), None)
    if isinstance(os_error, socket.gaierror):
        detail = f"the host name does not resolve ({os_error.strerror})"
    elif os_error is not None:
        text = os.strerror(os_error.errno) if os_error.errno else str(os_error.strerror)
        detail = text[:1].lower() + text[1:]
    if isinstance(exc, httpx.RemoteProtocolError):
        return Fault.PROTOCOL_ERROR, f"bad HTTP answer: {detail}"
    if isinstance(exc, httpx.ConnectError):
        return Fault.CONNECTION_ERROR, f"cannot connect: {detail}"
    return Fault.CONNECTION_ERROR, f"connection failed: {detail}"


#: How much of an answer's body is read (raw bytes); the rest is dropped with the connection.
#: Webex Connect needs only the status: a receiver streaming an endless body costs this, no more.
BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Exchange:
    """What one request got: a status, headers and the first ``BODY_LIMIT`` bytes of the body (raw,
    as sent), or a fault with its description."""

    status: int | None
    fault: Fault | None = None
    error: str | None = None
    headers: httpx.Headers | None = None
    body: bytes = b""

    @property
    def result(self) -> int | Fault:
        if self.fault is not None:
            return self.fault
        return self.status if self.status is not None else Fault.PROTOCOL_ERROR


async def attempt_once(
    client: httpx.AsyncClient,
    request: httpx.Request,
    timeout: float,
    *,
    auth: httpx.Auth | None = None,
    limit: int = BODY_LIMIT,
) -> Exchange:
    """Send ``request`` once under a deadline for the whole exchange (connect to the body's last
    byte, or its ``limit``-th: a longer body is cut there and its connection closed).

    ``auth`` replaces the client's authorization for this request (``httpx.Auth()``: none).
    """
    try:
        async with asyncio.timeout(timeout):
            response = await client.send(
                request, stream=True, follow_redirects=False, auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth
            )
            try:
                body = await read_prefix(response, limit)
            finally:
                await response.aclose()  # unread bytes left: the connection is closed, not drained
    except (TimeoutError, httpx.TransportError, ssl.SSLError, OSError, AttemptFault) as exc:
        without_cert = request.url.scheme == "https" and offers_client_cert_option(client)
        fault, error = classify(exc, timeout, without_cert=without_cert)
        return Exchange(status=None, fault=fault, error=error)
    return Exchange(status=response.status_code, headers=response.headers, body=body)


async def read_prefix(response: httpx.Response, limit: int) -> bytes:
    """The body's first ``limit`` raw bytes (no decoding: a compressed body cannot blow up here)."""
    if response.is_stream_consumed:  # read already: a MockTransport answer, or an auth flow that read it
        return response.content[:limit]
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk[: limit - size])
        size += len(chunks[-1])
        if size >= limit:
            break
    return b"".join(chunks)
