"""The forward relay of ``listen --forward-to URL``: pass a delivery on to the user's app, and its answer back."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connect_hooks.logfile import body_fields
from connect_hooks.policy import Fault
from connect_hooks.redaction import redact_mapping, redact_url

if TYPE_CHECKING:
    import httpx

#: Seconds the app gets to answer: under Webex Connect's 10 s, so the sender hears the 502 in time.
DEFAULT_TIMEOUT = 9.0
#: How much of the app's answer body is passed back (the rest is dropped with the connection): an app
#: streaming an endless body costs this much, no more. Webex Connect only reads the status.
ANSWER_LIMIT = 1024 * 1024
#: Headers that describe one connection, not the message (RFC 9110 7.6.1), plus those httpx sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "expect",  # 100-continue was the sender's business with us; the body is all here
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
#: Set by the server that answers the sender, not passed back from the app.
NOT_PASSED_BACK = HOP_BY_HOP | {"date", "server"}

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Hop:
    """The forward hop: where the request went (its password redacted) and what the app answered (or why not)."""

    url: str
    status: int | None  # None: no answer (unreachable, or too slow)
    headers: Headers
    body: bytes
    elapsed_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": redact_url(self.url),
            "status": self.status,
            "error": self.error,
            "elapsed_ms": round(self.elapsed_ms, 1),
            "headers": redact_mapping(dict(self.headers)),  # the app's Set-Cookie is a credential too
            **body_fields(self.body),
        }


def forwarded_headers(headers: Headers) -> Headers:
    """The request headers that go on to the app: all but hop-by-hop ones and Host."""
    connection = {h.strip().lower() for name, value in headers if name == "connection" for h in value.split(",")}
    return tuple((name, value) for name, value in headers if name not in HOP_BY_HOP and name not in connection)


class Relay:
    """Forward to ``url`` within ``timeout`` seconds; ``client`` is injectable (tests use a MockTransport)."""

    def __init__(
        self,
        url: str,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
        *,
        name: str = "the app",  # what the errors call it (the inspector replays to "the receiver" too)
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._client = client
        self.name = name

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            from connect_hooks.client.transport import make_client

            self._client = make_client()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def forward(self, headers: Headers, body: bytes, *, url: str | None = None) -> Hop:
        """POST ``body`` with ``headers`` to ``url`` (default: the relay's); never raises for the app's faults.

        Timed and classified by the senders' own attempt function, with the relay's answer limit.
        """
        from connect_hooks.client.attempt import attempt_once

        url = url or self.url
        started = time.monotonic()

        def hop(status: int | None, answer: Headers = (), content: bytes = b"", error: str | None = None) -> Hop:
            # the hop is a record (logs, --json, reasons): a password in the URL stays out of it
            return Hop(redact_url(url), status, answer, content, (time.monotonic() - started) * 1000, error)

        try:
            request = self._request(url, headers, body)
        except ValueError as exc:  # httpx refused a header or the URL
            return hop(None, error=f"cannot reach {self.name} ({str(exc) or type(exc).__name__})")
        exchange = await attempt_once(self.client, request, self.timeout, limit=ANSWER_LIMIT)
        if exchange.fault is Fault.TIMEOUT:
            return hop(None, error=f"{self.name} did not answer within {self.timeout:g} s")
        if exchange.fault is not None or exchange.headers is None:
            detail = (exchange.error or "no answer").removeprefix("cannot connect: ")
            return hop(None, error=f"cannot reach {self.name} ({detail})")
        return hop(exchange.status, passed_back(exchange.headers.raw), exchange.body)

    def _request(self, url: str, headers: Headers, body: bytes) -> httpx.Request:
        """The request to the app: header values go out as the bytes received (latin-1 both ways: obs-text too)."""
        sent = forwarded_headers(headers)
        names = {name for name, _ in sent}
        raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in sent]
        request = self.client.build_request("POST", url, content=body, headers=raw)
        for name in ("accept", "accept-encoding", "connection", "user-agent"):  # httpx's defaults
            if name not in names and name in request.headers:
                del request.headers[name]
        return request


def passed_back(raw: list[tuple[bytes, bytes]]) -> Headers:
    """The app's answer headers that go back to the sender: not hop-by-hop, nor named in its Connection header."""
    answer = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in raw]
    named = {h.strip().lower() for name, value in answer if name == "connection" for h in value.split(",")}
    return tuple((name, value) for name, value in answer if name not in NOT_PASSED_BACK and name not in named)
