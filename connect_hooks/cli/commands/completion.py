"""``connect-hooks completion SHELL``: print the shell's completion script (Click's completion machinery)."""

from __future__ import annotations

import click

from connect_hooks.errors import ExitCode

#: The program name the scripts complete, and the variable that switches a run into completing
#: (``App.main`` always reads this one, however connect-hooks was started).
PROG_NAME = "connect-hooks"
COMPLETE_VAR = "_CONNECT_HOOKS_COMPLETE"

SHELLS = ("bash", "fish", "zsh")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, /, shell: str) -> ExitCode:
    """Print the completion script for SHELL (bash, zsh or fish); Tab then completes commands,
    options, sample names, conform's check IDs, channels and webhook profiles.

    \b
    bash: eval "$(connect-hooks completion bash)"   in ~/.bashrc
    zsh:  eval "$(connect-hooks completion zsh)"    in ~/.zshrc (after compinit)
    fish: connect-hooks completion fish > ~/.config/fish/completions/connect-hooks.fish
    """
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    assert complete is not None  # the choice is of the shells Click knows
    root = ctx.find_root().command
    click.echo(complete(root, {}, PROG_NAME, COMPLETE_VAR).source())
    return ExitCode.OK
