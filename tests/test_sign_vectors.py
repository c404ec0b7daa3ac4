"""`connect-hooks sign --vectors`: every verdict agrees with connect_hooks.verify and with an independent verifier."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connect_hooks import verify
from connect_hooks.cli.main import main

KEYS = {"name", "why", "secret", "body", "body_base64", "header", "valid"}
#: What the issue asks for (the prefix-less case is "bare-hex", valid: see docs/signatures.md).
REQUIRED = {
    "sha256": True,
    "sha512": True,
    "unicode-body": True,
    "empty-body": True,
    "bare-hex": True,
    "upper-case-hex": True,
    "tampered-body": False,
    "wrong-secret": False,
    "re-serialized-body": False,
    "whitespace-changed": False,
    "truncated-digest": False,
}

#: Node's crypto, told the rule docs/signatures.md states: sha256=/sha512= or bare hex (64: SHA-256, 128:
#: SHA-512), hex in either case, compared as bytes in constant time.
NODE_VERIFIER = r"""
const crypto = require('crypto');
const doc = JSON.parse(require('fs').readFileSync(0, 'utf8'));
console.log(JSON.stringify(doc.vectors.map((v) => {
  const h = v.header.trim();
  const m = /^(sha256|sha512)=([0-9a-f]+)$/i.exec(h);
  let alg = null, hex = h;
  if (m) { alg = m[1].toLowerCase(); hex = m[2]; }
  else if (/^[0-9a-f]+$/i.test(h)) { alg = {64: 'sha256', 128: 'sha512'}[h.length] || null; }
  if (alg === null) return false;
  const want = crypto.createHmac(alg, Buffer.from(v.secret, 'utf8')).update(Buffer.from(v.body_base64, 'base64')).digest();
  const got = Buffer.from(hex, 'hex');
  return hex.length === 2 * want.length && got.length === want.length && crypto.timingSafeEqual(got, want);
})));
"""


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["sign", *args], env=env, catch_exceptions=False)


def document() -> dict[str, Any]:
    result = run("--vectors")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def by_name() -> dict[str, dict[str, Any]]:
    return {vector["name"]: vector for vector in document()["vectors"]}


def test_the_vectors_have_their_fields_and_the_cases_asked_for() -> None:
    vectors = document()["vectors"]
    assert len(vectors) >= 10
    assert len({v["name"] for v in vectors}) == len(vectors)
    for vector in vectors:
        assert set(vector) == KEYS
        assert base64.b64decode(vector["body_base64"]) == vector["body"].encode("utf-8")
    named = by_name()
    assert {name: named[name]["valid"] for name in REQUIRED} == REQUIRED
    assert not named["unicode-body"]["body"].isascii() and named["empty-body"]["body"] == ""


def test_the_invalid_ones_are_the_mistakes_they_claim_to_be() -> None:
    named = by_name()
    good = named["sha256"]
    for name in ("re-serialized-body", "whitespace-changed"):
        assert json.loads(named[name]["body"]) == json.loads(good["body"])  # the same JSON value...
        assert named[name]["body"] != good["body"] and named[name]["header"] == good["header"]  # ...other bytes
    assert named["tampered-body"]["header"] == good["header"] != named["tampered-body"]["body"]
    assert named["wrong-secret"]["body"] == good["body"] and named["wrong-secret"]["header"] != good["header"]
    assert (
        good["header"].startswith(named["truncated-digest"]["header"])
        and named["truncated-digest"]["header"] != good["header"]
    )
    assert named["upper-case-hex"]["header"].lower() == good["header"]
    assert "sha256=" + named["bare-hex"]["header"] == good["header"]


def test_every_verdict_is_connect_hooks_verify_s() -> None:
    for vector in document()["vectors"]:
        body = base64.b64decode(vector["body_base64"])
        assert verify(body, vector["header"], vector["secret"]) is vector["valid"], vector["name"]


def openssl_verdicts(vectors: list[dict[str, Any]], tmp_path: Path) -> list[bool]:
    """openssl dgst -hmac per vector, with the same header rule as the Node verifier."""
    verdicts = []
    for index, vector in enumerate(vectors):
        match = re.fullmatch(r"(?i)(?:(sha256|sha512)=)?([0-9a-f]+)", vector["header"].strip())
        if match is None:
            verdicts.append(False)
            continue
        hexdigest = match.group(2).lower()
        algorithm = (match.group(1) or {64: "sha256", 128: "sha512"}.get(len(hexdigest), "")).lower()
        if not algorithm:
            verdicts.append(False)
            continue
        body = tmp_path / f"body-{index}"
        body.write_bytes(base64.b64decode(vector["body_base64"]))
        command = ["openssl", "dgst", f"-{algorithm}", "-hmac", vector["secret"], "-r", str(body)]
        expected = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()[0]
        verdicts.append(expected == hexdigest)
    return verdicts


@pytest.mark.parametrize("tool", ["node", "openssl"])
def test_an_independent_verifier_gives_every_verdict(tool: str, tmp_path: Path) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (the other independent verifier runs)")
    doc = document()
    if tool == "node":
        completed = subprocess.run(
            ["node", "-e", NODE_VERIFIER], input=json.dumps(doc), capture_output=True, text=True, check=True
        )
        verdicts = json.loads(completed.stdout)
    else:
        verdicts = openssl_verdicts(doc["vectors"], tmp_path)
    assert dict(zip([v["name"] for v in doc["vectors"]], verdicts, strict=True)) == {
        v["name"]: v["valid"] for v in doc["vectors"]
    }


def test_the_users_secret_is_never_read_nor_printed() -> None:
    plain = run("--vectors").stdout
    mine = "users-real-hub-secret-7f3a"
    for env, args in (
        ({"CONNECT_HOOKS_SECRET": mine}, ()),
        ({}, ("--secret", mine)),
        ({"CONNECT_HOOKS_SECRET": ""}, ()),
    ):
        result = run("--vectors", *args, env=env)
        assert result.exit_code == 0
        assert result.stdout == plain
        assert mine not in result.stdout + result.stderr


def test_a_file_with_vectors_is_one_line_exit_2() -> None:
    result = run("--vectors", "body.json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "error: --vectors prints test vectors and reads no FILE: drop 'body.json'\n"
