"""``listen``'s lifecycle in-process: serve on port 0, fan records out, log, stop on a signal or a closed pipe."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from connect_hooks import sign
from connect_hooks.errors import BadInput
from connect_hooks.receiver.app import Received, ReceiverSettings
from connect_hooks.receiver.listening import Listener, ListenSettings, Started, Stopped
from connect_hooks.receiver.server import bind, serving
from tests.support import run

pytestmark = pytest.mark.e2e

SECRET = "listening-hub-secret"
BODY = b'{"deliveryInfoNotification":{"deliveryInfo":{"deliveryChannel":"SMS","deliveryStatus":"Delivered"}}}'
T = TypeVar("T")


class Recorder:
    """A view that keeps the banner's facts and renders a line as 'METHOD STATUS'."""

    def __init__(self) -> None:
        self.starts: list[Started] = []
        self.up = asyncio.Event()

    def line(self, record: Received) -> str:
        return f"{record.method} {record.status}"

    def started(self, started: Started) -> None:
        self.starts.append(started)
        self.up.set()


class CountingStream(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def serve(
    listener: Listener, view: Recorder, story: Callable[[str], Awaitable[T]], *, signals: bool = False
) -> tuple[T, Stopped]:
    async def scenario() -> tuple[T, Stopped]:
        task = asyncio.create_task(listener.run(signals=signals))
        await asyncio.wait_for(view.up.wait(), 20)
        try:
            result = await story(view.starts[0].where.url)
        finally:
            if not signals:
                listener.stop("the test")
        return result, await asyncio.wait_for(task, 20)

    return run(scenario())


def test_serves_on_port_0_logs_every_request_and_sigterm_ends_it(tmp_path: Path) -> None:
    log = tmp_path / "listen.ndjson"
    settings = ListenSettings(receiver=ReceiverSettings(secret=SECRET), port=0, log_path=str(log))
    view, out = Recorder(), CountingStream()

    async def story(url: str) -> list[int]:
        async with httpx.AsyncClient(trust_env=False) as client:
            statuses = [(await client.head(url)).status_code]
            headers = {"x-hub-signature": sign(BODY, SECRET), "x-wx-gtrid": "g-1"}
            statuses.append((await client.post(url + "/hooks", content=BODY, headers=headers)).status_code)
            statuses.append((await client.post(url + "/hooks", content=BODY)).status_code)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler the listener installed takes it
        return statuses

    with Listener(settings, view, out=out, flush_every=30) as listener:
        statuses, stopped = serve(listener, view, story, signals=True)
    assert statuses == [200, 200, 401]
    assert stopped == Stopped(3, "SIGTERM")
    (started,) = view.starts
    assert started.where.port != 0 and started.log_path == log
    # Batched: with a 30 s flush interval, the three lines were written once, when it stopped.
    assert out.getvalue() == "HEAD 200\nPOST 200\nPOST 401\n"
    assert out.writes == 1
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["type"], r["method"], r["status"], r["signature"]) for r in records] == [
        ("request", "HEAD", 200, "not-read"),
        ("request", "POST", 200, "valid"),
        ("request", "POST", 401, "missing"),
    ]
    assert records[1]["body"] == BODY.decode() and records[1]["headers"]["x-wx-gtrid"] == "g-1"
    assert list(records[0])[:2] == ["time", "type"]
    assert SECRET not in log.read_text()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers removed on the way out


def test_a_lone_surrogate_in_the_json_is_shown_escaped_not_lost(tmp_path: Path) -> None:
    """JSON may escape a lone surrogate, which no UTF-8 line or log can carry: the record still lands."""
    from connect_hooks.cli.liveview import received_ansi

    class LiveRecorder(Recorder):
        def line(self, record: Received) -> str:
            return received_ansi(record, color=False)

    log = tmp_path / "listen.ndjson"
    view, out = LiveRecorder(), io.StringIO()
    body = b'{"channel":"\\ud800x","event":"\\udfff"}'

    async def story(url: str) -> int:
        async with httpx.AsyncClient(trust_env=False) as client:
            return (await client.post(url + "/hooks", content=body)).status_code

    with Listener(ListenSettings(port=0, log_path=str(log)), view, out=out) as listener:
        status, stopped = serve(listener, view, story)
    assert status == 200 and stopped.requests == 1
    (line,) = out.getvalue().encode("utf-8").decode().splitlines()
    assert "inbound \\ud800x \\udfff" in line and line.endswith("→ 200")
    (record,) = [json.loads(text) for text in log.read_text(encoding="utf-8").splitlines()]
    assert (record["channel"], record["what"], record["body"]) == ("\\ud800x", "\\udfff", body.decode())


def test_a_closed_output_stops_it_quietly() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    view = Recorder()
    with (
        open(write_end, "w", encoding="utf-8") as out,
        Listener(ListenSettings(port=0), view, out=out, flush_every=0.01) as listener,
    ):

        async def story(url: str) -> int:
            async with httpx.AsyncClient(trust_env=False) as client:
                status = (await client.head(url)).status_code
            await asyncio.sleep(5)  # the flush finds the pipe closed and stops the listener first
            return status

        async def scenario() -> Stopped:
            task = asyncio.create_task(listener.run(signals=False))
            await asyncio.wait_for(view.up.wait(), 20)
            waiting = asyncio.create_task(story(view.starts[0].where.url))
            stopped = await asyncio.wait_for(task, 20)
            assert not waiting.done()
            waiting.cancel()
            return stopped

        assert run(scenario()) == Stopped(1, "stdout closed")


def test_bad_input_at_open_leaves_nothing_open(tmp_path: Path) -> None:
    settings = ListenSettings(port=0, log_path=str(tmp_path / "no-such-dir" / "log.ndjson"))
    listener = Listener(settings, Recorder(), out=io.StringIO())
    with pytest.raises(BadInput, match="cannot write log file"):
        listener.open()
    assert listener._sock is None


def test_an_inspector_port_in_use_names_its_option_and_releases_the_receiver_port() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        listener = Listener(ListenSettings(port=0, inspect=True, inspect_port=port), Recorder(), out=io.StringIO())
        with pytest.raises(BadInput) as caught:
            listener.open()
    assert str(caught.value) == (
        f"port {port} on 127.0.0.1 is already in use: pick another with --inspect-port, or stop what is using it"
    )
    assert listener._sock is None and listener._inspector_sock is None


def test_with_tls_the_inspector_replays_to_the_receiver_over_https_it_trusts() -> None:
    view = Recorder()
    settings = ListenSettings(port=0, tls=True, inspect=True, inspect_port=0)

    async def story(url: str) -> tuple[int, dict[str, object], list[str]]:
        started = view.starts[0]
        assert started.tls is not None and started.inspector is not None and url.startswith("https://")
        async with httpx.AsyncClient(
            trust_env=False, verify=ssl.create_default_context(cafile=started.tls.ca_path)
        ) as client:
            status = (await client.post(url + "/hooks", content=BODY, headers={"x-wx-gtrid": "g-tls"})).status_code
        async with httpx.AsyncClient(trust_env=False) as client:
            replayed = await client.post(
                started.inspector.url + "/requests/1/replay",
                json={"to": "receiver"},
                headers={"x-connect-hooks-inspector": "1"},
            )
            lines = (await client.get(started.inspector.url + "/requests.ndjson")).text.splitlines()
        return status, replayed.json(), lines

    with Listener(settings, view, out=io.StringIO()) as listener:
        (status, replayed, lines), stopped = serve(listener, view, story)
    assert status == 200
    assert (replayed["status"], replayed["error"]) == (200, None)
    assert str(replayed["url"]).startswith("https://127.0.0.1:")
    assert [(json.loads(line)["gtrid"], json.loads(line)["attempt"]) for line in lines] == [("g-tls", 1), ("g-tls", 2)]
    assert stopped == Stopped(2, "the test")


def test_widened_with_host_0000_its_inspector_still_refuses_a_rebound_name() -> None:
    # The listener is configured as with --host 0.0.0.0 but never opened: its inspector is served here on 127.0.0.1.
    settings = ListenSettings(host="0.0.0.0", port=0, inspect=True, inspect_port=0, allow_hosts=("MyBox.lan",))
    inspector = Listener(settings, Recorder(), out=io.StringIO()).inspector
    assert inspector is not None

    async def story() -> list[int]:
        async with serving(inspector, bind("127.0.0.1", 0), log_level="critical") as where:
            hosts = ["evil.example", f"evil.example:{where.port}", f"127.0.0.1:{where.port}", "mybox.lan"]
            async with httpx.AsyncClient(trust_env=False) as client:
                return [(await client.get(where.url + "/", headers={"host": host})).status_code for host in hosts]

    assert run(story()) == [421, 421, 200, 200]
