"""Bad input, command by command: one line on stderr, exit 2, no traceback, nothing sent."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.servers import ScriptedServer

URL = "{url}"  # replaced by the scripted server's URL: anything sent would be seen there


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "blank.json").write_bytes(b"  \n")
    (tmp_path / "broken.json").write_bytes(b'{"a": ')
    (tmp_path / "latin1.json").write_bytes(b'{"a": "\xe9"}')
    (tmp_path / "dir.json").mkdir()
    (tmp_path / "plain").write_text("x")
    (tmp_path / "empty-secret").write_text("")
    (tmp_path / "newline-secret").write_text("\n")
    (tmp_path / "not-a-ca.pem").write_text("hello")
    return tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


CASES: list[tuple[str, list[str], dict[str, str | None], str]] = [
    # (id, argv, environment, a fragment the one line must contain)
    ("send-ftp-url", ["send", "inbound/sms/mo", "ftp://example.test/x"], {}, "not an http(s) URL"),
    ("send-no-host", ["send", "inbound/sms/mo", "https://"], {}, "has no host"),
    ("send-no-scheme", ["send", "inbound/sms/mo", "example.test/hooks"], {}, "not an http(s) URL"),
    ("send-bad-port", ["send", "inbound/sms/mo", "https://example.test:70000/"], {}, "not a valid URL"),
    ("send-http-remote", ["send", "inbound/sms/mo", "http://example.test/"], {}, "--allow-http"),
    ("send-unknown-sample", ["send", "receipt/sms/deliverd", URL], {}, "did you mean receipt/sms/delivered"),
    ("send-missing-file", ["send", "{files}/missing.json", URL], {}, "is neither a file nor a sample name"),
    ("send-empty-file", ["send", "{files}/empty.json", URL], {}, "is empty"),
    ("send-blank-file", ["send", "{files}/blank.json", URL], {}, "is empty"),
    ("send-not-json", ["send", "{files}/broken.json", URL], {}, "is not valid JSON"),
    ("send-not-utf8", ["send", "{files}/latin1.json", URL], {}, "is not valid JSON"),
    ("send-directory", ["send", "{files}/dir.json", URL], {}, "is a directory"),
    ("send-unreadable", ["send", "{files}/plain/x.json", URL], {}, "cannot read"),
    ("send-empty-secret", ["send", "inbound/sms/mo", URL, "--secret", ""], {}, "empty"),
    ("send-empty-env-secret", ["send", "inbound/sms/mo", URL], {"CONNECT_HOOKS_SECRET": ""}, "set but empty"),
    ("send-empty-secret-file", ["send", "inbound/sms/mo", URL, "--secret-file", "{files}/empty-secret"], {}, "empty"),
    ("send-newline-secret", ["send", "inbound/sms/mo", URL, "--secret-file", "{files}/newline-secret"], {}, "empty"),
    (
        "send-missing-secret-file",
        ["send", "inbound/sms/mo", URL, "--secret-file", "{files}/nope"],
        {},
        "does not exist",
    ),
    (
        "send-two-secrets",
        ["send", "inbound/sms/mo", URL, "--secret", "a", "--secret-file", "{files}/plain"],
        {},
        "once",
    ),
    ("send-algorithm", ["send", "inbound/sms/mo", URL, "--algorithm", "md5"], {}, "'md5' is not one of"),
    ("send-negative-retries", ["send", "inbound/sms/mo", URL, "--retries", "-1"], {}, "--retries"),
    ("send-zero-timeout", ["send", "inbound/sms/mo", URL, "--timeout", "0"], {}, "--timeout"),
    ("send-negative-timeout", ["send", "inbound/sms/mo", URL, "--timeout", "-3"], {}, "--timeout"),
    ("send-zero-speed", ["send", "inbound/sms/mo", URL, "--speed", "0"], {}, "--speed"),
    ("send-zero-interval", ["send", "inbound/sms/mo", URL, "--interval", "0"], {}, "--interval"),
    ("send-fast-and-speed", ["send", "inbound/sms/mo", URL, "--fast", "--speed", "60"], {}, "--fast and --speed"),
    ("send-bad-header", ["send", "inbound/sms/mo", URL, "-H", "NoColonHere"], {}, "is not 'Name: value'"),
    ("send-missing-ca", ["send", "inbound/sms/mo", URL, "--ca-bundle", "{files}/nope.pem"], {}, "--ca-bundle"),
    ("send-bad-ca", ["send", "inbound/sms/mo", URL, "--ca-bundle", "{files}/not-a-ca.pem"], {}, "--ca-bundle"),
    ("send-log-in-missing-dir", ["send", "inbound/sms/mo", URL, "--log", "{files}/no/such/dir.ndjson"], {}, "log"),
    ("send-log-directory", ["send", "inbound/sms/mo", URL, "--log", "{files}/dir.json"], {}, "directory"),
    ("send-no-target", ["send", URL], {}, "send needs a TARGET and then a URL"),
    ("send-no-url", ["send", "receipt/sms/delivered"], {}, "send needs a TARGET and then a URL"),
    ("send-url-first", ["send", URL, "receipt/sms/delivered"], {}, "the URL goes last"),
    ("send-url-escape", ["send", "inbound/sms/mo", URL + "/\x1b[2J"], {}, "control character (U+001B"),
    ("check-url-bell", ["check", URL + "/\x07"], {}, "control character (U+0007"),
    ("conform-url-newline", ["conform", URL + "/a\nb"], {}, "control character (U+000A"),
    ("send-header-beyond-latin-1", ["send", "inbound/sms/mo", URL, "-H", "X-Note: 日本"], {}, "U+65E5"),
    ("conform-header-escape", ["conform", URL, "-H", "X-Note: \x1b[2J"], {}, "U+001B"),
    ("send-timeout-nan", ["send", "inbound/sms/mo", URL, "--timeout", "nan"], {}, "--timeout"),
    ("check-not-url", ["check", "nonsense"], {}, "not an http(s) URL"),
    ("check-no-host", ["check", "https:///path"], {}, "has no host"),
    ("check-zero-timeout", ["check", URL, "--timeout", "0"], {}, "--timeout"),
    ("check-missing-ca", ["check", URL, "--ca-bundle", "{files}/nope.pem"], {}, "--ca-bundle"),
    ("policy-600", ["policy", "600"], {}, "from 100 to 599"),
    ("policy-word", ["policy", "maybe"], {}, "from 100 to 599"),
    ("policy-negative-retries", ["policy", "500", "--retries", "-2"], {}, "--retries"),
    ("policy-zero-interval", ["policy", "500", "--interval", "0"], {}, "--interval"),
    ("samples-show-unknown", ["samples", "show", "receipt/sms/nope"], {}, "no sample named"),
    ("samples-list-nothing", ["samples", "list", "receipt/carrier-pigeon/*"], {}, "no sample"),
    ("samples-bad-set", ["samples", "show", "inbound/sms/mo", "--set", "no-equals-sign"], {}, "--set"),
    ("samples-bad-set-json", ["samples", "show", "inbound/sms/mo", "--set", "message:={oops"], {}, "--set"),
    ("send-set-missing-parent", ["send", "inbound/sms/mo", URL, "--set", "no.such.path=1"], {}, "no.such.path"),
    ("send-set-on-a-file", ["send", "{files}/plain", URL, "--set", "a=1"], {}, "--set"),
    ("listen-port-negative", ["listen", "--port", "-1"], {}, "--port"),
    ("listen-auth-unknown", ["listen", "--require-auth", "kerberos"], {}, "'kerberos' is not one of"),
    (
        "listen-basic-no-user",
        ["listen", "--require-auth", "basic"],
        {"CONNECT_HOOKS_AUTH_PASSWORD": "p"},
        "--auth-user",
    ),
    (
        "listen-basic-no-password",
        ["listen", "--require-auth", "basic", "--auth-user", "u"],
        {"CONNECT_HOOKS_AUTH_PASSWORD": None},
        "set CONNECT_HOOKS_AUTH_PASSWORD or give --auth-password-file FILE",
    ),
    (
        "listen-digest-empty-password",
        ["listen", "--require-auth", "digest", "--auth-user", "u"],
        {"CONNECT_HOOKS_AUTH_PASSWORD": ""},
        "set but empty",
    ),
    (
        "listen-digest-password-file-empty",
        ["listen", "--require-auth", "digest", "--auth-user", "u", "--auth-password-file", "{files}/empty-secret"],
        {},
        "is empty",
    ),
    (
        "listen-api-key-no-header",
        ["listen", "--require-auth", "api-key"],
        {"CONNECT_HOOKS_API_KEY": "k"},
        "--api-key-header",
    ),
    (
        "listen-api-key-file-missing",
        ["listen", "--require-auth", "api-key", "--api-key-header", "X-Key", "--api-key-file", "{files}/nope"],
        {},
        "does not exist",
    ),
    (
        "listen-bearer-no-client-id",
        ["listen", "--require-auth", "bearer"],
        {"CONNECT_HOOKS_CLIENT_SECRET": "s"},
        "--client-id",
    ),
    (
        "listen-bearer-no-secret",
        ["listen", "--require-auth", "bearer", "--client-id", "c"],
        {"CONNECT_HOOKS_CLIENT_SECRET": None},
        "CONNECT_HOOKS_CLIENT_SECRET",
    ),
    ("listen-bearer-zero-ttl", ["listen", "--require-auth", "bearer", "--token-ttl", "0"], {}, "--token-ttl"),
    (
        "listen-aws-no-keys",
        ["listen", "--require-auth", "aws-sigv4", "--aws-region", "eu-west-1", "--aws-service", "execute-api"],
        {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None},
        "needs AWS_ACCESS_KEY_ID",
    ),
    (
        "listen-aws-no-region",
        ["listen", "--require-auth", "aws-sigv4", "--aws-service", "execute-api"],
        {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"},
        "--aws-region",
    ),
    ("listen-credential-without-auth", ["listen", "--auth-user", "u"], {}, "only used with --require-auth"),
    ("listen-client-cert-without-tls", ["listen", "--require-client-cert"], {}, "--require-client-cert needs --tls"),
    ("listen-client-ca-without-tls", ["listen", "--client-ca", "{files}/plain"], {}, "--client-ca needs --tls"),
    ("listen-client-ca-missing", ["listen", "--tls", "--client-ca", "{files}/nope.pem"], {}, "does not exist"),
    ("listen-client-ca-not-a-ca", ["listen", "--tls", "--client-ca", "{files}/not-a-ca.pem"], {}, "holds no PEM CA"),
    (
        "listen-empty-p12-password",
        ["listen", "--tls", "--require-client-cert"],
        {"CONNECT_HOOKS_CLIENT_CERT_PASSWORD": ""},
        "set but empty",
    ),
    ("listen-port-too-big", ["listen", "--port", "65536"], {}, "--port"),
    ("listen-port-in-use", ["listen", "--port", "{busy_port}"], {}, "already in use"),
    ("listen-bad-respond", ["listen", "--respond", "ok"], {}, "--respond"),
    ("listen-negative-delay", ["listen", "--delay", "-1"], {}, "--delay"),
    ("listen-empty-secret-file", ["listen", "--secret-file", "{files}/empty-secret"], {}, "empty"),
    ("listen-log-directory", ["listen", "--log", "{files}/dir.json"], {}, "directory"),
    # sign and verify with no hub secret: exact messages in test_sign_verify_cli
    ("sign-missing-file", ["sign", "--secret", "s", "{files}/missing.json"], {}, "does not exist"),
    ("sign-directory", ["sign", "--secret", "s", "{files}/dir.json"], {}, "directory"),
    ("sign-algorithm", ["sign", "--secret", "s", "--algorithm", "sha1", "{files}/plain"], {}, "'sha1' is not one of"),
    ("verify-no-signature", ["verify", "--secret", "s", "{files}/plain"], {}, "--signature"),
    ("demo-extra-argument", ["demo", "now"], {}, "unexpected extra argument"),
    ("conform-not-url", ["conform", "nonsense"], {}, "not an http(s) URL"),
    ("conform-unknown-check", ["conform", URL, "--only", "accepts,raw-byte"], {}, "--only 'raw-byte' is not a check"),
    ("conform-unknown-channel", ["conform", URL, "--channel", "telex"], {}, "--channel 'telex' is not a channel"),
    ("conform-junit-directory", ["conform", URL, "--junit", "{files}/dir.json"], {}, "is a directory"),
    ("conform-empty-secret", ["conform", URL, "--secret-file", "{files}/empty-secret"], {}, "empty"),
    ("unknown-command", ["sendd"], {}, "No such command"),
]


@pytest.mark.parametrize(("argv", "env", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input(
    argv: list[str], env: dict[str, str | None], fragment: str, files: Path, server: ScriptedServer, busy_port: int
) -> None:
    args = [
        a.replace("{url}", server.url).replace("{files}", str(files)).replace("{busy_port}", str(busy_port))
        for a in argv
    ]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert server.requests == []
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 30
    assert {argv[0] for _, argv, _, _ in CASES} >= {
        "send",
        "check",
        "policy",
        "samples",
        "listen",
        "sign",
        "verify",
        "demo",
        "conform",
    }
