"""An answer's body is read up to ``client.attempt.BODY_LIMIT`` and no further: a receiver that streams
an endless 200 body is delivered at once, its connection closed, instead of filling memory."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.client.attempt import BODY_LIMIT, attempt_once
from connect_hooks.receiver.relay import ANSWER_LIMIT, Hop, Relay
from tests.support import run

CHUNK = b"x" * 16384


@dataclass
class Endless:
    """A receiver on 127.0.0.1 (port 0) answering every POST 200 with a chunked body that never ends."""

    url: str = ""
    sent: int = 0  # body bytes written, over every connection
    closed: threading.Event = field(default_factory=threading.Event)  # a client went away mid-body


def _serve(sock: socket.socket, state: Endless, stop: threading.Event) -> None:
    with sock:
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                return
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")),
            0,
        )
        while len(body) < length:
            body += sock.recv(65536)
        try:
            sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while not stop.is_set():
                sock.sendall(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                state.sent += len(CHUNK)
                time.sleep(0.001)  # endless, but not a flood: the test stays cheap whatever the client does
        except OSError:
            state.closed.set()


@contextmanager
def endless_receiver() -> Iterator[Endless]:
    state = Endless()
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    state.url = f"http://127.0.0.1:{listener.getsockname()[1]}/hooks"

    def accept() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_serve, args=(sock, state, stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_an_endless_body_is_cut_at_the_limit_and_the_answer_counts() -> None:
    async def attempt(url: str) -> tuple[int | None, bytes]:
        async with httpx.AsyncClient() as client:
            exchange = await attempt_once(client, client.build_request("POST", url, content=b"{}"), timeout=20)
        return exchange.status, exchange.body

    with endless_receiver() as receiver:
        status, body = run(attempt(receiver.url))
        assert receiver.closed.wait(10)  # the connection was dropped, not drained
    assert status == 200  # without the limit: no answer before the deadline (a timeout), and GBs read
    assert len(body) == BODY_LIMIT  # a bounded prefix, no more
    assert body == b"x" * BODY_LIMIT  # the raw body, chunk framing removed


def test_send_delivers_to_a_receiver_whose_answer_never_ends() -> None:
    with endless_receiver() as receiver:
        result = CliRunner().invoke(
            main, ["send", "inbound/sms/mo", receiver.url, "--count", "3", "--fast", "--json", "--timeout", "20"]
        )
    assert result.exit_code == 0, result.output
    reports = json.loads(result.stdout)
    assert [(d["outcome"], [a["status"] for a in d["attempts"]]) for d in reports] == [("delivered", [200])] * 3


def test_the_relay_passes_back_a_bounded_prefix_of_an_app_whose_answer_never_ends() -> None:
    """listen --forward-to an app streaming an endless 200: the sender hears 200 and the first
    ANSWER_LIMIT bytes, the app's connection is dropped, and the relay does not grow without end."""

    async def forward(url: str) -> Hop:
        relay = Relay(url, timeout=20)
        try:
            return await relay.forward((("content-type", "application/json"),), b"{}")
        finally:
            await relay.aclose()

    with endless_receiver() as app:
        hop = run(forward(app.url))
        assert app.closed.wait(10)  # the app's connection was dropped, not drained
    assert (hop.status, hop.error) == (200, None)  # without the limit: a timeout after reading GBs
    assert hop.body == b"x" * ANSWER_LIMIT
