"""Shared helpers: running coroutines, ``connect-hooks`` subprocesses and where they listen."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class JumpingLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock a test moves forward: timers due by then fire on its next turn.

    Sender and receiver share the loop in-process, so a receiver that stalls can make the sender's
    whole-attempt deadline (``asyncio.timeout``) pass at once, after the request has arrived: the
    sender times out every time, without waiting for it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ahead = 0.0

    def time(self) -> float:
        return super().time() + self.ahead


def run_jumping(coro: Coroutine[Any, Any, T]) -> T:
    """``run`` on a ``JumpingLoop``."""
    with asyncio.Runner(loop_factory=JumpingLoop) as runner:
        return runner.run(coro)


async def stall_past_deadlines(seconds: float) -> None:
    """A receiver's delay (its injected ``sleep``) under ``run_jumping``: ``seconds`` pass at once on the
    loop's clock, and the answer never comes (the stall ends when the sender hangs up or the receiver stops).

    ``seconds`` must exceed the sender's deadline, as a delay meant to trip it does.
    """
    loop = asyncio.get_running_loop()
    assert isinstance(loop, JumpingLoop), "stall_past_deadlines needs run_jumping"
    loop.ahead += seconds
    await asyncio.Event().wait()


def no_dns_under_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names under ``.invalid`` do not resolve, without asking a real resolver; others resolve as usual."""
    real = socket.getaddrinfo

    def getaddrinfo(host: bytes | str | None, port: bytes | str | int | None, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name.rstrip(".").endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


LISTENING = re.compile(r"listening on (https?://[^\s:]+:(\d+))")


def stderr_line(process: subprocess.Popen[Any]) -> str:
    """One line of the child's stderr, read byte by byte straight from the pipe.

    Nothing past the newline is read, so a later ``communicate()`` still gets the rest.
    """
    assert process.stderr is not None
    fd = process.stderr.fileno()
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        data += byte
    return data.decode()


def listening_on(process: subprocess.Popen[Any], seconds: float = 20.0) -> tuple[str, int, list[str]]:
    """Read ``listen``'s stderr up to its ``listening on URL`` line: (url, port, the lines read).

    Started with ``--port 0``, the system picked the port and only this line tells which. When it is
    printed, the server accepts connections. A child silent for ``seconds`` is killed, so this fails
    instead of hanging.
    """
    lines: list[str] = []
    watchdog = threading.Timer(seconds, process.kill)
    watchdog.start()
    try:
        while True:
            line = stderr_line(process)
            if not line:
                raise AssertionError(f"listen never said where it listens; stderr: {''.join(lines)!r}")
            lines.append(line)
            found = LISTENING.search(line)
            if found:
                return found.group(1), int(found.group(2)), lines
    finally:
        watchdog.cancel()


def _default_sigint() -> None:
    # A test run started in the background inherits SIGINT ignored; the child must see Ctrl-C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextmanager
def connect_hooks_process(*args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m connect_hooks ARGS`` with pipes, that reacts to SIGINT; killed and reaped on exit."""
    with subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_default_sigint,
    ) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
