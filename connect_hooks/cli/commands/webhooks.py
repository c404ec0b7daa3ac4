"""``connect-hooks webhooks``: the webhook profiles this directory knows, secrets masked."""

from __future__ import annotations

import click

from connect_hooks.cli.commands.options import console, dump_json, output_options
from connect_hooks.errors import ExitCode


@click.command()
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="Webhook profiles file (default: connect-hooks.toml here, or [tool.connect-hooks] in pyproject.toml).",
)
@output_options
def webhooks(config: str | None, as_json: bool) -> ExitCode:
    """List the webhook profiles ('send TARGET --webhook NAME' uses one); secrets are never shown."""
    import os
    from pathlib import Path

    from connect_hooks.cli.profiles import FILE_NAME, load_webhooks

    found = load_webhooks(config, Path.cwd())
    documents = [w.as_dict(os.environ) for w in found]
    if as_json:
        dump_json(documents)
        return ExitCode.OK
    out = console()
    if not documents:
        out.print(f"no webhook profiles: add [webhooks.NAME] tables to {FILE_NAME} (see README, 'Webhook profiles')")
        return ExitCode.OK
    from connect_hooks.cli import render

    render.print_webhooks(out, documents)
    return ExitCode.OK
