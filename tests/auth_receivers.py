"""A receiver that demands authorization, written independently of connect_hooks.client.auth, for tests.

``AuthReceiver`` is a small ASGI app: it checks Basic, Digest (issuing the challenge and checking
the answer, RFC 7616 with MD5 and qop=auth), an API key header, a bearer token it issued itself
from ``POST /oauth/token`` (client credentials, client in the body or with Basic; tokens expire on
an injected clock), or an AWS SigV4 signature recomputed here with the standard library. ``serve``
runs any ASGI app with uvicorn on 127.0.0.1 (OS-assigned port) in a thread, optionally with TLS
that requires a client certificate.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    ok: bool
    body: bytes = b""


@dataclass
class AuthReceiver:
    kind: str  # basic | digest | api-key | bearer | aws-sigv4 | none
    user: str = "alice"
    password: str = "s3cret-pass"
    api_key_header: str = "x-api-key"
    api_key: str = "key-123"
    client_id: str = "the-client"
    client_secret: str = "the-client-secret"
    token_ttl: float = 3600
    token_status: int = 200  # what the token endpoint answers when the client is right
    clock: Callable[[], float] = time.monotonic
    delay_authorized: float = 0.0  # seconds to wait before answering a request that carries Authorization
    aws_key: str = "AKIDTEST"
    aws_secret: str = "aws-secret-key"
    aws_region: str = "eu-west-1"
    aws_service: str = "execute-api"
    seen: list[Seen] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    tokens: dict[str, float] = field(default_factory=dict)
    nonces: set[str] = field(default_factory=set)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["path"] == "/oauth/token":
            status, extra, payload = self._token(headers, body)
        else:
            if self.delay_authorized and "authorization" in headers:
                import asyncio

                await asyncio.sleep(self.delay_authorized)
            ok, challenge = self._verify(scope, headers, body)
            self.seen.append(Seen(scope["method"], scope["path"], headers, ok, body))
            status, extra, payload = (200, [], b"ok") if ok else (401, challenge, b"unauthorized")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(payload)).encode()), *extra],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    # -- token endpoint --------------------------------------------------------------------------

    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        import json

        form = dict(parse_qsl(body.decode()))
        self.token_requests.append(form)
        client = (form.get("client_id"), form.get("client_secret"))
        if headers.get("authorization", "").startswith("Basic "):
            user, _, password = base64.b64decode(headers["authorization"][6:]).decode().partition(":")
            client = (user, password)
        if form.get("grant_type") != "client_credentials" or client != (self.client_id, self.client_secret):
            return 401, [], json.dumps({"error": "invalid_client"}).encode()
        if self.token_status != 200:
            return self.token_status, [], b"{}"
        token = secrets.token_urlsafe(16)
        self.tokens[token] = self.clock() + self.token_ttl
        document = {"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl}
        return 200, [(b"content-type", b"application/json")], json.dumps(document).encode()

    # -- checks ----------------------------------------------------------------------------------

    def _verify(self, scope: Scope, headers: dict[str, str], body: bytes) -> tuple[bool, list[tuple[bytes, bytes]]]:
        given = headers.get("authorization", "")
        if self.kind == "none":
            return True, []
        if self.kind == "basic":
            expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return hmac.compare_digest(given, expected), [(b"www-authenticate", b'Basic realm="hooks"')]
        if self.kind == "api-key":
            return headers.get(self.api_key_header) == self.api_key, []
        if self.kind == "bearer":
            token = given.removeprefix("Bearer ")
            expiry = self.tokens.get(token)
            return expiry is not None and self.clock() < expiry, [
                (b"www-authenticate", b'Bearer error="invalid_token"')
            ]
        if self.kind == "digest":
            return self._digest(scope, given)
        if self.kind == "aws-sigv4":
            return self._sigv4(scope, headers, body), []
        raise ValueError(self.kind)

    def _digest(self, scope: Scope, given: str) -> tuple[bool, list[tuple[bytes, bytes]]]:
        nonce = secrets.token_hex(8)
        self.nonces.add(nonce)
        challenge = [(b"www-authenticate", f'Digest realm="hooks", qop="auth", nonce="{nonce}"'.encode())]
        if not given.startswith("Digest "):
            return False, challenge
        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', given[7:]))
        if fields.get("nonce") not in self.nonces or fields.get("username") != self.user:
            return False, challenge

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5(f"{self.user}:hooks:{self.password}")
        ha2 = md5(f"{scope['method']}:{fields.get('uri')}")
        expected = md5(f"{ha1}:{fields['nonce']}:{fields.get('nc')}:{fields.get('cnonce')}:auth:{ha2}")
        return hmac.compare_digest(expected, fields.get("response", "")), challenge

    def _sigv4(self, scope: Scope, headers: dict[str, str], body: bytes) -> bool:
        match = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            headers.get("authorization", ""),
        )
        if match is None:
            return False
        key, day, region, service, signed, signature = match.groups()
        stamp = headers.get("x-amz-date", "")
        try:
            when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        except ValueError:
            return False
        if abs((dt.datetime.now(dt.UTC) - when).total_seconds()) > 300 or not stamp.startswith(day):
            return False
        if (key, region, service) != (self.aws_key, self.aws_region, self.aws_service):
            return False
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return False
        query = "&".join(sorted(scope["query_string"].decode().split("&"))) if scope["query_string"] else ""
        canonical = "\n".join(
            [
                scope["method"],
                scope["raw_path"].decode() if scope.get("raw_path") else scope["path"],
                query,
                "".join(f"{n}:{headers.get(n, '').strip()}\n" for n in names),
                signed,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope_text = f"{day}/{region}/{service}/aws4_request"
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope_text}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
        k = f"AWS4{self.aws_secret}".encode()
        for part in (day, region, service, "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        return hmac.compare_digest(hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest(), signature)


@contextmanager
def serve(app: Any, *, tls: dict[str, Any] | None = None) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 (OS-assigned port) in a thread; yields the port."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # proto TCP: asyncio turns Nagle off
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http="h11",
        lifespan="off",
        log_level="critical",
        access_log=False,
        timeout_graceful_shutdown=1,
        **(tls or {}),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test receiver did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def mtls_options(server_cert_pem: str, server_key_pem: str, client_ca_pem: str) -> dict[str, Any]:
    """uvicorn options for TLS that refuses a handshake without a client certificate from that CA."""
    return {
        "ssl_certfile": server_cert_pem,
        "ssl_keyfile": server_key_pem,
        "ssl_ca_certs": client_ca_pem,
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }
