"""``check`` end to end against real servers on 127.0.0.1, plain and TLS."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.conftest import LocalCA
from tests.servers import ScriptedServer


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


def verdicts(out: str) -> dict[str, str]:
    return {rule["rule"]: rule["verdict"] for rule in json.loads(out)["rules"]}


def test_https_with_trusted_certificate_passes(test_ca: LocalCA) -> None:
    with ScriptedServer(tls=test_ca.server_context()) as server:
        code, out, err = check(server.url, "--ca-bundle", str(test_ca.ca_path), "--json")
    assert (code, err) == (0, "")
    assert verdicts(out) == {"https": "pass", "tls": "pass", "head-200": "pass"}
    assert json.loads(out)["status"] == 200
    assert [r.method for r in server.requests] == ["HEAD"]


def test_people_see_every_rule(test_ca: LocalCA) -> None:
    with ScriptedServer(tls=test_ca.server_context()) as server:
        code, out, _ = check(server.url, "--ca-bundle", str(test_ca.ca_path))
    assert code == 0
    assert "PASS  https" in out
    assert "PASS  tls" in out
    assert "PASS  head-200  HEAD answered 200" in out
    assert out.rstrip().endswith("Webex Connect would accept this URL.")


def test_plain_http_fails_the_first_rule_but_is_probed() -> None:
    with ScriptedServer() as server:
        code, out, _ = check(server.url, "--json")
    assert code == 1
    assert verdicts(out) == {"https": "fail", "tls": "skip", "head-200": "pass"}


@pytest.mark.parametrize("status", [204, 404, 405, 500])
def test_head_must_answer_exactly_200(status: int) -> None:
    with ScriptedServer(head_status=status) as server:
        code, out, _ = check(server.url, "--json")
    assert code == 1
    rules = {rule["rule"]: rule for rule in json.loads(out)["rules"]}
    assert rules["head-200"]["verdict"] == "fail"
    assert rules["head-200"]["reason"] == f"HEAD answered {status}, not 200"


def test_redirect_fails_and_shows_its_location(test_ca: LocalCA) -> None:
    headers = {"Location": "https://example.test/final"}
    with ScriptedServer(tls=test_ca.server_context(), head_status=301, head_headers=headers) as server:
        code, out, _ = check(server.url, "--ca-bundle", str(test_ca.ca_path), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["location"] == "https://example.test/final"
    head = next(r for r in report["rules"] if r["rule"] == "head-200")
    assert "redirect to https://example.test/final" in head["reason"]
    assert len(server.requests) == 1  # not followed


def test_untrusted_certificate_fails_tls(test_ca: LocalCA) -> None:
    with ScriptedServer(tls=test_ca.server_context()) as server:
        code, out, _ = check(server.url, "--json")
    assert code == 1
    assert verdicts(out) == {"https": "pass", "tls": "fail", "head-200": "fail"}


def test_insecure_still_reports_tls_but_shows_the_head_status(test_ca: LocalCA) -> None:
    with ScriptedServer(tls=test_ca.server_context()) as server:
        code, out, _ = check(server.url, "--insecure", "--json")
    assert code == 1
    assert verdicts(out) == {"https": "pass", "tls": "fail", "head-200": "pass"}


def test_expired_certificate_fails_tls(test_ca: LocalCA) -> None:
    with ScriptedServer(tls=test_ca.server_context(expired=True)) as server:
        code, out, _ = check(server.url, "--ca-bundle", str(test_ca.ca_path), "--json")
    rules = {rule["rule"]: rule for rule in json.loads(out)["rules"]}
    assert code == 1
    assert "expired" in rules["tls"]["reason"]


def test_unreachable_fails_head() -> None:
    with ScriptedServer() as server:
        url = server.url
    code, out, _ = check(url, "--json")
    rules = {rule["rule"]: rule for rule in json.loads(out)["rules"]}
    assert code == 1
    assert rules["head-200"]["reason"] == "HEAD got no answer: cannot connect: connection refused"


@pytest.mark.parametrize("url", ["ftp://example.test/x", "example.test/hooks", "https://", "http://:80/x", "nonsense"])
def test_not_an_http_url_is_bad_input(url: str) -> None:
    code, out, err = check(url)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ")


def test_head_slower_than_the_timeout_fails() -> None:
    with ScriptedServer(head_stall=True) as server:  # never answers: the timeout always trips
        code, out, _ = check(server.url, "--timeout", "0.1", "--json")
    rules = {rule["rule"]: rule for rule in json.loads(out)["rules"]}
    assert code == 1
    assert rules["head-200"]["reason"] == "HEAD got no answer: no complete answer within 0.1 s"
