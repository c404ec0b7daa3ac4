"""Dynamic shell completion (``connect-hooks completion``): the candidates for sample names, conform's
check IDs and families, channels and webhook profile names.

Completing runs a whole ``connect-hooks`` process on every Tab, so nothing here imports httpx or rich:
names come from the catalogue's directory listing, profiles from the TOML file, and the check IDs
from ``CHECK_IDS`` (conform's registry imports httpx; a test keeps the two equal).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click
    from click.shell_completion import CompletionItem

#: conform's check IDs other than ``accepts/<sample>`` (those come from the catalogue), in run order.
#: tests/test_completion.py checks this against ``conformance.all_checks``: add a new check here too.
CHECK_IDS = (
    "url-https",
    "url-tls",
    "url-head-200",
    "rejects-unsigned",
    "rejects-wrong-secret",
    "rejects-tampered-body",
    "rejects-bad-signature-format",
    "rejects-missing-auth",
    "rejects-wrong-auth",
    "raw-bytes",
    "duplicate-delivery",
    "out-of-order-receipts",
    "unknown-fields",
    "large-body",
    "concurrent",
    "latency",
)


def _names() -> tuple[str, ...]:
    """The catalogue's sample names (what conform's accepts/* checks and channels are made of)."""
    from connect_hooks.catalogue import samples as catalogue

    return catalogue.names()


def _targets() -> tuple[str, ...]:
    """What 'send' and 'samples show' take by name: the catalogue's samples, then its stories (their
    own name lists: a new sample or story completes without a change here)."""
    from connect_hooks.catalogue import stories

    return (*_names(), *stories.names())


def _starting(candidates: list[str] | tuple[str, ...], incomplete: str) -> list[str]:
    return [c for c in candidates if c.startswith(incomplete)]


def sample_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Sample and story names (``samples show NAME``)."""
    return _starting(_targets(), incomplete)


def names_and_families(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Families, then sample names (``samples schema``)."""
    from connect_hooks.catalogue import samples as catalogue

    return _starting([*catalogue.families(), *_names()], incomplete)


def patterns(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Families, then sample and story names (``samples list PATTERN``)."""
    from connect_hooks.catalogue import samples as catalogue

    return _starting([*catalogue.families(), *_targets()], incomplete)


def send_targets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """``send``'s TARGETs: sample and story names, and files (a TARGET may be a JSON file).

    The file item comes first: bash's script empties its list on it (then falls back to file
    names only when no sample name matched), zsh and fish add the files to the names.
    """
    from click.shell_completion import CompletionItem

    names = [CompletionItem(name) for name in _starting(_targets(), incomplete)]
    return [CompletionItem(incomplete, type="file"), *names]


def check_ids(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """conform's ``--only``/``--skip``: families (url, accepts, accepts/receipt/sms, rejects) and IDs,
    after any comma (``--only url,rej<Tab>``)."""
    head, comma, last = incomplete.rpartition(",")
    names = _names()
    families = {"url", "accepts", "rejects"}
    families.update(f"accepts/{name.rsplit('/', 2)[0]}" for name in names)  # accepts/<kind>
    families.update(f"accepts/{name.rsplit('/', 1)[0]}" for name in names)  # accepts/<kind>/<channel>
    candidates = [*sorted(families), *CHECK_IDS, *(f"accepts/{name}" for name in names)]
    return [head + comma + c for c in _starting(candidates, last)]


def channels(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """The catalogue's channels (conform ``--channel``), after any comma."""
    head, comma, last = incomplete.rpartition(",")
    found = sorted({name.split("/")[1] for name in _names()})
    return [head + comma + c for c in _starting(found, last)]


def webhooks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Profile names from ``--config`` (when given before) or connect-hooks.toml / pyproject.toml here.
    A file that cannot be read offers nothing: the command itself will say why."""
    from pathlib import Path

    from connect_hooks.cli.profiles import find_config
    from connect_hooks.errors import ConnectHooksError

    try:
        found = find_config(ctx.params.get("config"), Path.cwd())
    except (ConnectHooksError, OSError):
        return []
    tables = found[1].get("webhooks") if found is not None else None
    return _starting(sorted(tables), incomplete) if isinstance(tables, dict) else []
