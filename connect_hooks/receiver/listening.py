"""``listen``'s lifecycle in the core: bind, serve, fan records out, log, stop on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from connect_hooks.errors import BadInput
from connect_hooks.logfile import NdjsonLog, discard_output
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings
from connect_hooks.receiver.auth import RequiredAuth
from connect_hooks.receiver.inspector import DEFAULT_PORT as DEFAULT_INSPECT_PORT
from connect_hooks.receiver.inspector import Inspector
from connect_hooks.receiver.relay import DEFAULT_TIMEOUT as DEFAULT_FORWARD_TIMEOUT
from connect_hooks.receiver.relay import Hop, Relay
from connect_hooks.receiver.server import Serving, bind, serving
from connect_hooks.receiver.tls import LocalTLS, MutualTLS
from connect_hooks.redaction import redact_url
from connect_hooks.urls import is_loopback

if TYPE_CHECKING:
    import httpx

    from connect_hooks.client.clientcert import ClientCert
    from connect_hooks.client.credentials import AuthSettings
    from connect_hooks.receiver.auth import Verifier

#: At most this many seconds between a request and its line on the output.
FLUSH_EVERY = 0.05
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class ListenSettings:
    """Where and how to listen: the command's options, parsed."""

    receiver: ReceiverSettings = field(default_factory=ReceiverSettings)
    host: str = "127.0.0.1"
    port: int = 8787  # 0: the OS picks one (read it back from Started.where)
    tls: bool = False
    mutual: MutualTLS | None = None  # with tls: require client certificates (listen --require-client-cert)
    log_path: str | None = None
    forward_to: str | None = None  # relay every POST that passes the signature check to this URL
    forward_timeout: float = DEFAULT_FORWARD_TIMEOUT
    inspect: bool = False  # serve the inspector too, on host:inspect_port
    inspect_port: int = DEFAULT_INSPECT_PORT
    allow_hosts: tuple[str, ...] = ()  # host names the inspector answers besides localhost (listen --allow-host)
    ready_file: str | None = None  # once serving, a JSON of where (url, port, ...); removed on stop
    # What receiver.auth was made from: the inspector's replays to the receiver present these credentials.
    required_auth: RequiredAuth | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Started:
    """What the listener holds once it serves: for the banner."""

    where: Serving
    settings: ListenSettings
    inspector: Serving | None
    tls: LocalTLS | None
    log_path: Path | None


@dataclass(frozen=True)
class Stopped:
    """How a listen ended."""

    requests: int
    reason: str  # "SIGINT", "SIGTERM", "stdout closed", or what the caller of stop() said


class ListenView(Protocol):
    """What the command renders: the banner once, then one line per request."""

    def started(self, started: Started) -> None: ...

    def line(self, record: Received) -> str: ...


Observer = Callable[[Received], None]


class Output:
    """Lines written to a text stream in batches; a broken pipe calls ``on_closed`` once."""

    def __init__(self, stream: TextIO, on_closed: Callable[[], None], flush_every: float = FLUSH_EVERY) -> None:
        self.stream = stream
        self.on_closed = on_closed
        self.flush_every = flush_every
        self._pending: list[str] = []
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    def write(self, line: str) -> None:
        if self._closed:
            return
        self._pending.append(line)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.flush_every, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending or self._closed:
            return
        text = "\n".join(self._pending) + "\n"
        self._pending.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except BrokenPipeError:  # whoever read our output is gone (e.g. '| head'): stop, quietly
            self._closed = True
            discard_output(self.stream)  # later writes (and the interpreter's) go nowhere
            self.on_closed()


class Listener:
    """A receiver served until stopped; see the module docstring for its life."""

    def __init__(
        self,
        settings: ListenSettings,
        view: ListenView,
        *,
        out: TextIO,
        flush_every: float = FLUSH_EVERY,
    ) -> None:
        self.settings = settings
        self.view = view
        self.requests = 0
        self.output = Output(out, lambda: self.stop("stdout closed"), flush_every)
        self.observers: list[Observer] = [self._count]
        self.relay = Relay(settings.forward_to, settings.forward_timeout) if settings.forward_to else None
        forward = self.relay.forward if self.relay is not None else None
        self.app = ReceiverApp(settings.receiver, self._observe, forward=forward)
        self.inspector: Inspector | None = None
        if settings.inspect:
            self.inspector = Inspector(loopback_only=is_loopback(settings.host), allowed_hosts=settings.allow_hosts)
            self.observers.append(self.inspector.observe)
        self._sock: socket.socket | None = None
        self._inspector_sock: socket.socket | None = None
        self._log: NdjsonLog | None = None
        self._tls: LocalTLS | None = None
        self._stop: asyncio.Event | None = None
        self._stopped_by: str | None = None

    # -- resources -----------------------------------------------------------------------------

    def open(self) -> None:
        """Bind the socket, open the log, make the TLS files; on bad input, nothing stays open."""
        settings = self.settings
        try:
            self._sock = bind(settings.host, settings.port)
            if settings.inspect:
                self._inspector_sock = bind(settings.host, settings.inspect_port, port_option="--inspect-port")
            if settings.log_path is not None:
                self._log = NdjsonLog(settings.log_path)
                self.observers.append(self._write_log)
            if settings.tls:
                from connect_hooks.receiver.tls import make_local_tls

                self._tls = make_local_tls(mutual=settings.mutual)
        except BaseException:
            self.close()
            raise
        self.observers.append(self._write_line)

    def close(self) -> None:
        for sock in (self._sock, self._inspector_sock):
            if sock is not None:
                sock.close()
        self._sock = self._inspector_sock = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tls is not None:
            from connect_hooks.receiver.tls import remove_local_tls

            remove_local_tls(self._tls)
            self._tls = None

    def __enter__(self) -> Listener:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- records -------------------------------------------------------------------------------

    def _observe(self, record: Received) -> None:
        for observer in self.observers:
            observer(record)

    def _count(self, record: Received) -> None:
        self.requests += 1

    def _write_log(self, record: Received) -> None:
        if self._log is not None:
            self._log.write(log_record(record))

    def _write_line(self, record: Received) -> None:
        self.output.write(self.view.line(record))

    # -- serving -------------------------------------------------------------------------------

    def stop(self, reason: str) -> None:
        """End ``run()`` soon; the first reason given is the one reported."""
        if self._stopped_by is None:
            self._stopped_by = reason
        if self._stop is not None:
            self._stop.set()

    async def run(self, *, signals: bool = True) -> Stopped:
        """Serve until stopped (by ``stop()``, or SIGINT/SIGTERM when ``signals``); opens first if needed."""
        if self._sock is None:
            self.open()
        assert self._sock is not None
        self._stop = asyncio.Event()
        if self._stopped_by is not None:
            self._stop.set()
        loop = asyncio.get_running_loop()
        if signals:
            for sig in SIGNALS:
                loop.add_signal_handler(sig, self.stop, sig.name)
        try:
            async with contextlib.AsyncExitStack() as stack:
                where = await stack.enter_async_context(serving(self.app, self._sock, tls=self._tls))
                self._sock = None  # serving closes it
                inspecting = None
                if self.inspector is not None and self._inspector_sock is not None:
                    inspecting = await stack.enter_async_context(serving(self.inspector, self._inspector_sock))
                    self._inspector_sock = None
                    self._prepare_inspector(where, stack)
                log_path = self._log.path if self._log is not None else None
                self.view.started(Started(where, self.settings, inspecting, self._tls, log_path))
                ready = self.settings.ready_file
                if ready is not None:
                    write_ready_file(ready, ready_document(where, inspecting, self._tls))
                try:
                    await self._stop.wait()
                finally:  # gone before the servers close: a script that sees it can connect
                    if ready is not None:
                        with contextlib.suppress(OSError):
                            os.unlink(ready)
        finally:
            if signals:
                for sig in SIGNALS:
                    loop.remove_signal_handler(sig)
            self.output.flush()
            if self.relay is not None:
                await self.relay.aclose()
        return Stopped(self.requests, self._stopped_by or "stop")

    def _prepare_inspector(self, where: Serving, stack: contextlib.AsyncExitStack) -> None:
        """Tell the inspector what the page shows and how to replay a request (to the receiver or the app)."""
        assert self.inspector is not None
        from connect_hooks.client.transport import make_client

        tls = self._tls
        gate = self.settings.receiver.auth
        credentials = replay_credentials(self.settings.required_auth, where.url) if gate is not None else None
        client = make_client(
            ca_bundle=tls.ca_path if tls is not None else None,
            auth=build_auth(credentials) if credentials is not None else None,
            client_cert=issued_client_cert(tls),
        )
        itself = Relay(where.url, self.settings.forward_timeout, client=client, name="the receiver")
        stack.push_async_callback(itself.aclose)
        relay = self.relay

        async def replay(record: Received, to: str) -> dict[str, Any]:
            if to == "app" and relay is not None:
                hop = await relay.forward(record.headers, record.body)
            elif (why := cannot_replay(record, gate, credentials is not None, tls)) is not None:
                hop = Hop(where.url + record.path, None, (), b"", 0.0, f"not sent: {why}")  # it could only fail
            else:  # recorded credentials are redacted: a replay presents the receiver's own, afresh
                drop = gate.secret_headers | SIGNED_AFRESH if gate is not None else frozenset()
                headers = tuple((n, v) for n, v in record.headers if n not in drop)
                hop = await itself.forward(headers, record.body, url=where.url + record.path)
            return {"to": to, **hop.as_dict()}

        self.inspector.replayer = replay
        self.inspector.config = {
            "receiver": where.url,
            "forward_to": redact_url(self.settings.forward_to or "") or None,
            "verifies": self.settings.receiver.secret is not None,
        }


#: Headers of a recorded request that a replay's fresh credentials replace (AWS SigV4 signs with a new date).
SIGNED_AFRESH = frozenset({"x-amz-date", "x-amz-content-sha256"})


def cannot_replay(record: Received, gate: Verifier | None, credentials: bool, tls: LocalTLS | None) -> str | None:
    """Why a replay of ``record`` to the receiver would be refused whatever it sent; None when it can go."""
    if tls is not None and tls.client_ca_path is not None and tls.client is None:
        return "the receiver requires a client certificate signed by --client-ca, and the inspector holds none"
    if gate is None:
        return None
    if not credentials:
        return f"the receiver requires {gate.kind} auth, and the inspector was not given its credentials"
    if record.path == gate.token_path:
        return "a token request's body (it holds the client secret) is not kept"
    return None


def issued_client_cert(tls: LocalTLS | None) -> ClientCert | None:
    """The client certificate the local test CA issued (listen --require-client-cert), for the inspector's replays."""
    if tls is None or tls.client is None:
        return None
    from connect_hooks.client.clientcert import load_client_cert

    return load_client_cert(str(tls.client.pem_path))


def replay_credentials(required: RequiredAuth | None, url: str) -> AuthSettings | None:
    """What the sender presents to a receiver that requires ``required`` (served at ``url``); None: unknown."""
    from connect_hooks.client.credentials import AuthSettings
    from connect_hooks.receiver.auth import TOKEN_PATH

    if required is None:
        return None
    r = required
    if r.kind == "bearer":  # tokens from the receiver's own token endpoint, as any sender gets them
        return AuthSettings("oauth2", token_url=url + TOKEN_PATH, client_id=r.client_id, client_secret=r.client_secret)
    return AuthSettings(
        r.kind,
        user=r.user,
        password=r.password,
        api_key_header=r.api_key_header,
        api_key=r.api_key,
        aws_region=r.aws_region,
        aws_service=r.aws_service,
        aws_access_key_id=r.aws_access_key_id,
        aws_secret_access_key=r.aws_secret_access_key,
        aws_session_token=r.aws_session_token,
    )


def build_auth(credentials: AuthSettings) -> httpx.Auth:
    from connect_hooks.client.auth import build

    return build(credentials)


def ready_document(where: Serving, inspector: Serving | None, tls: LocalTLS | None) -> dict[str, object]:
    """``--ready-file``'s JSON: where the receiver listens (and the inspector, the CA to trust)."""
    document: dict[str, object] = {"url": where.url, "host": where.host, "port": where.port, "pid": os.getpid()}
    if inspector is not None:
        document["inspector"] = inspector.url + "/"
    if tls is not None:
        document["ca_bundle"] = str(tls.ca_path)
    return document


def write_ready_file(path: str, document: dict[str, object]) -> None:
    """Write ``document`` to ``path`` atomically: a reader sees no file or the whole JSON, never a part."""
    import json
    import tempfile

    target = Path(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise BadInput(f"cannot write --ready-file {path!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document) + "\n")
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise BadInput(f"cannot write --ready-file {path!r}: {exc.strerror or exc}") from None


def log_record(record: Received) -> dict[str, object]:
    """A request as a ``listen --log`` record (what ``replay`` reads)."""
    return {"type": "request", **record.as_dict()}


def listen(settings: ListenSettings, view: ListenView, *, out: TextIO) -> Stopped:
    """Open, serve until SIGINT/SIGTERM (or the output closes), close: ``connect-hooks listen``."""
    with Listener(settings, view, out=out) as listener:
        return asyncio.run(listener.run())
