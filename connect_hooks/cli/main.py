"""The command line: parse options into settings, call one core function, render what it returns.

Errors become exit codes here and only here (see ``App.main``). Heavy imports (httpx, rich,
uvicorn) happen inside the commands that need them, so ``--help`` starts fast.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import Any

import click

from connect_hooks import __version__
from connect_hooks.errors import ConnectHooksError, ExitCode

# httpx imports its own command line (click, rich.progress, rich.syntax, pygments) whenever those are
# installed, as they are beside connect-hooks. This process never runs httpx's CLI: skip that import
# (httpx then defines a stub ``main``). Saves a third of the start-up of any command that sends.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

#: name -> (module:attribute, short help). Commands load on first use; the short help is here so
#: that ``connect-hooks --help`` lists them without importing any (a meta-test keeps it in sync).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("connect_hooks.cli.commands.demo:demo", "Watch both sides of a delivery story on loopback, in seconds."),
    "fuzz": (
        "connect_hooks.cli.commands.fuzz:fuzz_command",
        "Send bodies generated from the schemas; report all but 200.",
    ),
    "listen": (
        "connect_hooks.cli.commands.listen:listen",
        "Receive webhooks locally: verify, recognise, answer as scripted.",
    ),
    "check": ("connect_hooks.cli.commands.check:check", "Would Webex Connect accept URL? (https, HEAD 200, TLS)"),
    "conform": (
        "connect_hooks.cli.commands.conform:conform",
        "Does the receiver at URL hold up? Named checks, a verdict.",
    ),
    "completion": (
        "connect_hooks.cli.commands.completion:completion",
        "Print the shell completion script (bash, zsh, fish).",
    ),
    "load": ("connect_hooks.cli.commands.load:load", "Load URL on Locust, from one machine or many."),
    "policy": ("connect_hooks.cli.commands.policy:policy_command", "Explain what Webex Connect does after an answer."),
    "replay": (
        "connect_hooks.cli.commands.replay:replay",
        "Send again what 'send --log' or 'listen --log' recorded.",
    ),
    "samples": ("connect_hooks.cli.commands.samples:samples", "Browse the sample catalogue: what Webex Connect sends."),
    "send": ("connect_hooks.cli.commands.send:send", "Send notifications to URL with Webex Connect's retry policy."),
    "sign": ("connect_hooks.cli.commands.signature:sign_command", "Print the x-hub-signature for exactly these bytes."),
    "verify": (
        "connect_hooks.cli.commands.signature:verify_command",
        "Check an x-hub-signature; say why it mismatches.",
    ),
    "wait": ("connect_hooks.cli.commands.wait:wait", "Wait until URL answers HEAD with 200 (CI: before conform)."),
    "webhooks": (
        "connect_hooks.cli.commands.webhooks:webhooks",
        "List the webhook profiles (connect-hooks.toml), secrets masked.",
    ),
}


class App(click.Group):
    """The root group: lazy commands, and every error ends as one line on stderr and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, _, attribute = COMMANDS[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        command.name = cmd_name
        command.short_help = COMMANDS[cmd_name][1]
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        # Completion is switched on by this variable however the program was started (the console
        # script, python -m connect_hooks): the scripts 'completion' prints set it.
        kwargs.setdefault("complete_var", "_CONNECT_HOOKS_COMPLETE")
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "connect-hooks"
            click.echo(f"error: {exc.format_message()} (see '{where} --help')", err=True)
            sys.exit(ExitCode.BAD_INPUT)
        except click.ClickException as exc:
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(ExitCode.BAD_INPUT)
        except (click.exceptions.Abort, KeyboardInterrupt):
            click.echo("interrupted", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except ConnectHooksError as exc:
            message = str(exc)
            if message:
                click.echo(f"error: {message}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(int(code or 0))


def _help_width(most: int = 100) -> int:
    """Click's help width (terminal columns, at most ``most``), without importing shutil as click would."""
    try:
        columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        columns = 80
    return max(min(columns, most) - 2, 50)


@click.group(
    name="connect-hooks",
    cls=App,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100, "terminal_width": _help_width()},
)
@click.version_option(__version__, "-V", "--version", prog_name="connect-hooks")
def main() -> None:
    """Play the Webex Connect side of outbound webhooks on your machine.

    Check a URL as Webex Connect does, send signed sample notifications with its retry policy
    (in real time or compressed), and explain what it does with any answer.
    """


def run() -> None:
    """The ``connect-hooks`` program (console script and ``python -m connect_hooks``): ``main``, then
    an exit without the interpreter's last garbage collections.

    On the way out Python collects every object it still tracks, again while it unloads modules: a
    large part of a one-sample ``send`` once httpx, asyncio and rich are imported (bench/startup). By then everything connect-hooks opened is closed (log files, clients
    and servers each live in a ``with``), so the objects are frozen instead (``gc.freeze``: later
    collections skip them) and the operating system takes the memory back. atexit handlers and
    reference-counted clean-up still run. Only the program does this: tests and library users
    call ``main`` and keep their collector as it was.
    """
    try:
        main()
    finally:
        gc.freeze()
