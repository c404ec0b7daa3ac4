"""The local test CA: files, names, permissions, and a real handshake on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import ssl
import stat
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from connect_hooks.client.transport import make_client
from connect_hooks.errors import BadInput
from connect_hooks.receiver.app import ReceiverApp, ReceiverSettings
from connect_hooks.receiver.server import bind, serving
from connect_hooks.receiver.tls import LocalTLS, make_local_tls, remove_local_tls
from tests.support import run


@pytest.fixture
def tls(tmp_path: Path) -> LocalTLS:
    return make_local_tls(tmp_path / "tls")


def test_the_files_are_pem_and_the_key_is_private(tls: LocalTLS) -> None:
    assert tls.ca_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert tls.cert_path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE KEY-----" in tls.key_path.read_bytes()
    assert stat.S_IMODE(tls.key_path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" not in tls.ca_path.read_bytes()


def test_the_certificate_names_every_loopback_spelling_and_is_issued_by_the_ca(tls: LocalTLS) -> None:
    cert = x509.load_pem_x509_certificate(tls.cert_path.read_bytes())
    ca = x509.load_pem_x509_certificate(tls.ca_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    assert cert.issuer == ca.subject
    assert isinstance(tls.server_context(), ssl.SSLContext)


def test_a_temp_dir_is_made_when_none_is_given_and_removed_after() -> None:
    tls = make_local_tls()
    try:
        assert tls.directory.name.startswith("connect-hooks-tls-")
        assert tls.ca_path.parent == tls.directory
    finally:
        remove_local_tls(tls)
    assert not tls.directory.exists()


def test_an_unwritable_directory_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(BadInput, match="cannot create"):
        make_local_tls(blocker / "tls")


@pytest.mark.e2e
def test_a_client_trusting_the_ca_verifies_the_receiver_and_one_that_does_not_refuses(tls: LocalTLS) -> None:
    async def scenario() -> tuple[int, str]:
        app = ReceiverApp(ReceiverSettings())
        async with serving(app, bind("127.0.0.1", 0), tls=tls, log_level="critical") as where:
            assert where.url.startswith("https://127.0.0.1:")
            async with make_client(ca_bundle=tls.ca_path) as trusting:
                status = (await trusting.head(where.url)).status_code
            async with make_client() as default:
                try:
                    await default.head(where.url)
                except httpx.ConnectError as exc:
                    refused = str(exc)
                else:
                    refused = "it was trusted"
        return status, refused

    status, refused = run(scenario())
    assert status == 200
    assert "CERTIFICATE_VERIFY_FAILED" in refused
