"""How ``connect-hooks load`` runs Locust: the checked settings, the child's command line and environment.

Locust patches the standard library with gevent on import, so it runs in a child process (``python -m locust``
with the packaged locustfile); this module imports no Locust. The hub secret goes to the child in its
environment only, never on a command line, and never from the master to the workers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from connect_hooks.errors import BadInput, ExitCode

#: The environment the child reads (the locustfile's own options; Locust sends them to the workers).
TARGETS_ENV = "CONNECT_HOOKS_LOAD_TARGETS"  # a JSON list of sample and story names, globs expanded
SPEED_ENV = "CONNECT_HOOKS_LOAD_SPEED"
FINGERPRINT_ENV = "CONNECT_HOOKS_LOAD_FINGERPRINT"  # the master's secret's fingerprint ("" = unsigned)
SECRET_ENV = "CONNECT_HOOKS_SECRET"  # read by the process that sends; never sent to a worker

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
INSTALL = "pip install 'connect-hooks[load]'"
EXAMPLE = "e.g. connect-hooks load https://staging.example.test/hooks --headless --users 50 --run-time 1m"
_TIMESPAN = re.compile(r"(?:\d+h)?(?:\d+m)?(?:\d+s)?")


@dataclass(frozen=True)
class LoadSettings:
    """Everything ``connect-hooks load`` was given; Locust's options keep Locust's names and meanings."""

    url: str | None
    targets: tuple[str, ...] = ()  # sample and story names (or globs) as given
    secret: str | None = None
    speed: float = 1.0
    allow_http: bool = False  # plain http to a host that is not loopback (Webex Connect only calls https)
    users: int | None = None
    spawn_rate: float | None = None
    run_time: str | None = None
    headless: bool = False
    csv: str | None = None
    html: str | None = None
    master: bool = False
    master_bind_host: str | None = None
    master_bind_port: int | None = None
    expect_workers: int | None = None
    worker: bool = False
    master_host: str | None = None
    master_port: int | None = None


def check(settings: LoadSettings) -> tuple[str, ...]:
    """Every check before Locust starts; the targets' names, globs expanded. BadInput otherwise."""
    if find_spec("locust") is None:
        raise BadInput(f"connect-hooks load runs on Locust, which is not installed: {INSTALL}")
    if settings.master and settings.worker:
        raise BadInput("--master and --worker contradict each other: give one of them")
    if settings.worker:
        _check_worker(settings)
        return ()
    if settings.url is None:
        raise BadInput(f"load needs the URL to send to: {EXAMPLE}")
    from connect_hooks.urls import parse_send_url

    parse_send_url(settings.url, allow_http=settings.allow_http)
    _check_numbers(settings)
    if settings.run_time is not None and not (settings.run_time.isdigit() or _timespan(settings.run_time)):
        raise BadInput(f"--run-time {settings.run_time!r} is not a time span: give e.g. 30s, 5m or 1h30m")
    return expand(settings.targets)


def _timespan(text: str) -> bool:
    return bool(text) and _TIMESPAN.fullmatch(text) is not None


def _check_worker(settings: LoadSettings) -> None:
    given = [name for name, on in (("URL", settings.url), ("--target", settings.targets)) if on]
    given += [f"--{name.replace('_', '-')}" for name in _MASTER_ONLY if getattr(settings, name) not in (None, False)]
    if given:
        raise BadInput(f"a --worker takes {', '.join(given)} from its master: give them to the master's command")


_MASTER_ONLY = ("users", "spawn_rate", "run_time", "csv", "html", "expect_workers", "master_bind_host", "allow_http")


def _check_numbers(settings: LoadSettings) -> None:
    if not settings.speed > 0:
        raise BadInput(f"--speed {settings.speed:g} is not positive: give e.g. --speed 60 (a minute a second)")
    if settings.spawn_rate is not None and not settings.spawn_rate > 0:
        raise BadInput(f"--spawn-rate {settings.spawn_rate:g} is not positive: give users started per second")
    if settings.headless and settings.master and settings.expect_workers is None:
        raise BadInput("a --headless --master needs --expect-workers N: how many workers to wait for")


def expand(patterns: Sequence[str]) -> tuple[str, ...]:
    """Sample and story names matching each pattern (a name or a glob), in order, once each."""
    from connect_hooks.catalogue import samples, stories

    names: dict[str, None] = {}
    for pattern in patterns:
        found = stories.match(pattern) if stories.is_story(pattern) else samples.match(pattern)
        names.update(dict.fromkeys(found))
    return tuple(names)


def command(settings: LoadSettings, python: str = sys.executable) -> list[str]:
    """The child's command line: Locust with the packaged locustfile and Locust's own options (no secret)."""
    argv = [python, "-m", "locust", "-f", str(LOCUSTFILE)]
    if not settings.worker:
        argv += ["--host", settings.url or "", "--stop-timeout", "10"]
    flags = {"headless": "--headless", "master": "--master", "worker": "--worker"}
    argv += [flag for name, flag in flags.items() if getattr(settings, name)]
    valued: tuple[str, ...] = ("users", "spawn_rate", "run_time", "csv", "html", "master_bind_host", "master_bind_port")
    valued += ("expect_workers", "master_host", "master_port")
    for name in valued:
        value = getattr(settings, name)
        if value is not None:
            argv += [f"--{name.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    return argv


def environment(settings: LoadSettings, targets: Sequence[str], base: Mapping[str, str]) -> dict[str, str]:
    """The child's environment: ``base`` with the settings; the secret only where notifications are sent."""
    from connect_hooks.client.hubsecret import fingerprint

    env = {k: v for k, v in base.items() if k not in (SECRET_ENV, TARGETS_ENV, SPEED_ENV, FINGERPRINT_ENV)}
    if not settings.master and settings.secret is not None:
        env[SECRET_ENV] = settings.secret
    if not settings.worker:
        env[TARGETS_ENV] = json.dumps(list(targets))
        env[SPEED_ENV] = repr(settings.speed)
        env[FINGERPRINT_ENV] = fingerprint(settings.secret) if settings.secret is not None else ""
    return env


def run(settings: LoadSettings) -> ExitCode:
    """Check, run Locust in a child until it ends, and map its exit: 0 ok, 1 failures, 130 interrupted."""
    targets = check(settings)
    child = subprocess.Popen(command(settings), env=environment(settings, targets, os.environ))
    try:
        code = child.wait()
    except KeyboardInterrupt:  # Ctrl-C reached Locust too (one process group): let it write its reports
        child.send_signal(signal.SIGINT)
        child.wait()
        return ExitCode.INTERRUPTED
    if code == 0:
        return ExitCode.OK
    return ExitCode.INTERRUPTED if code in (-signal.SIGINT, -signal.SIGTERM) else ExitCode.FAILED
