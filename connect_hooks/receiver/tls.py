"""A local test CA for ``listen --tls`` and ``demo``: HTTPS on loopback that the sender can verify."""

from __future__ import annotations

import contextlib
import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connect_hooks.errors import BadInput

NAMES = ("localhost", "127.0.0.1", "::1")
CLIENT_NAME = "client.connect-hooks.localhost"


@dataclass(frozen=True)
class MutualTLS:
    """Require client certificates: from the local test CA (which issues one), or from ``client_ca``."""

    client_ca: Path | None = None  # the user's own CA file; None: the local test CA
    p12_password: str | None = field(default=None, repr=False)  # None: a generated one


@dataclass(frozen=True)
class ClientCert:
    """The client certificate the local test CA issued (only when no ``client_ca`` was given)."""

    pem_path: Path  # certificate and private key, PEM (curl --cert, send --client-cert)
    p12_path: Path  # the same as PKCS#12, encrypted with ``password``
    password: str = field(repr=False)
    password_generated: bool = False


def check_client_ca(path: Path) -> None:
    """Bad input unless ``path`` is a readable PEM file holding at least one CA certificate."""
    where = repr(str(path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_verify_locations(cafile=str(path))
    except FileNotFoundError:
        raise BadInput(
            f"--client-ca {where} does not exist: give the PEM file of the CA that signs client certificates"
        ) from None
    except ssl.SSLError:
        raise BadInput(
            f"--client-ca {where} holds no PEM CA certificate: give the CA that signs client certificates"
        ) from None
    except OSError as exc:
        raise BadInput(f"cannot read --client-ca {where}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class LocalTLS:
    """Where the PEM files are, and how to serve with them."""

    directory: Path
    ca_path: Path  # trust this one: send/check --ca-bundle PATH
    cert_path: Path  # the server's certificate chain
    key_path: Path  # the server's private key (mode 0600)
    client_ca_path: Path | None = None  # set: handshakes need a client certificate from this CA
    client: ClientCert | None = None

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        if self.client_ca_path is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=str(self.client_ca_path))
        return context

    def uvicorn_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"ssl_certfile": str(self.cert_path), "ssl_keyfile": str(self.key_path)}
        if self.client_ca_path is not None:
            options.update(ssl_cert_reqs=ssl.CERT_REQUIRED, ssl_ca_certs=str(self.client_ca_path))
        return options


def make_local_tls(directory: str | Path | None = None, *, mutual: MutualTLS | None = None) -> LocalTLS:
    """A fresh CA and a certificate for loopback, written under ``directory`` (default: a new temp dir).

    With ``mutual``, client certificates are required (and issued, unless ``mutual.client_ca``).
    The caller owns the files: remove them when done (``remove_local_tls``).
    """
    import trustme

    if mutual is not None and mutual.client_ca is not None:
        check_client_ca(mutual.client_ca)

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
        if mutual is not None and mutual.client_ca is not None:
            return LocalTLS(files.directory, files.ca_path, files.cert_path, files.key_path, mutual.client_ca)
        if mutual is not None:
            client = _issue_client_cert(ca, where, mutual.p12_password)
            return LocalTLS(files.directory, files.ca_path, files.cert_path, files.key_path, files.ca_path, client)
    except OSError as exc:
        raise BadInput(f"cannot write the TLS files in {str(where)!r}: {exc.strerror or exc}") from None
    return files


def _issue_client_cert(ca: Any, where: Path, password: str | None) -> ClientCert:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12

    leaf = ca.issue_cert(CLIENT_NAME, common_name="connect-hooks client")
    key_pem = leaf.private_key_pem.bytes()
    cert_pem = leaf.cert_chain_pems[0].bytes()
    generated = password is None
    secret = secrets.token_urlsafe(12) if password is None else password
    p12 = pkcs12.serialize_key_and_certificates(
        b"connect-hooks client",
        load_pem_private_key(key_pem, password=None),  # type: ignore[arg-type]
        x509.load_pem_x509_certificate(cert_pem),
        [x509.load_pem_x509_certificate(ca.cert_pem.bytes())],
        BestAvailableEncryption(secret.encode("utf-8")),
    )
    client = ClientCert(where / "client.pem", where / "client.p12", secret, generated)
    _write_private(client.pem_path, cert_pem + key_pem)
    _write_private(client.p12_path, p12)
    return client


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def remove_local_tls(files: LocalTLS) -> None:
    """Delete the PEM files and, when empty, their directory."""
    paths = [files.ca_path, files.cert_path, files.key_path]
    if files.client is not None:
        paths += [files.client.pem_path, files.client.p12_path]
    for path in paths:
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty, or already gone: leave it
        files.directory.rmdir()
