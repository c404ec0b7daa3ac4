"""--client-cert given something that is not a usable certificate: bad input (one line, exit 2), on every
command that takes it, and nothing sent."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.servers import ScriptedServer


def _pem(kind: str, der: bytes) -> bytes:
    return f"-----BEGIN {kind}-----\n".encode() + base64.encodebytes(der) + f"-----END {kind}-----\n".encode()


def _bad_files(directory: Path) -> dict[str, tuple[Path, Path | None]]:
    """name -> (--client-cert, --client-key or None): none of them a usable client certificate."""
    real = trustme.CA().issue_cert("client.test")
    cert_pem = real.cert_chain_pems[0].bytes()
    files = {
        "text.pem": b"hello, not a certificate\n",
        "broken-base64.pem": b"-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
        "not-der.pem": _pem("CERTIFICATE", b"\x00" * 32) + _pem("PRIVATE KEY", b"\x00" * 32),
        "random.p12": os.urandom(300),
        "empty.p12": b"",
        "key-only.pem": real.private_key_pem.bytes(),
        "cert-garbage-key.pem": cert_pem + _pem("PRIVATE KEY", b"\x00" * 32),
        "cert.pem": cert_pem,
        "garbage.key": b"-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n",
    }
    for name, data in files.items():
        (directory / name).write_bytes(data)
    cases: dict[str, tuple[Path, Path | None]] = {
        name: (directory / name, None) for name in files if name not in ("cert.pem", "garbage.key")
    }
    cases["cert-with-garbage-key-file"] = (directory / "cert.pem", directory / "garbage.key")
    cases["cert-without-key"] = (directory / "cert.pem", None)
    return cases


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path | None]]:
    return _bad_files(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def send_log(tmp_path: Path) -> Path:
    """A send log with one notification, for replay (written against a server of its own)."""
    log = tmp_path / "send.ndjson"
    with ScriptedServer() as other:
        result = CliRunner().invoke(main, ["send", "receipt/sms/delivered", other.url, "--log", str(log), "--json"])
    assert result.exit_code == 0, result.output
    return log


COMMANDS = {
    "send": ["send", "receipt/sms/delivered", "{url}"],
    "check": ["check", "{url}"],
    "conform": ["conform", "{url}"],
    "replay": ["replay", "{log}", "{url}"],
}
CASE_NAMES = [
    "text.pem",
    "broken-base64.pem",
    "not-der.pem",
    "random.p12",
    "empty.p12",
    "key-only.pem",
    "cert-garbage-key.pem",
    "cert-with-garbage-key-file",
    "cert-without-key",
]


@pytest.mark.parametrize("case", CASE_NAMES)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_file_that_is_not_a_client_certificate_is_bad_input(
    command: str,
    case: str,
    bad_files: dict[str, tuple[Path, Path | None]],
    server: ScriptedServer,
    send_log: Path,
) -> None:
    cert, key = bad_files[case]
    argv = [a.replace("{url}", server.url).replace("{log}", str(send_log)) for a in COMMANDS[command]]
    argv += ["--client-cert", str(cert)] + (["--client-key", str(key)] if key is not None else [])
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ") and "client" in result.stderr, result.stderr
    assert server.requests == []
