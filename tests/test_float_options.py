"""Every float option of the command line refuses nan and infinity (bad input: one line, exit 2).

The options are found by walking the Click commands themselves, so a new float option that takes
a plain ``click.FLOAT`` or ``click.FloatRange`` fails here.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import COMMANDS, main
from tests.servers import ScriptedServer


def _float_options() -> list[tuple[str, str]]:
    """(command path, option) for every option whose type converts to float, in every command."""
    found: list[tuple[str, str]] = []
    ctx = click.Context(main)

    def walk(command: click.Command, path: str) -> None:
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                walk(sub, f"{path} {name}".strip())
            return
        for param in command.params:
            if isinstance(param, click.Option) and isinstance(param.type, click.types.FloatParamType):
                found.append((path, max(param.opts, key=len)))

    walk(main, "")
    return found


FLOAT_OPTIONS = _float_options()

#: How to run each command so that nothing but the float option can stop it (a URL is the scripted
#: server's: were the value taken, a request would reach it; listen's port is taken, so it never serves).
BASE_ARGV = {
    "send": ["send", "receipt/sms/delivered", "{url}", "--retries", "0"],
    "replay": ["replay", "{log}", "{url}", "--dry-run"],
    "check": ["check", "{url}"],
    "conform": ["conform", "{url}", "--only", "url-head-200"],
    "fuzz": ["fuzz", "{url}", "--examples", "1"],
    "policy": ["policy", "500"],
    "load": ["load", "{url}", "--master", "--worker"],  # contradictory: were the value taken, Locust would not start
    "listen": ["listen", "--port", "{busy_port}"],
    "wait": ["wait", "{url}"],
}


def test_the_walk_finds_the_float_options_we_know() -> None:
    assert set(COMMANDS) >= {path.split()[0] for path, _ in FLOAT_OPTIONS}
    assert {("send", "--timeout"), ("listen", "--delay"), ("listen", "--forward-timeout"), ("send", "--speed")} <= set(
        FLOAT_OPTIONS
    )
    assert {path for path, _ in FLOAT_OPTIONS} <= set(BASE_ARGV), "add the new command to BASE_ARGV"


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def send_log(tmp_path: Path) -> Path:
    log = tmp_path / "send.ndjson"
    with ScriptedServer() as other:
        result = CliRunner().invoke(main, ["send", "receipt/sms/delivered", other.url, "--log", str(log), "--json"])
    assert result.exit_code == 0, result.output
    return log


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity"])
@pytest.mark.parametrize(("command", "option"), FLOAT_OPTIONS, ids=[f"{c}{o}" for c, o in FLOAT_OPTIONS])
def test_a_float_option_refuses_nan_and_infinity(
    command: str, option: str, value: str, server: ScriptedServer, busy_port: int, send_log: Path
) -> None:
    base = [
        a.replace("{url}", server.url).replace("{log}", str(send_log)).replace("{busy_port}", str(busy_port))
        for a in BASE_ARGV[command]
    ]
    argv = [*base[:1], option, value, *base[1:]]  # the float option first: it is converted first
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: Invalid value for '{option}'"), result.stderr
    assert "Traceback" not in result.stderr
    assert server.requests == []


@pytest.mark.parametrize(("command", "option"), FLOAT_OPTIONS, ids=[f"{c}{o}" for c, o in FLOAT_OPTIONS])
def test_a_float_option_still_takes_finite_numbers(command: str, option: str) -> None:
    ctx = click.Context(main)
    sub = main.get_command(ctx, command)
    assert sub is not None
    param = next(p for p in sub.params if option in p.opts)
    assert param.type.convert("1.5", param, None) == 1.5
    assert param.type.convert("12", param, None) == 12.0
