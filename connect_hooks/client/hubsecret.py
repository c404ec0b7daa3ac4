"""The hub secret: where it comes from, and how it is shown (never in full)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from connect_hooks.errors import BadInput


def read_secret_file(path: str | Path) -> str:
    """The secret in a file: its text without the trailing newline; bad input when empty or unreadable."""
    from connect_hooks.client.credentials import read_credential_file  # one reader, one set of messages

    return read_credential_file(path, "--secret-file", "hub secret")


def check_secret(secret: str, source: str) -> str:
    if secret == "":
        raise BadInput(f"the hub secret from {source} is empty: give a non-empty secret")
    return secret


def fingerprint(secret: str) -> str:
    """A short, non-reversible tag to tell secrets apart: never the secret itself."""
    return hashlib.sha256(b"connect-hooks fingerprint\0" + secret.encode("utf-8")).hexdigest()[:8]


def masked(secret: str) -> str:
    return f"******** (fingerprint {fingerprint(secret)})"
