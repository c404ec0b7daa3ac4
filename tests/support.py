"""Shared helpers: running coroutines, free loopback ports."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def free_port() -> int:
    """A port the OS just handed out on 127.0.0.1 (for subprocesses that need a number up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
