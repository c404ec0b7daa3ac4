from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

pytest_plugins = ["pytester"]  # the pytest plugin is tested the way pytest plugins are


@dataclass(frozen=True)
class LocalCA:
    ca: trustme.CA
    ca_path: Path

    def server_context(self, *, expired: bool = False) -> ssl.SSLContext:
        import datetime as dt

        if expired:
            past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
            cert = self.ca.issue_cert("localhost", "127.0.0.1", not_before=past, not_after=past + dt.timedelta(days=1))
        else:
            cert = self.ca.issue_cert("localhost", "127.0.0.1")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCA]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    yield LocalCA(ca, path)


#: Credentials the sender reads from the environment (issue 11): no test sees the developer's.
CREDENTIAL_VARIABLES = (
    "CONNECT_HOOKS_AUTH_PASSWORD",
    "CONNECT_HOOKS_API_KEY",
    "CONNECT_HOOKS_CLIENT_SECRET",
    "CONNECT_HOOKS_CLIENT_CERT_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


@pytest.fixture(autouse=True)
def _no_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECT_HOOKS_SECRET", raising=False)
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
