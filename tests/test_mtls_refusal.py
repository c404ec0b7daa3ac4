"""A receiver that wants a client certificate, met without one: every command says so and names --client-cert.

The servers are real TLS servers on 127.0.0.1 that require a client certificate from their own CA (trustme).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.servers import ScriptedServer

pytestmark = pytest.mark.e2e

HINT = "wants a client certificate (mTLS): give --client-cert"


@dataclass(frozen=True)
class Pki:
    dir: Path
    server_ca: trustme.CA
    client_ca: trustme.CA

    def context(self, *, tls12: bool = False, require: bool = True) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
        if require:
            self.client_ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        if tls12:
            context.maximum_version = ssl.TLSVersion.TLSv1_2
        return context

    @property
    def ca(self) -> list[str]:
        return ["--ca-bundle", str(self.dir / "server-ca.pem")]

    @property
    def cert(self) -> list[str]:
        return ["--client-cert", str(self.dir / "client.pem")]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    where = tmp_path_factory.mktemp("mtls-refusal")
    server_ca, client_ca = trustme.CA(), trustme.CA()
    server_ca.cert_pem.write_to_path(str(where / "server-ca.pem"))
    client_ca.issue_cert("webex-connect@example.test").private_key_and_cert_chain_pem.write_to_path(
        str(where / "client.pem")
    )
    yield Pki(where, server_ca, client_ca)


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env={"COLUMNS": "250"})  # a table cell on one line
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("tls12", [False, True], ids=["tls1.3", "tls1.2"])
def test_send_without_a_client_certificate_is_told_to_give_one(pki: Pki, tls12: bool) -> None:
    with ScriptedServer(tls=pki.context(tls12=tls12)) as server:
        code, out, _ = cli("send", "inbound/sms/mo", server.url, *pki.ca, "--retries", "0", "--json")
        _, people, _ = cli("send", "inbound/sms/mo", server.url, *pki.ca, "--retries", "0")
        given, _, _ = cli("send", "inbound/sms/mo", server.url, *pki.ca, *pki.cert, "--retries", "0")
    assert code == 1
    assert HINT in json.loads(out)["attempts"][0]["error"]
    assert HINT in people
    assert given == 0  # the same receiver takes it with the certificate: it is the certificate it wanted
    assert len(server.posts) == 1


def test_check_conform_and_replay_say_so_too(pki: Pki, tmp_path: Path) -> None:
    log = tmp_path / "sent.ndjson"
    with ScriptedServer() as plain:
        assert cli("send", "inbound/sms/mo", plain.url, "--log", str(log))[0] == 0
    with ScriptedServer(tls=pki.context()) as server:
        checked = cli("check", server.url, *pki.ca)
        conformed = cli("conform", server.url, *pki.ca, "--json", "--only", "url-tls,duplicate-delivery")
        replayed = cli("replay", str(log), server.url, *pki.ca, "--retries", "0", "--json")
    assert checked[0] == 1 and HINT in checked[1]
    assert conformed[0] == 1
    assert {c["id"] for c in json.loads(conformed[1])["checks"] if HINT in c["message"]} == {"url-tls"}
    assert replayed[0] == 1 and HINT in json.loads(replayed[1])[0]["attempts"][0]["error"]
    assert server.posts == []


def test_a_connection_dropped_with_a_certificate_given_gets_no_such_hint(pki: Pki) -> None:
    with ScriptedServer(script=["close"], tls=pki.context()) as server:
        code, out, _ = cli("send", "inbound/sms/mo", server.url, *pki.ca, *pki.cert, "--retries", "0", "--json")
    error = json.loads(out)["attempts"][0]["error"]
    assert code == 1 and error and "client certificate" not in error
    assert len(server.posts) == 1  # the certificate was taken; the receiver itself dropped the request


def test_the_tls13_alert_itself_is_read_as_certificate_required() -> None:
    from connect_hooks.client.attempt import classify

    alert = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")
    alert.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    assert classify(alert, 10)[1] == f"TLS failed: the receiver {HINT}"
