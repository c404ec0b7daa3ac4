"""``connect-hooks sign`` and ``connect-hooks verify`` through click's CliRunner, with exact output."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connect_hooks.cli.main import main

SECRET = "cli-hub-secret"
BODY = b'{"deliveryInfoNotification":{"deliveryInfo":{"deliveryStatus":"Delivered"}}}'


def hexmac(body: bytes, secret: str = SECRET, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def invoke(*args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), input=input, env=env)
    assert SECRET not in result.stdout + result.stderr
    return result


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(BODY)
    return path


# -------------------------------------------------------------------------------------------- sign


def test_sign_a_file(body_file: Path) -> None:
    result = invoke("sign", "--secret", SECRET, str(body_file))
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"sha256={hexmac(BODY)}\n", "")


def test_sign_any_bytes_from_stdin_exactly() -> None:
    raw = b"\x00\xffnot json at all\n"
    result = invoke("sign", "--secret", SECRET, input=raw)
    assert (result.exit_code, result.stdout) == (0, f"sha256={hexmac(raw)}\n")
    assert invoke("sign", "--secret", SECRET, "-", input=raw).stdout == result.stdout


def test_sign_the_empty_body() -> None:
    assert invoke("sign", "--secret", SECRET, input=b"").stdout == f"sha256={hexmac(b'')}\n"


def test_sign_sha512_bare(body_file: Path) -> None:
    result = invoke("sign", "--secret", SECRET, "--algorithm", "sha512", "--signature-style", "bare", str(body_file))
    assert (result.exit_code, result.stdout) == (0, hexmac(BODY, algorithm="sha512") + "\n")


def test_sign_json(body_file: Path) -> None:
    result = invoke("sign", "--secret", SECRET, "--json", str(body_file))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "header": "x-hub-signature",
        "value": f"sha256={hexmac(BODY)}",
        "algorithm": "sha256",
        "style": "prefixed",
        "bytes": len(BODY),
    }


def test_sign_takes_the_secret_from_the_environment_or_a_file(body_file: Path, tmp_path: Path) -> None:
    expected = f"sha256={hexmac(BODY)}\n"
    assert invoke("sign", str(body_file), env={"CONNECT_HOOKS_SECRET": SECRET}).stdout == expected
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    assert invoke("sign", "--secret-file", str(secret_file), str(body_file)).stdout == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sign", "-"], "error: no hub secret: give --secret, CONNECT_HOOKS_SECRET or --secret-file\n"),
        (
            ["sign", "--secret", "", "-"],
            "error: the hub secret from --secret is empty: give a non-empty secret\n",
        ),
        (
            ["sign", "--secret", SECRET, "missing.json"],
            "error: 'missing.json' does not exist: give the file that holds the body, or - for stdin\n",
        ),
        (["verify", "--secret", SECRET, "-"], None),
        (
            ["verify", "--signature", "sha256=00", "-"],
            "error: no hub secret: give --secret, CONNECT_HOOKS_SECRET or --secret-file\n",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str | None) -> None:
    result = invoke(*args, input=BODY)  # conftest keeps CONNECT_HOOKS_SECRET out of the environment
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    if message is not None:
        assert result.stderr == message
    else:
        assert "--signature" in result.stderr


def test_a_directory_is_bad_input(tmp_path: Path) -> None:
    result = invoke("sign", "--secret", SECRET, str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == f"error: {str(tmp_path)!r} is a directory: give a file, or - for stdin\n"


# ------------------------------------------------------------------------------------------ verify


def test_verify_a_match_exits_0(body_file: Path) -> None:
    result = invoke("verify", "--secret", SECRET, "--signature", f"sha256={hexmac(BODY)}", str(body_file))
    assert (result.exit_code, result.stdout) == (0, "match: the signature matches (sha256, prefixed)\n")


def test_verify_a_bare_sha512_from_stdin() -> None:
    result = invoke("verify", "--secret", SECRET, "--signature", hexmac(BODY, algorithm="sha512"), input=BODY)
    assert (result.exit_code, result.stdout) == (0, "match: the signature matches (sha512, bare)\n")


def test_verify_a_saved_file_with_a_final_newline_says_so(tmp_path: Path) -> None:
    saved = tmp_path / "saved.json"
    saved.write_bytes(BODY + b"\n")
    result = invoke("verify", "--secret", SECRET, "--signature", f"sha256={hexmac(BODY)}", str(saved))
    assert result.exit_code == 1
    assert result.stdout == (
        "mismatch: the signature does not match as given; "
        "it matches with the body without its trailing newline\n"
        "fix: sign and verify the exact bytes: a final newline was added (an editor, echo, a file)\n"
    )


def test_verify_a_pretty_printed_body_says_so() -> None:
    pretty = json.dumps(json.loads(BODY), indent=2).encode()
    result = invoke("verify", "--secret", SECRET, "--signature", f"sha256={hexmac(BODY)}", input=pretty)
    assert result.exit_code == 1
    assert result.stdout == (
        "mismatch: the signature does not match as given; it matches with "
        "the body re-serialized as compact JSON (how Webex Connect sends it)\n"
        "fix: verify the raw request bytes as received, before any JSON parsing or re-serializing\n"
    )


def test_verify_with_a_stray_newline_in_the_secret() -> None:
    result = invoke("verify", "--secret", SECRET + "\n", "--signature", f"sha256={hexmac(BODY)}", input=BODY)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "mismatch: the signature does not match as given; it matches with "
        "the secret without its leading/trailing whitespace",
        "fix: the secret you gave has stray whitespace: remove it",
    ]


def test_verify_with_the_wrong_secret_says_nothing_explains_it() -> None:
    result = invoke("verify", "--secret", "other", "--signature", f"sha256={hexmac(BODY)}", input=BODY)
    assert result.exit_code == 1
    assert result.stdout.startswith("mismatch: the signature does not match, and none of ")
    assert result.stdout.endswith(
        " usual causes explains it: the secret is wrong or the body is not the one that was signed\n"
    )


def test_verify_json(body_file: Path) -> None:
    header = "sha512=" + hexmac(BODY)
    result = invoke("verify", "--secret", SECRET, "--signature", header, "--json", str(body_file))
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["bytes"] == len(BODY)
    assert (document["matches"], document["algorithm"], document["style"]) == (False, "sha256", "prefixed")
    assert document["cause"]["causes"] == ["algorithm"]


def test_sign_then_verify_round_trip_through_the_cli(body_file: Path) -> None:
    for algorithm in ("sha256", "sha512"):
        header = invoke("sign", "--secret", SECRET, "--algorithm", algorithm, str(body_file)).stdout.strip()
        assert invoke("verify", "--secret", SECRET, "--signature", header, str(body_file)).exit_code == 0
