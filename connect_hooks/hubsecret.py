"""The hub secret: where it comes from, and how it is shown (never in full)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from connect_hooks.errors import BadInput


def read_secret_file(path: str | Path) -> str:
    """The secret in a file: its text without the trailing newline; bad input when empty or unreadable."""
    where = repr(str(path))
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"--secret-file {where} is a directory: give a file that holds the hub secret")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInput(
            f"--secret-file {where} does not exist: give a file that holds the hub secret"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise BadInput(
            f"cannot read --secret-file {where}: {reason}; check the file and its permissions"
        ) from None
    secret = text.removesuffix("\n").removesuffix("\r")
    if not secret:
        raise BadInput(f"--secret-file {where} is empty: put the hub secret in it")
    return secret


def check_secret(secret: str, source: str) -> str:
    if secret == "":
        raise BadInput(f"the hub secret from {source} is empty: give a non-empty secret")
    return secret


def fingerprint(secret: str) -> str:
    """A short, non-reversible tag to tell secrets apart: never the secret itself."""
    return hashlib.sha256(b"connect-hooks fingerprint\0" + secret.encode("utf-8")).hexdigest()[:8]


def masked(secret: str) -> str:
    return f"******** (fingerprint {fingerprint(secret)})"
