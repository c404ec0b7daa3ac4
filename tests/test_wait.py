"""``connect-hooks wait URL``: HEAD until 200 (exit 0), or say what it last saw after --timeout (exit 1)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.client.ready import Waited, wait_ready
from tests.servers import ScriptedServer
from tests.support import run


def wait_command(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", "wait", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.e2e
def test_waits_through_503s_until_200() -> None:
    with ScriptedServer(head_status=503) as server:
        process = wait_command(server.url, "--timeout", "60")
        try:
            deadline = time.monotonic() + 30
            while len(server.requests) < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert process.poll() is None  # still waiting after three 503s
            server.head_status = 200
            out, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, err
    assert [r.method for r in server.requests] == ["HEAD"] * len(server.requests)
    assert len(server.requests) >= 4
    assert out == ""
    assert err.startswith(f"{server.url} is ready")


@pytest.mark.e2e
def test_gives_up_with_one_line_saying_what_it_last_saw() -> None:
    with ScriptedServer(head_status=503) as server:
        process = wait_command(server.url, "--timeout", "0.5")
        out, err = process.communicate(timeout=30)
    assert (process.returncode, out) == (1, "")
    assert err.count("\n") == 1
    assert err.startswith(f"error: {server.url} did not answer HEAD with 200 within 0.5 s")
    assert err.rstrip().endswith("last: 503 Service Unavailable")
    assert len(server.requests) >= 2  # it polled, not tried once


@pytest.mark.e2e
def test_connection_refused_is_what_it_saw() -> None:
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        process = wait_command(url, "--timeout", "0.3")
        out, err = process.communicate(timeout=30)
    assert (process.returncode, out) == (1, "")
    assert err.count("\n") == 1
    assert "last: cannot connect: connection refused" in err


def test_polls_with_growing_pauses_up_to_a_second_and_stops_at_the_timeout() -> None:
    """A fake clock: every HEAD takes no time, each pause is recorded and moves the clock."""
    clock = [0.0]
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += seconds

    heads: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        heads.append(request.method)
        return httpx.Response(502)

    async def go() -> Waited:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            return await wait_ready("http://app.test/", client=client, timeout=5.0, now=lambda: clock[0], sleep=sleep)

    waited = run(go())
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, pytest.approx(0.45)]  # 5 s in all
    assert heads == ["HEAD"] * (len(pauses) + 1)  # one HEAD before each pause, and one at the deadline
    assert (waited.ready, waited.attempts, waited.last) == (False, 10, "502 Bad Gateway")


def test_the_last_try_gets_time_to_answer_and_its_answer_is_reported() -> None:
    """The pauses use up the whole timeout (a fake clock), so the last HEAD starts at the deadline:
    it still gets time for its answer (10 ms here), which is what the message reports."""
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    async def answer(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)
        return httpx.Response(503)

    async def go() -> Waited:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            return await wait_ready("http://app.test/", client=client, timeout=0.5, now=lambda: clock[0], sleep=sleep)

    waited = run(go())
    assert (waited.ready, waited.last) == (False, "503 Service Unavailable")


def test_a_redirect_is_named_as_one() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(301, headers={"location": "https://app.test/hooks/"})

    async def go() -> Waited:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            return await wait_ready("http://app.test/hooks", client=client, timeout=0.01, now=time.monotonic)

    waited = run(go())
    assert waited.last.startswith("301 Moved Permanently (redirect to https://app.test/hooks/")


@pytest.mark.parametrize(
    "args",
    [
        ["ftp://example.test/"],
        ["example.test"],
        ["http://127.0.0.1:9/", "--timeout", "nan"],
        ["http://127.0.0.1:9/", "--timeout", "-1"],
        ["http://127.0.0.1:9/", "--timeout", "0"],
        [],
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["wait", *args])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
