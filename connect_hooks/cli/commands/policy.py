"""``connect-hooks policy``: the policy explainer. Light on imports: it must start fast."""

from __future__ import annotations

import click

from connect_hooks.cli.commands.options import dump_json, output_options, policy_options
from connect_hooks.errors import ExitCode


@click.command()
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@policy_options
@output_options
def policy_command(
    inputs: tuple[str, ...],
    timeout: float,
    schedule: str,
    retries: int | None,
    interval: float | None,
    as_json: bool,
) -> ExitCode:
    """Explain what Webex Connect does when a receiver answers INPUT.

    INPUT is a status code (100-599), 'timeout', 'connection-error' or 'tls-error'.
    """
    from connect_hooks.explain import explain
    from connect_hooks.policy import Policy

    chosen = Policy.build(schedule=schedule, retries=retries, interval=interval, timeout=timeout)
    explanations = [explain(item, chosen) for item in inputs]
    if as_json:
        dump_json([e.as_dict() for e in explanations])
        return ExitCode.OK
    colours = {"delivered": "green", "failed": "red", "dropped": "red"}
    for item in explanations:
        outcome = click.style(str(item.outcome), fg=colours[str(item.outcome)], bold=True)
        click.echo(f"{click.style(item.input, bold=True)}: {outcome} — {item.summary}")
        for caveat in item.caveats:
            click.echo(click.style(f"  ! {caveat}", fg="yellow"))
    return ExitCode.OK
