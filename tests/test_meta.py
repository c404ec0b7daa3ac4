"""Meta-tests: every command documents itself, errors stay one line, start-up stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import click
import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import COMMANDS, main


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
    return found


def resolve(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        sub = command.get_command(click.Context(command), name)
        assert sub is not None
        command = sub
    return command


@pytest.mark.parametrize("path", all_commands(main), ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: connect-hooks {' '.join(path)} ")
    command = resolve(path)
    assert command.help and command.help.strip()
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{' '.join(path)} {param.opts[0]} has no help"


def test_root_help_lists_every_command_with_its_short_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name, (_, short) in COMMANDS.items():
        assert f"  {name}" in result.stdout
        assert short in result.stdout


def test_version() -> None:
    from connect_hooks import __version__

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"connect-hooks, version {__version__}\n"


@pytest.mark.parametrize(
    "args",
    [["send"], ["send", "--bogus"], ["check"], ["policy", "--retries", "-1", "5"]],  # more: test_bad_input
)
def test_usage_errors_are_one_line_exit_2(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")


PROBE = """
import json, sys
from connect_hooks.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
loaded = [m for m, module in sys.modules.items() if module is not None]  # None: an import blocked on purpose
heavy = sorted({m.split(".")[0] for m in loaded} & {"httpx", "rich", "uvicorn", "anyio", "asyncio"})
commands = sorted(m for m in sys.modules if m.startswith("connect_hooks.cli.commands."))
hashing = sorted({"hashlib", "hmac"} & set(loaded))  # ~5 ms, and only signing needs them
# making dataclasses (and importing the module) was a tenth of 'policy's start-up
dataclasses = "dataclasses" in sys.modules
core = sorted(m for m in loaded if m.startswith("connect_hooks."))
print(json.dumps({"heavy": heavy, "commands": commands, "hashing": hashing, "core": core, "dataclasses": dataclasses}),
      file=sys.stderr)
"""


def loaded_by(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True)
    loaded: dict[str, Any] = json.loads(done.stderr.strip().splitlines()[-1])
    return loaded


def test_help_imports_no_command_and_nothing_heavy() -> None:
    loaded = loaded_by("--help")
    assert (loaded["heavy"], loaded["commands"], loaded["hashing"], loaded["dataclasses"]) == ([], [], [], False)


def test_policy_imports_nothing_heavy() -> None:
    loaded = loaded_by("policy", "503")
    assert loaded["heavy"] == []
    assert loaded["commands"] == ["connect_hooks.cli.commands.options", "connect_hooks.cli.commands.policy"]
    assert (loaded["hashing"], loaded["dataclasses"]) == ([], False)


def test_one_sample_send_loads_no_other_command_core() -> None:
    """A plain-http send without --auth or --client-cert renders without 'check' (endpoint), 'replay'
    or the client-certificate loader: start-up time (bench/startup)."""
    from tests.servers import ScriptedServer

    with ScriptedServer() as server:
        loaded = loaded_by("send", "inbound/sms/mo", server.url)
    assert len(server.posts) == 1
    unneeded = {"connect_hooks.sender.endpoint", "connect_hooks.sender.replay", "connect_hooks.client.clientcert"}
    assert sorted(unneeded & set(loaded["core"])) == []


FROZEN_AT_EXIT = """
import atexit, gc, runpy, sys
from importlib.metadata import entry_points
atexit.register(lambda: print("frozen at exit:", gc.get_freeze_count() > 0))
sys.argv = ["connect-hooks", "--version"]
if "{entry}" == "script":
    entry_points(group="console_scripts")["connect-hooks"].load()()
else:
    runpy.run_module("connect_hooks", run_name="__main__")
"""


@pytest.mark.parametrize("entry", ["script", "python -m"])
def test_the_program_leaves_without_the_exit_time_collection(entry: str) -> None:
    """Both ways of running connect-hooks freeze the collector's objects on the way out (cli.run):
    the interpreter's last collections cost a fifth of a one-sample send (bench/startup)."""
    done = subprocess.run(
        [sys.executable, "-c", FROZEN_AT_EXIT.replace("{entry}", entry)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "frozen at exit: True")
    assert done.stdout.startswith("connect-hooks, version ")


def test_main_keeps_the_collector_as_it_was() -> None:
    """Tests and library users call main (CliRunner does): their process must go on collecting."""
    import gc

    before = gc.get_freeze_count()
    assert CliRunner().invoke(main, ["--version"]).exit_code == 0
    assert gc.get_freeze_count() == before


#: Functions over 60 lines that other helpers are still splitting (issue 21): path:qualified name.
#: Each entry goes when its function is split; a stale entry fails the test below.
LONG_FUNCTIONS_BEING_SPLIT: set[str] = set()
MOST_LINES = 60


def function_lengths() -> dict[str, int]:
    """Every function and method in connect_hooks: ``path:Outer.inner`` -> lines, ``def`` to its end."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    lengths: dict[str, int] = {}

    def visit(node: ast.AST, where: str, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = prefix
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    assert child.end_lineno is not None
                    lengths[f"{where}:{name}"] = child.end_lineno - child.lineno + 1
                name += "."
            visit(child, where, name)

    for path in sorted((root / "connect_hooks").rglob("*.py")):
        visit(ast.parse(path.read_text(encoding="utf-8")), path.relative_to(root).as_posix(), "")
    return lengths


def test_no_function_is_over_60_lines() -> None:
    lengths = function_lengths()
    assert lengths["connect_hooks/cli/main.py:App.get_command"] == 9  # the walk reaches methods
    too_long = {name: n for name, n in lengths.items() if n > MOST_LINES and name not in LONG_FUNCTIONS_BEING_SPLIT}
    assert too_long == {}, "split these functions (at most 60 lines each)"
    stale = {name for name in LONG_FUNCTIONS_BEING_SPLIT if lengths.get(name, 0) <= MOST_LINES}
    assert stale == set(), "split (or gone): remove them from LONG_FUNCTIONS_BEING_SPLIT"


def test_the_independence_contract_names_every_command_module() -> None:
    """import-linter keeps commands from importing each other (lint-imports in .ci/run): every
    module of COMMANDS must be in that contract, or a new command could import another freely."""
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    (independent,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "independence"]
    commands = {target.partition(":")[0] for target, _ in COMMANDS.values()}
    assert set(independent["modules"]) == commands


def test_send_replay_and_conform_spell_their_shared_options_alike() -> None:
    """The option groups are declared once: an option the three commands share has the same
    flags, type, default and help in each (conform's -H says more on purpose: values are never printed)."""

    def described(param: click.Parameter) -> tuple[Any, ...]:
        assert isinstance(param, click.Option)
        return (param.opts, param.secondary_opts, param.type.to_info_dict(), param.default, param.help, param.envvar)

    def options(name: str) -> dict[str, tuple[Any, ...]]:
        command = resolve((name,))
        return {p.name: described(p) for p in command.params if isinstance(p, click.Option) and p.name is not None}

    send, replay, conform = options("send"), options("replay"), options("conform")
    shared = set(send) & set(replay) & set(conform) - {"headers", "help"}
    assert {"secret", "secret_file", "algorithm", "timeout", "ca_bundle", "insecure", "auth_type", "as_json"} <= shared
    for name in sorted(shared | (set(send) & set(replay)) - {"help"}):
        assert send[name] == replay[name], name
        if name in shared:
            assert send[name] == conform[name], name
