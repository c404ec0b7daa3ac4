"""Webhook profiles: connect-hooks.toml, --webhook NAME, and 'connect-hooks webhooks'."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_hooks import sign
from connect_hooks.cli import profiles
from connect_hooks.cli.main import main
from connect_hooks.errors import BadInput
from tests.auth_receivers import AuthReceiver, serve

HUB = "profile-hub-secret-Q7"
PASSWORD = "s3cret-pass"


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    fast = ["--fast"] if args[0] == "send" and "--fast" not in args else []  # a broken run must not wait minutes
    return CliRunner().invoke(main, [*args, *fast], env=env)


@pytest.fixture
def here(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


def write_profiles(where: Path, url: str, *, extra: str = "") -> Path:
    path = where / "connect-hooks.toml"
    path.write_text(
        f"""
[webhooks.prod]
url = "{url}"
algorithm = "sha512"
secret_env = "PROD_HUB"

[webhooks.prod.auth]
type = "basic"
user = "alice"
password_env = "PROD_PASSWORD"

[webhooks.staging]
url = "https://staging.example.test/hooks"
{extra}
"""
    )
    return path


def test_send_takes_url_secret_and_auth_from_the_profile(here: Path) -> None:
    receiver = AuthReceiver("basic")
    env = {"PROD_HUB": HUB, "PROD_PASSWORD": PASSWORD}
    with serve(receiver) as port:
        write_profiles(here, f"http://127.0.0.1:{port}/hooks")
        result = cli("send", "receipt/sms/delivered", "--webhook", "prod", "--json", env=env)
        override = cli("send", "receipt/sms/delivered", "--webhook", "prod", "--algorithm", "sha256", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["algorithm"] == "sha512"
    assert json.loads(override.stdout)["algorithm"] == "sha256"  # the command line wins
    first, second = receiver.seen
    assert first.ok and second.ok
    assert first.headers["x-hub-signature"] == sign(first.body, HUB, "sha512")  # the profile's secret_env
    assert second.headers["x-hub-signature"] == sign(second.body, HUB, "sha256")


def test_the_command_line_url_and_auth_win(here: Path) -> None:
    receiver = AuthReceiver("api-key")
    with serve(receiver) as port:
        write_profiles(here, "https://never.example.test/hooks")
        result = cli("send", "receipt/sms/delivered", f"http://127.0.0.1:{port}/hooks", "--webhook", "prod",
                     "--auth", "api-key", "--api-key-header", "X-API-Key", "--json",
                     env={"PROD_HUB": HUB, "CONNECT_HOOKS_API_KEY": "key-123"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [s.ok for s in receiver.seen] == [True]
    assert "authorization" not in receiver.seen[0].headers  # the profile's basic auth was dropped


def test_pyproject_and_config_file(here: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    (here / "pyproject.toml").write_text('[tool.connect-hooks.webhooks.py]\nurl = "https://py.example.test/"\n')
    listed = cli("webhooks", "--json")
    assert [w["name"] for w in json.loads(listed.stdout)] == ["py"]
    other = tmp_path_factory.mktemp("elsewhere") / "hooks.toml"
    other.write_text('[webhooks.other]\nurl = "https://other.example.test/"\nca_bundle = "ca.pem"\n')
    listed = cli("webhooks", "--config", str(other), "--json")
    (document,) = json.loads(listed.stdout)
    assert (document["name"], document["ca_bundle"]) == ("other", str(other.parent / "ca.pem"))


def test_webhooks_lists_profiles_with_secrets_masked(here: Path) -> None:
    write_profiles(here, "https://prod.example.test/hooks")
    result = cli("webhooks", env={"PROD_HUB": HUB, "PROD_PASSWORD": PASSWORD})
    assert result.exit_code == 0
    assert HUB not in result.stdout and PASSWORD not in result.stdout
    assert "$PROD_HUB ******** (fingerprint" in result.stdout
    document = json.loads(cli("webhooks", "--json", env={"PROD_HUB": HUB}).stdout)
    assert document[0]["auth"] == {"type": "basic", "user": "alice", "password": "$PROD_PASSWORD (not set)"}
    assert document[1]["hub_secret"] is None
    empty = cli("webhooks", "--config", str(here / "connect-hooks.toml"))
    assert empty.exit_code == 0


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ('secret = "abc"', 'holds a literal secret (secret = ...): never store secrets in the file; write secret_env = "VARIABLE" instead'),
        ('[webhooks.staging.auth]\ntype = "basic"\npassword = "pw"', "holds a literal secret (password = ...)"),
        ('[webhooks.staging.auth]\ntype = "oauth2"\nclient_secret = "x"', 'write client_secret_env = "VARIABLE"'),
        ("urll = 1", "unknown key 'urll'"),
        ('algorithm = "md5"', "algorithm = 'md5' is not one of sha256, sha512"),
        ('[webhooks.staging.auth]\ntype = "kerberos"', "type = 'kerberos' is not one of basic"),
        ('[webhooks.staging.auth]\nuser = "u"', "has no type"),
    ],
)  # fmt: skip
def test_bad_profiles_are_one_line_exit_2(here: Path, extra: str, fragment: str) -> None:
    write_profiles(here, "https://prod.example.test/hooks", extra=extra)
    for args in (["webhooks"], ["send", "receipt/sms/delivered", "--webhook", "prod"]):
        result = cli(*args, env={"PROD_HUB": HUB})
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
        assert fragment in result.stderr
        assert "abc" not in result.stderr and '"pw"' not in result.stderr


def test_missing_profile_file_or_name_or_secret(here: Path) -> None:
    none = cli("send", "receipt/sms/delivered", "--webhook", "prod")
    assert none.exit_code == 2
    assert none.stderr.startswith("error: no webhook profiles in connect-hooks.toml")
    write_profiles(here, "https://prod.example.test/hooks")
    unknown = cli("send", "receipt/sms/delivered", "--webhook", "prd")
    assert unknown.exit_code == 2
    assert "no webhook profile 'prd'" in unknown.stderr and "known profiles are prod, staging" in unknown.stderr
    no_target = cli("send", "--webhook", "prod")
    assert (
        no_target.stderr
        == "error: --webhook prod gives the URL; the TARGET is still needed: e.g. receipt/sms/delivered\n"
    )
    unset = cli("send", "receipt/sms/delivered", "--webhook", "prod")
    assert unset.stderr == "error: webhook 'prod' takes its hub secret from PROD_HUB, which is not set: set it\n"
    lone = cli("send", "receipt/sms/delivered", "https://x.example.test/", "--config", "connect-hooks.toml")
    assert lone.exit_code == 2 and "add --webhook NAME" in lone.stderr
    missing = cli("webhooks", "--config", "nope.toml")
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_check_takes_url_and_auth_from_the_profile(here: Path) -> None:
    receiver = AuthReceiver("basic")
    with serve(receiver) as port:
        write_profiles(here, f"http://127.0.0.1:{port}/hooks")
        result = cli("check", "--webhook", "prod", "--json", env={"PROD_HUB": HUB, "PROD_PASSWORD": PASSWORD})
    assert json.loads(result.stdout)["status"] == 200
    assert [(s.method, s.ok) for s in receiver.seen] == [("HEAD", True)]
    assert "x-hub-signature" not in receiver.seen[0].headers


def test_listing_profiles_loads_no_http_stack(here: Path) -> None:
    from tests.test_meta import loaded_by

    write_profiles(here, "https://prod.example.test/hooks")
    assert loaded_by("webhooks", "--json")["heavy"] == []


def test_profile_client_certificate_with_its_password_reference(here: Path) -> None:
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12

    from tests.auth_receivers import mtls_options

    server_ca, client_ca = trustme.CA(), trustme.CA()
    server = server_ca.issue_cert("localhost")
    server_ca.cert_pem.write_to_path(str(here / "server-ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(here / "server.pem"))
    server.private_key_pem.write_to_path(str(here / "server-key.pem"))
    client_ca.cert_pem.write_to_path(str(here / "client-ca.pem"))
    client = client_ca.issue_cert("webex@example.test")
    key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # trustme's keys, which PKCS#12 takes
    cert = x509.load_pem_x509_certificate(client.cert_chain_pems[0].bytes())
    (here / "certs").mkdir()
    (here / "certs" / "client.p12").write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"c",
            key,
            cert,
            None,
            serialization.BestAvailableEncryption(b"p12-pass"),
        )
    )
    receiver = AuthReceiver("none")
    options = mtls_options(str(here / "server.pem"), str(here / "server-key.pem"), str(here / "client-ca.pem"))
    with serve(receiver, tls=options) as port:
        (here / "connect-hooks.toml").write_text(
            f"""
[webhooks.mtls]
url = "https://localhost:{port}/hooks"
ca_bundle = "server-ca.pem"
client_cert = "certs/client.p12"
client_cert_password_env = "MTLS_P12_PASSWORD"
"""
        )
        (here / "elsewhere").mkdir()
        os.chdir(here / "elsewhere")  # relative paths are relative to the profiles file, not the cwd
        result = cli("send", "receipt/sms/delivered", "--webhook", "mtls", "--config", "../connect-hooks.toml",
                     "--json", env={"MTLS_P12_PASSWORD": "p12-pass"})  # fmt: skip
        wrong = cli("send", "receipt/sms/delivered", "--webhook", "mtls", "--config", "../connect-hooks.toml",
                    env={"MTLS_P12_PASSWORD": "nope"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [s.ok for s in receiver.seen] == [True]
    assert wrong.exit_code == 2
    assert "wrong password in MTLS_P12_PASSWORD" in wrong.stderr


KEYS = sorted((profiles.WEBHOOK_KEYS - {"auth"}) | set(profiles.LITERAL_SECRETS) | {"nonsense"})
AUTH_TABLE_KEYS = sorted(set(profiles.AUTH_KEYS) | set(profiles.LITERAL_SECRETS) | {"nonsense"})
VALUES = st.one_of(
    st.sampled_from(["sha256", "backoff", "basic", "oauth2", "body", "https://x.test/", "VAR"]),
    st.text(max_size=12),
    st.integers(),
    st.booleans(),
)


def toml_value(value: object) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


@settings(max_examples=150, deadline=None)
@given(
    table=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=5),
    auth=st.none() | st.dictionaries(st.sampled_from(AUTH_TABLE_KEYS), VALUES, max_size=4),
)
def test_any_profile_loads_or_is_one_line_of_bad_input(
    tmp_path_factory: pytest.TempPathFactory, table: dict[str, object], auth: dict[str, object] | None
) -> None:
    lines = ["[webhooks.w]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    if auth is not None:
        lines += ["[webhooks.w.auth]", *(f"{k} = {toml_value(v)}" for k, v in auth.items())]
    path = tmp_path_factory.mktemp("hyp") / "connect-hooks.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        (webhook,) = profiles.load_webhooks(str(path), path.parent)
    except BadInput as exc:
        assert "\n" not in str(exc)
        return
    literal = set(profiles.LITERAL_SECRETS)
    assert not literal & set(table) and not literal & set(auth or {})  # never accepted
    assert webhook.url == table.get("url")
