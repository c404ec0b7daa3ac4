"""The client certificate the sender presents (mTLS): a PEM with certificate and key, or a .p12/.pfx."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from connect_hooks.errors import BadInput

WARN_DAYS = 60
NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)
PKCS12_SUFFIXES = (".p12", ".pfx")


@dataclass(frozen=True)
class ClientCert:
    """A loaded client certificate: the chain and key as PEM (key and password hidden from repr)."""

    source: str
    chain_pem: bytes
    key_pem: bytes = field(repr=False)
    password: str | None = field(default=None, repr=False)  # of an encrypted PEM key
    subject: str = ""
    not_after: dt.datetime = NEVER

    def load_into(self, context: ssl.SSLContext) -> None:
        """Present this certificate from ``context`` (the files live only for the call, mode 0600)."""
        directory = tempfile.mkdtemp(prefix="connect-hooks-client-")
        chain, key = Path(directory, "chain.pem"), Path(directory, "key.pem")
        try:
            for path, data in ((chain, self.chain_pem), (key, self.key_pem)):
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
            password = self.password or ""
            context.load_cert_chain(chain, key, password=lambda: password)
        finally:
            for path in (chain, key):
                path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                os.rmdir(directory)

    def expiry_warning(self, now: dt.datetime) -> str | None:
        """A line when the certificate has expired or expires within ``WARN_DAYS`` days, else None."""
        left = self.not_after - now
        day = self.not_after.date().isoformat()
        if left.total_seconds() <= 0:
            return (
                f"the client certificate {self.source!r} ({self.subject}) expired on {day}: "
                "a receiver that checks it refuses every attempt"
            )
        if left <= dt.timedelta(days=WARN_DAYS):
            days = left.days
            when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
            return f"the client certificate {self.source!r} ({self.subject}) expires {when} ({day}): renew it"
        return None


def _read(path: str, option: str) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise BadInput(f"{option} {path!r} is a directory: give the certificate file")
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{option} {path!r} does not exist: give a PEM (certificate and key) or a .p12/.pfx") from None
    except OSError as exc:
        raise BadInput(
            f"cannot read {option} {path!r}: {exc.strerror or exc}; check the file and its permissions"
        ) from None


def _from_pkcs12(path: str, data: bytes, password: str | None, password_env: str) -> ClientCert:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except (ValueError, TypeError):
        if password is None:
            raise BadInput(
                f"cannot open --client-cert {path!r}: not a PKCS#12 file, or it needs its password in {password_env}"
            ) from None
        raise BadInput(
            f"cannot open --client-cert {path!r}: wrong password in {password_env}, or not a PKCS#12 file"
        ) from None
    if key is None or cert is None:
        raise BadInput(f"--client-cert {path!r} holds no certificate with its private key: export both into the .p12")
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *extra))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ClientCert(
        source=path,
        chain_pem=chain,
        key_pem=key_pem,
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
    )


def load_client_cert(
    cert: str, key: str | None = None, password: str | None = None, *, password_env: str = "the password variable"
) -> ClientCert:
    """Read and check a client certificate; ``BadInput`` (one line) for anything unusable."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = _read(cert, "--client-cert")
    if cert.lower().endswith(PKCS12_SUFFIXES) or (key is None and b"-----BEGIN" not in data):
        if key is not None:
            raise BadInput(f"--client-key goes with a PEM certificate: {cert!r} is a .p12/.pfx and holds its key")
        loaded = _from_pkcs12(cert, data, password, password_env)
    else:
        key_data = _read(key, "--client-key") if key is not None else data
        try:
            certificates = x509.load_pem_x509_certificates(data) if b"CERTIFICATE-----" in data else []
        except ValueError:  # a PEM block that is no certificate: its base64 or its DER is broken
            raise BadInput(
                f"--client-cert {cert!r} holds a CERTIFICATE block that does not parse: give a PEM or a .p12/.pfx"
            ) from None
        if not certificates:
            raise BadInput(f"--client-cert {cert!r} holds no PEM certificate: give a PEM or a .p12/.pfx")
        if b"PRIVATE KEY-----" not in key_data:
            where = f"--client-key {key!r}" if key is not None else f"--client-cert {cert!r}"
            raise BadInput(f"{where} holds no PEM private key: add the key to the file, or give --client-key FILE")
        first = certificates[0]
        loaded = ClientCert(
            source=cert,
            chain_pem=b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates),
            key_pem=key_data,
            password=password,
            subject=first.subject.rfc4514_string(),
            not_after=first.not_valid_after_utc,
        )
    encrypted = b"ENCRYPTED" in loaded.key_pem and not cert.lower().endswith(PKCS12_SUFFIXES)
    if encrypted and password is None:
        raise BadInput(f"the private key of --client-cert {cert!r} is encrypted: set {password_env} to its password")
    try:
        loaded.load_into(ssl.create_default_context())
    except ssl.SSLError:
        why = (
            f"wrong password in {password_env}, or the key does not belong to the certificate"
            if encrypted
            else "the key does not belong to the certificate"
        )
        raise BadInput(f"cannot use the client certificate {cert!r}: {why}") from None
    return loaded
