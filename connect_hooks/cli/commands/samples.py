"""``connect-hooks samples``: browse the catalogue and render a sample as ``send`` would send it."""

from __future__ import annotations

import sys
from typing import Any

import click

from connect_hooks.cli import completers
from connect_hooks.cli.commands.options import console, dump_json, output_options, set_option
from connect_hooks.errors import ExitCode


@click.group()
def samples() -> None:
    """Browse the sample catalogue: what Webex Connect sends, per channel."""


@samples.command("list")
@click.argument("pattern", required=False, shell_complete=completers.patterns)
@output_options
def samples_list(pattern: str | None, as_json: bool) -> ExitCode:
    """List the samples and the stories, all or those matching PATTERN.

    PATTERN is a glob ('receipt/sms/*', '*/whatsapp/*', 'story/*') or a text the names contain ('email').
    """
    from connect_hooks.catalogue import stories

    templates, found = _listed(pattern)
    if as_json:
        dump_json([t.as_dict() for t in templates] + [{"kind": "story", **stories.get(n).as_dict()} for n in found])
        return ExitCode.OK
    # Plain aligned columns, one line per sample (greppable; long descriptions are not folded).
    rows = [("name", "kind", "channel", "status/event", "description")]
    rows += [(t.name, t.kind, t.channel, t.event, t.description) for t in templates]
    rows += [(n, "story", stories.get(n).channel, stories.get(n).ending, stories.get(n).description) for n in found]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for number, row in enumerate(rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4]
        click.echo(click.style(line, bold=True) if number == 0 else line)
    return ExitCode.OK


def _listed(pattern: str | None) -> tuple[list[Any], list[str]]:
    """The samples and the story names ``samples list PATTERN`` shows; bad input when there is neither."""
    import fnmatch

    from connect_hooks.catalogue import samples as catalogue
    from connect_hooks.catalogue import stories
    from connect_hooks.errors import BadInput

    if pattern is None:
        found = list(stories.names())
    elif catalogue.is_glob(pattern):
        found = [n for n in stories.names() if fnmatch.fnmatchcase(n, pattern)]
    else:
        found = [n for n in stories.names() if pattern in n]
    try:
        templates = catalogue.select(pattern)
    except BadInput:
        if not found:
            raise
        templates = []
    return templates, found


@samples.command("show")
@click.argument("name", shell_complete=completers.sample_names)
@set_option
@click.option("--seed", type=int, help="Render reproducibly (same seed, same bytes).")
@click.option(
    "--raw",
    is_flag=True,
    help="Write exactly the bytes 'send' would sign and POST: compact UTF-8 JSON, no newline added "
    "(a story: one body per line).",
)
def samples_show(name: str, sets: tuple[str, ...], seed: int | None, raw: bool) -> ExitCode:
    """Show sample NAME rendered as 'send' would send it (fresh ids and times), or every step of story NAME.

    Pretty-printed for people, with the page its shape follows on stderr; --raw for the exact
    body, e.g. to sign it yourself.
    """
    from connect_hooks.catalogue import samples as catalogue
    from connect_hooks.catalogue import stories

    if stories.is_story(name):
        return _show_story(name, sets, seed, raw)
    body = catalogue.render(name, seed=seed, sets=sets)
    if raw:
        _write_raw(body)
        return ExitCode.OK
    click.echo(f"source: {catalogue.get(name).source}", err=True)
    console().print_json(body.decode("utf-8"), indent=2, ensure_ascii=False)
    return ExitCode.OK


def _write_raw(body: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()


def _show_story(name: str, sets: tuple[str, ...], seed: int | None, raw: bool) -> ExitCode:
    """Every step of a story: its offset and sample, then its body."""
    from connect_hooks.catalogue import stories
    from connect_hooks.errors import BadInput

    if sets:
        raise BadInput("--set changes one sample: a story's steps carry their own values (show a step's sample)")
    steps = stories.render(name, seed=seed)
    if raw:
        _write_raw(b"".join(step.body + b"\n" for step in steps))
        return ExitCode.OK
    click.echo(f"{name}: {stories.get(name).description}", err=True)
    for step in steps:
        click.echo(click.style(f"T+{step.at:g}s  {step.sample}", bold=True))
        console().print_json(step.body.decode("utf-8"), indent=2, ensure_ascii=False)
    return ExitCode.OK


@samples.command("schema")
@click.argument("target", metavar="NAME|FAMILY", shell_complete=completers.names_and_families)
def samples_schema(target: str) -> ExitCode:
    """Print the JSON Schema of a family (receipt/sms, inbound/whatsapp, ...) or of a sample's family.

    Draft 2020-12, strict about key names, casing, the fields each status or event carries and
    their types: validate your own fixtures or parser tests with it, in any language.
    """
    from connect_hooks.catalogue import samples as catalogue

    dump_json(catalogue.schema(target))
    return ExitCode.OK


@samples.command("openapi")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "yaml"]),
    default="json",
    show_default=True,
    help="JSON, or YAML (block style, written without a YAML library).",
)
@click.option(
    "--path",
    metavar="PATH",
    help="The receiver's endpoint in the document's 'paths', for tools that test paths (default: /webhooks/webex-connect).",
)
def samples_openapi(output_format: str, path: str | None) -> ExitCode:
    """Print an OpenAPI 3.1 document of what Webex Connect POSTs: one webhook per family.

    Each family's JSON Schema, its samples as examples (fixed ids and times: the same bytes on every
    run), the x-hub-signature and x-wx-gtrid headers and what each answer makes Webex Connect do.
    Generate typed models for your receiver from it (e.g. datamodel-codegen, openapi-generator).
    """
    from connect_hooks import __version__
    from connect_hooks.catalogue import openapi

    document = openapi.build(openapi.DEFAULT_PATH if path is None else path, __version__)
    if output_format == "yaml":
        from connect_hooks.catalogue import yamlout

        text = yamlout.dump(document)
    else:
        text = openapi.to_json(document)
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()
    return ExitCode.OK
