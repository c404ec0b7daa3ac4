"""``connect-hooks load``: Webex Connect's side on Locust (one machine or many); options in, Locust run in a child."""

from __future__ import annotations

from typing import Any

import click

from connect_hooks.cli.commands.options import POSITIVE, allow_http_option, secret_options
from connect_hooks.errors import ExitCode

PORT = click.IntRange(min=1, max=65535)


@click.command()
@click.argument("url", required=False)
@click.option(
    "targets",
    "--target",
    multiple=True,
    default=("receipt/sms/delivered",),
    show_default=True,
    metavar="NAME",
    help="A sample or story to send (a name or a glob such as 'receipt/sms/*'; repeatable). Each task picks one.",
)
@secret_options
@allow_http_option
@click.option(
    "--speed", type=POSITIVE, default=1.0, show_default=True, help="Divide every wait (60 = a minute a second)."
)
@click.option("--users", type=click.IntRange(min=1), help="Locust: peak number of concurrent users.")
@click.option("--spawn-rate", type=POSITIVE, help="Locust: users started per second.")
@click.option("--run-time", metavar="SPAN", help="Locust: stop after this long, e.g. 30s, 5m, 1h30m.")
@click.option("--headless", is_flag=True, help="Locust: no web UI; start at once (with --users).")
@click.option("--csv", metavar="PREFIX", help="Locust: write the stats to PREFIX_stats.csv (and more).")
@click.option("--html", metavar="FILE", help="Locust: write an HTML report to FILE.")
@click.option("--master", is_flag=True, help="Locust: run as the master of distributed workers.")
@click.option("--master-bind-host", metavar="HOST", help="Locust: the interface the master listens on (default: all).")
@click.option("--master-bind-port", type=PORT, help="Locust: the port the master listens on (default: 5557).")
@click.option("--expect-workers", type=click.IntRange(min=1), help="Locust: a --headless master waits for N workers.")
@click.option(
    "--worker", is_flag=True, help="Locust: run as a worker; the URL, targets and speed come from the master."
)
@click.option("--master-host", metavar="HOST", help="Locust: the master a worker connects to (default: 127.0.0.1).")
@click.option("--master-port", type=PORT, help="Locust: the master's port a worker connects to (default: 5557).")
@click.pass_context
def load(ctx: click.Context, /, url: str | None, **options: Any) -> ExitCode:
    """Load URL with Webex Connect's signed notifications on Locust, from one machine or many.

    Each Locust user sends a fresh sample (or story) per task, signed with the hub secret, with Webex
    Connect's retry policy. Needs Locust: pip install 'connect-hooks[load]'. A distributed run is one
    'load URL --master' and workers 'load --worker --master-host HOST' on other machines, each with
    its own CONNECT_HOOKS_SECRET (the secret never crosses the network).
    """
    from connect_hooks.load import launch

    secret = secret_options.take(ctx, options)["secret"]
    options.update(allow_http_option.take(ctx, options))
    worker = options["worker"]
    targets = options.pop("targets")
    given = ctx.get_parameter_source("targets") is not click.core.ParameterSource.DEFAULT
    settings = launch.LoadSettings(url=url, targets=targets if given or not worker else (), secret=secret, **options)
    return launch.run(settings)
