"""What the user hands over as FILE or ``-``: read exactly, or one clear line of bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from connect_hooks.errors import BadInput


def read_input(
    target: str,
    stdin: Callable[[], bytes],
    *,
    missing: str = "does not exist: give the file that holds the body, or - for stdin",
) -> bytes:
    """The exact bytes of FILE or of stdin (``-``): any bytes, JSON or not, possibly empty.

    ``missing`` ends the message for a path that does not exist (``send`` also takes sample names).
    """
    if target == "-":
        return stdin()
    path = Path(target)
    where = repr(target)
    if path.is_dir():
        raise BadInput(f"{where} is a directory: give a file, or - for stdin")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{where} {missing}") from None
    except OSError as exc:
        raise BadInput(f"cannot read {where}: {exc.strerror or exc}; check the path and its permissions") from None
