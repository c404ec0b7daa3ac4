"""``connect-hooks sign`` and ``connect-hooks verify``: the signature debugger."""

from __future__ import annotations

import sys

import click

from connect_hooks.cli.commands.options import (
    dump_json,
    output_options,
    resolve_secret,
    secret_options,
    signature_options,
)
from connect_hooks.errors import BadInput, ExitCode


def require_secret(ctx: click.Context, secret: str | None, secret_file: str | None) -> str:
    found = resolve_secret(ctx, secret, secret_file)
    if found is None:
        raise BadInput("no hub secret: give --secret, CONNECT_HOOKS_SECRET or --secret-file")
    return found


@click.command()
@click.argument("file", default="-", required=False, metavar="[FILE|-]")
@secret_options
@signature_options
@output_options
@click.option(
    "--vectors",
    is_flag=True,
    help="Print JSON test vectors for your own verifier instead (a made-up, published test secret; "
    "ignores --secret and CONNECT_HOOKS_SECRET).",
)
@click.pass_context
def sign_command(
    ctx: click.Context,
    file: str,
    secret: str | None,
    secret_file: str | None,
    algorithm: str,
    signature_style: str,
    as_json: bool,
    vectors: bool,
) -> ExitCode:
    """Print the x-hub-signature value for exactly the bytes of FILE (default: stdin).

    Any bytes, JSON or not, signed as they are. With curl (the secret in CONNECT_HOOKS_SECRET):

    \b
    curl -H "x-hub-signature: $(connect-hooks sign body.json)" \\
         -H 'content-type: application/json' --data-binary @body.json URL
    """
    if vectors:
        return print_vectors(file)
    from connect_hooks import signing
    from connect_hooks.inputs import read_input

    key = require_secret(ctx, secret, secret_file)
    body = read_input(file, sys.stdin.buffer.read)
    value = signing.sign(body, key, algorithm, signature_style)
    if as_json:
        dump_json(
            {
                "header": signing.HEADER,
                "value": value,
                "algorithm": algorithm,
                "style": signature_style,
                "bytes": len(body),
            }
        )
    else:
        click.echo(value)
    return ExitCode.OK


def print_vectors(file: str) -> ExitCode:
    """``sign --vectors``: the test vectors, never signed with the user's secret (it is not even read)."""
    if file != "-":
        raise BadInput(f"--vectors prints test vectors and reads no FILE: drop {file!r}")
    from connect_hooks.catalogue.vectors import vectors

    dump_json(vectors())
    return ExitCode.OK


@click.command()
@click.argument("file", default="-", required=False, metavar="[FILE|-]")
@secret_options
@click.option(
    "--signature",
    "header",
    required=True,
    metavar="HEADER",
    help="The x-hub-signature value received: sha256=<hex>, sha512=<hex> or the bare hex.",
)
@output_options
@click.pass_context
def verify_command(
    ctx: click.Context,
    file: str,
    secret: str | None,
    secret_file: str | None,
    header: str,
    as_json: bool,
) -> ExitCode:
    """Does HEADER sign exactly the bytes of FILE (default: stdin)? Exit 0 if so, 1 if not.

    On a mismatch, tries the usual causes (re-serialized JSON, a trailing newline, the prefix or
    algorithm, stray whitespace in the secret) and says which one explains it.
    """
    from connect_hooks.diagnose import advice, diagnose
    from connect_hooks.inputs import read_input

    key = require_secret(ctx, secret, secret_file)
    body = read_input(file, sys.stdin.buffer.read)
    diagnosis = diagnose(body, header, key)
    if as_json:
        dump_json({"bytes": len(body), **diagnosis.as_dict()})
    else:
        if diagnosis.matches:
            click.echo(click.style("match: ", fg="green", bold=True) + diagnosis.summary)
        else:
            click.echo(click.style("mismatch: ", fg="red", bold=True) + diagnosis.summary)
            if diagnosis.cause is not None:
                for cause in diagnosis.cause.causes:
                    click.echo(click.style("fix: ", fg="yellow", bold=True) + advice(cause))
    return ExitCode.OK if diagnosis.matches else ExitCode.FAILED
