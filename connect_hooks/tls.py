"""A local test CA for ``listen --tls`` and ``demo``: HTTPS on loopback that the sender can verify.

``make_local_tls`` makes a throwaway CA with trustme, issues a certificate for ``localhost``,
``127.0.0.1`` and ``::1``, and writes three PEM files: the CA certificate (the one to pass as
``--ca-bundle``), the server's certificate chain and its private key. The CA's own key is never
written: once the process ends, nothing more can be signed with it.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connect_hooks.errors import BadInput

NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class LocalTLS:
    """Where the PEM files are, and how to serve with them."""

    directory: Path
    ca_path: Path  # trust this one: send/check --ca-bundle PATH
    cert_path: Path  # the server's certificate chain
    key_path: Path  # the server's private key (mode 0600)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def uvicorn_options(self) -> dict[str, Any]:
        return {"ssl_certfile": str(self.cert_path), "ssl_keyfile": str(self.key_path)}


def make_local_tls(directory: str | Path | None = None) -> LocalTLS:
    """A fresh CA and a certificate for loopback, written under ``directory`` (default: a new temp dir).

    The caller owns the files: remove them when done (``remove_local_tls``).
    """
    import trustme

    if directory is None:
        where = Path(tempfile.mkdtemp(prefix="connect-hooks-tls-"))
    else:
        where = Path(directory)
        try:
            where.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"cannot create {str(where)!r} for the TLS files: {exc.strerror or exc}") from None
    ca = trustme.CA(organization_name="connect-hooks local test CA")
    cert = ca.issue_cert(*NAMES)
    files = LocalTLS(where, where / "ca.pem", where / "server-chain.pem", where / "server-key.pem")
    try:
        ca.cert_pem.write_to_path(str(files.ca_path))
        files.cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        descriptor = os.open(files.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as key_file:
            key_file.write(cert.private_key_pem.bytes())
    except OSError as exc:
        raise BadInput(f"cannot write the TLS files in {str(where)!r}: {exc.strerror or exc}") from None
    return files


def remove_local_tls(files: LocalTLS) -> None:
    """Delete the PEM files and, when empty, their directory."""
    for path in (files.ca_path, files.cert_path, files.key_path):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty, or already gone: leave it
        files.directory.rmdir()
