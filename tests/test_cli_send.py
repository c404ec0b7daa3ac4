"""``send`` end to end: the CLI against a real scripted server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.conftest import LocalCA
from tests.servers import ScriptedServer, Stall, Step, Trickle

SECRET = "hub-secret-for-tests"


def send(*args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["send", *args], input=input, env=env)
    return result.exit_code, result.stdout, result.stderr


def send_json(server_script: list[Step], *args: str, **kw: object) -> tuple[int, dict, ScriptedServer]:  # type: ignore[type-arg]
    with ScriptedServer(script=server_script) as server:
        code, out, err = send(*args, server.url, "--fast", "--json", **kw)  # type: ignore[arg-type]
    assert err.startswith("note: Webex Connect only calls https://")
    return code, json.loads(out), server


def test_sample_is_signed_and_retried_until_delivered() -> None:
    code, report, server = send_json([503, 503, 200], "receipt/sms/delivered", "--secret", SECRET)
    assert code == 0
    assert report["outcome"] == "delivered"
    assert [a["status"] for a in report["attempts"]] == [503, 503, 200]
    assert [a["decision"] for a in report["attempts"]] == ["retry", "retry", "delivered"]
    # Answers within a second cost no simulated time: the timeline is exact whatever the machine's load.
    assert [a["scheduled_at"] for a in report["attempts"]] == [0, 60, 120]
    assert report["algorithm"] == "sha256"
    assert SECRET not in json.dumps(report)

    posts = server.posts
    assert len(posts) == 3
    assert len({p.body for p in posts}) == 1
    body = posts[0].body
    assert b" " not in body.replace(b"Incoming Text Message", b"")  # compact JSON
    json.loads(body)
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert {p.headers["x-hub-signature"] for p in posts} == {f"sha256={expected}"}
    assert {p.headers["x-wx-gtrid"] for p in posts} == {report["gtrid"]}
    assert uuid.UUID(report["gtrid"]).version == 4
    assert {p.headers["content-type"] for p in posts} == {"application/json"}
    assert {p.headers["user-agent"].split("/")[0] for p in posts} == {"connect-hooks"}


def test_each_send_gets_a_new_gtrid() -> None:
    _, first, _ = send_json([200], "inbound/sms/mo")
    _, second, _ = send_json([200], "inbound/sms/mo")
    assert first["gtrid"] != second["gtrid"]


def test_no_secret_no_signature() -> None:
    code, report, server = send_json([200], "inbound/sms/mo")
    assert code == 0
    assert "x-hub-signature" not in server.posts[0].headers
    assert report["algorithm"] is None


def test_sha512_bare_signature() -> None:
    _, _, server = send_json(
        [200], "inbound/sms/mo", "--secret", SECRET, "--algorithm", "sha512", "--signature-style", "bare"
    )
    body = server.posts[0].body
    assert server.posts[0].headers["x-hub-signature"] == hmac.new(SECRET.encode(), body, hashlib.sha512).hexdigest()


def test_secret_from_environment_and_file(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        send("inbound/sms/mo", server.url, "--fast", env={"CONNECT_HOOKS_SECRET": "from-env"})
        secret_file = tmp_path / "secret"
        secret_file.write_text("from-file\n")
        send("inbound/sms/mo", server.url, "--fast", "--secret-file", str(secret_file))
    env_post, file_post = server.posts
    assert env_post.headers["x-hub-signature"] == "sha256=" + hmac.new(b"from-env", env_post.body, "sha256").hexdigest()
    assert (
        file_post.headers["x-hub-signature"] == "sha256=" + hmac.new(b"from-file", file_post.body, "sha256").hexdigest()
    )


def test_file_is_sent_byte_for_byte(tmp_path: Path) -> None:
    payload = tmp_path / "pretty.json"
    raw = b'{\n  "zeta": 1,\n  "alpha": "\xc3\xa9"\n}\n'
    payload.write_bytes(raw)
    code, report, server = send_json([200], str(payload), "--secret", SECRET)
    assert code == 0
    assert server.posts[0].body == raw
    assert report["target"] == str(payload)
    assert (
        server.posts[0].headers["x-hub-signature"] == "sha256=" + hmac.new(SECRET.encode(), raw, "sha256").hexdigest()
    )


def test_stdin_is_sent_byte_for_byte() -> None:
    raw = b"[1, 2,   3]"
    code, report, server = send_json([200], "-", input=raw)
    assert code == 0
    assert server.posts[0].body == raw
    assert report["target"] == "-"


def test_extra_headers_are_sent_on_every_attempt() -> None:
    _, _, server = send_json([500, 200], "inbound/sms/mo", "-H", "Authorization: Bearer abc", "--header", "X-Two:2")
    assert [p.headers["authorization"] for p in server.posts] == ["Bearer abc", "Bearer abc"]
    assert [p.headers["x-two"] for p in server.posts] == ["2", "2"]


def test_no_retry_status_fails_with_exit_1() -> None:
    code, report, server = send_json([404, 200], "inbound/sms/mo")
    assert code == 1
    assert report["outcome"] == "failed"
    assert len(server.posts) == 1


def test_dropped_after_three_retries() -> None:
    code, report, server = send_json([503], "inbound/sms/mo")
    assert code == 1
    assert report["outcome"] == "dropped"
    assert len(server.posts) == 4
    assert [a["decision"] for a in report["attempts"]] == ["retry", "retry", "retry", "dropped"]


def test_retries_and_interval_options() -> None:
    code, report, server = send_json([503], "inbound/sms/mo", "--retries", "1", "--interval", "5")
    assert code == 1
    assert len(server.posts) == 2
    assert [a["scheduled_at"] for a in report["attempts"]] == [0, 5]


def test_backoff_schedule_timeline() -> None:
    _, report, _ = send_json([503], "inbound/sms/mo", "--schedule", "backoff")
    assert [a["scheduled_at"] for a in report["attempts"]] == [0, 30, 90, 210]


def test_stall_past_the_timeout_is_a_timeout() -> None:
    # The server never answers, so the timeout trips whatever the load.
    code, report, server = send_json([Stall()], "inbound/sms/mo", "--timeout", "0.1", "--retries", "1")
    assert code == 1
    first, retry = report["attempts"]
    assert (first["status"], first["error"], first["decision"]) == (None, "no complete answer within 0.1 s", "retry")
    assert retry["decision"] == "dropped"
    assert retry["scheduled_at"] == 60.1  # a timeout is charged its whole deadline
    assert len(server.posts) == 2


def test_trickled_headers_are_cut_by_the_whole_attempt_deadline() -> None:
    # Every byte arrives well within 0.15 s of the last one: only a whole-attempt deadline stops it.
    code, report, _ = send_json([Trickle(0.01)], "inbound/sms/mo", "--timeout", "0.15", "--retries", "0")
    assert code == 1
    assert report["attempts"][0]["error"] == "no complete answer within 0.15 s"
    assert report["outcome"] == "dropped"


@pytest.mark.parametrize(
    ("fault", "error_start"),
    [
        ("reset", "connection failed:"),
        ("close", "bad HTTP answer:"),
        ("garbage", "bad HTTP answer:"),
    ],
)
def test_faults_are_retried(fault: str, error_start: str) -> None:
    code, report, _ = send_json([fault, 200], "inbound/sms/mo")
    assert code == 0
    first = report["attempts"][0]
    assert first["status"] is None
    assert first["error"].startswith(error_start), first["error"]
    assert first["decision"] == "retry"


def test_connection_refused_is_dropped() -> None:
    with ScriptedServer() as server:
        url = server.url
    code, out, _ = send("inbound/sms/mo", url, "--fast", "--json", "--retries", "1")
    report = json.loads(out)
    assert code == 1
    assert report["outcome"] == "dropped"
    assert report["attempts"][0]["error"] == "cannot connect: connection refused"


def test_log_records_each_attempt_then_the_outcome(tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    code, report, server = send_json([503, 200], "inbound/sms/mo", "--log", str(log), "--secret", SECRET)
    assert code == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["type"] for r in records] == ["notification", "attempt", "attempt", "outcome", "summary"]
    assert [r.get("status") for r in records[1:3]] == [503, 200]
    assert {r["gtrid"] for r in records[:4]} == {report["gtrid"]}
    assert records[3]["outcome"] == "delivered"
    assert records[4]["notifications"] == 1
    assert records[4]["attempts"] == 2
    assert records[4]["answers"] == {"200": 1, "503": 1}
    assert SECRET not in log.read_text()
    # The notification record is enough to send the same bytes again.
    sent = records[0]
    assert sent["body"].encode() == server.posts[0].body
    assert dict(sent["headers"])["x-hub-signature"] == server.posts[0].headers["x-hub-signature"]


def test_people_get_a_timeline_and_a_closing_line() -> None:
    with ScriptedServer(script=[503, 200]) as server:
        code, out, _ = send("inbound/sms/mo", server.url, "--fast")
    assert code == 0
    assert "T+60s" in out
    assert "retry in 60 s" in out
    assert "inbound/sms/mo: delivered after 2 attempts" in out


def test_people_see_the_url_as_sent() -> None:
    # Rich would read "[/x]" as a closing markup tag (a traceback after the delivery) and ":smile:" as an emoji.
    with ScriptedServer(script=[200]) as server:
        url = f"{server.url}/[/x]/:smile:"
        code, out, _ = send("inbound/sms/mo", url, "--fast")
    assert (code, server.posts[0].path) == (0, "/hooks/[/x]/:smile:")
    assert out.splitlines()[0] == f"inbound/sms/mo \N{RIGHTWARDS ARROW} {url}"


def test_https_with_the_local_ca(test_ca: LocalCA) -> None:
    with ScriptedServer(script=[200], tls=test_ca.server_context()) as server:
        code, out, err = send("inbound/sms/mo", server.url, "--fast", "--json", "--ca-bundle", str(test_ca.ca_path))
    assert (code, err) == (0, "")
    assert json.loads(out)["outcome"] == "delivered"


def test_https_untrusted_certificate_is_a_tls_error(test_ca: LocalCA) -> None:
    with ScriptedServer(script=[200], tls=test_ca.server_context()) as server:
        code, out, _ = send("inbound/sms/mo", server.url, "--fast", "--json", "--retries", "0")
    first = json.loads(out)["attempts"][0]
    assert code == 1
    assert first["error"].startswith("TLS failed: certificate verify failed"), first["error"]
    assert server.posts == []


def test_insecure_skips_verification_with_a_warning(test_ca: LocalCA) -> None:
    with ScriptedServer(script=[200], tls=test_ca.server_context()) as server:
        code, _, err = send("inbound/sms/mo", server.url, "--fast", "--insecure")
    assert code == 0
    assert "warning: --insecure" in err
    assert len(server.posts) == 1


def test_people_see_which_secret_signs_but_never_the_secret() -> None:
    with ScriptedServer() as server:
        code, out, err = send("inbound/sms/mo", server.url, "--fast", "--secret", SECRET)
    assert code == 0
    assert "signing with sha256: hub secret ******** (fingerprint " in err
    assert SECRET not in out + err
