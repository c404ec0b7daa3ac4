"""`connect-hooks samples list|show`, and `send` with sample names, globs and --set."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.main import main

GOLDEN = Path(__file__).parent / "golden"


def run(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def assert_bad_input(result: Result, message: str) -> None:
    """Exit 2, nothing on stdout, exactly one line on stderr: the given message."""
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"


# ------------------------------------------------------------------------------------ samples list


def test_list_json_gives_every_sample_with_its_fields() -> None:
    result = run("samples", "list", "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    listed = json.loads(result.stdout)
    samples = [item for item in listed if item["kind"] != "story"]
    assert [item["name"] for item in samples] == list(catalogue.names())
    assert samples[0] == catalogue.get(samples[0]["name"]).as_dict()
    assert {item["kind"] for item in samples} == {"receipt", "inbound"}
    # then the stories, each with its steps
    told = [item for item in listed if item["kind"] == "story"]
    assert [item["name"] for item in told] == sorted(
        str(p.relative_to(catalogue.samples_root()).with_suffix(""))
        for p in catalogue.samples_root().glob("story/*/*.json")
    )
    assert all(item["steps"] and item["steps"][0]["sample"] in catalogue.names() for item in told)


def test_list_for_people_is_one_aligned_line_per_sample() -> None:
    result = run("samples", "list", "receipt/apple/*")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "kind", "channel", "status/event", "description"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["receipt/apple/failed", "receipt", "apple", "failed"],
        ["receipt/apple/failed-invitation", "receipt", "apple", "failed-invitation"],
        ["receipt/apple/submitted", "receipt", "apple", "submitted"],
        ["receipt/apple/submitted-invitation", "receipt", "apple", "submitted-invitation"],
    ]
    assert lines[1].endswith(catalogue.get("receipt/apple/failed").description)
    assert len({line.index("receipt", 1) for line in lines[1:]}) == 1  # the kind column is aligned


def test_list_with_a_plain_text_filters_on_names_containing_it() -> None:
    result = run("samples", "list", "voice", "--json")
    assert [item["name"] for item in json.loads(result.stdout)] == [
        n for n in catalogue.names() if n.startswith("receipt/voice/")
    ] + ["story/voice/answered", "story/voice/rejected"]


def test_list_matching_nothing_is_bad_input() -> None:
    assert_bad_input(
        run("samples", "list", "telegram"),
        "no sample matches 'telegram': run 'connect-hooks samples list' to see them all",
    )


# ------------------------------------------------------------------------------------ samples show


def test_show_raw_is_the_compact_body_with_no_newline_added() -> None:
    result = run("samples", "show", "receipt/sms/delivered", "--seed", "42", "--raw")
    assert result.exit_code == 0
    assert result.stdout_bytes == (GOLDEN / "receipt-sms-delivered.json").read_bytes()
    assert not result.stdout_bytes.endswith(b"\n")


def test_show_pretty_prints_the_same_document_and_says_where_its_shape_comes_from() -> None:
    pretty = run("samples", "show", "inbound/whatsapp/postback", "--seed", "42")
    raw = run("samples", "show", "inbound/whatsapp/postback", "--seed", "42", "--raw")
    assert pretty.exit_code == 0
    assert json.loads(pretty.stdout) == json.loads(raw.stdout_bytes)
    assert pretty.stdout.startswith('{\n  "userId": ""')
    assert pretty.stderr == 'source: developer page "WhatsApp", example "Postback"\n'
    assert raw.stderr == ""


def test_show_applies_sets_in_order() -> None:
    result = run(
        "samples",
        "show",
        "receipt/email/bounced",
        "--seed",
        "42",
        "--raw",
        "--set",
        "deliveryInfoNotification.callbackData=order-4411",
        "--set",
        'extra:={"n":[1,2]}',
    )
    assert result.exit_code == 0
    assert result.stdout_bytes == (GOLDEN / "receipt-email-bounced.set.json").read_bytes()


def test_show_without_a_seed_is_fresh_each_time() -> None:
    first = run("samples", "show", "inbound/rcs/mo", "--raw").stdout_bytes
    second = run("samples", "show", "inbound/rcs/mo", "--raw").stdout_bytes
    assert json.loads(first)["tid"] != json.loads(second)["tid"]


def test_show_keeps_non_ascii_text_as_utf8() -> None:
    raw = run("samples", "show", "inbound/sms/mo-multipart", "--raw").stdout_bytes
    assert "Zoë 😊".encode() in raw


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["receipt/sms/deliverd"],
            "no sample named 'receipt/sms/deliverd': did you mean receipt/sms/delivered, "
            "receipt/sms/undelivered, receipt/mms/delivered?",
        ),
        (
            ["receipt/sms/delivered", "--set", "deliveryInfoNotification.nothing.here=1"],
            "receipt/sms/delivered: cannot set 'deliveryInfoNotification.nothing.here': "
            "'deliveryInfoNotification.nothing' does not exist (nearest existing path: "
            "'deliveryInfoNotification'); create it first with --set 'deliveryInfoNotification.nothing:={}'",
        ),
        (
            ["receipt/sms/delivered", "--set", "code:=seven"],
            "--set 'code:=seven' holds invalid JSON after ':=' (Expecting value: line 1 column 1 (char 0)): "
            "quote strings, like :='\"text\"'",
        ),
        (
            ["receipt/sms/delivered", "--set", "code"],
            "--set 'code' has no '=': write PATH=VALUE for a string or PATH:=JSON for any value",
        ),
    ],
)
def test_show_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    assert_bad_input(run("samples", "show", *args), message)


def test_show_with_a_non_number_seed_is_a_usage_error() -> None:
    result = run("samples", "show", "inbound/sms/mo", "--seed", "x")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


# ---------------------------------------------------------------------------------- samples schema


def test_schema_of_a_sample_is_its_familys_schema_as_json() -> None:
    by_name = run("samples", "schema", "receipt/voice/released")
    by_family = run("samples", "schema", "receipt/voice")
    assert by_name.exit_code == by_family.exit_code == 0
    assert by_name.stdout == by_family.stdout
    assert json.loads(by_name.stdout) == catalogue.schema("receipt/voice")
    assert json.loads(by_name.stdout)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            "receipt/sms/deliverd",
            "no sample or family named 'receipt/sms/deliverd': did you mean receipt/sms/delivered, "
            "receipt/sms/undelivered, receipt/mms/delivered?",
        ),
        (
            "inbound/push",
            "no sample or family named 'inbound/push': did you mean inbound/sms, inbound/rcs, inbound/mms?",
        ),
        ("zzz", "no sample or family named 'zzz': families are " + ", ".join(catalogue.families())),
    ],
)
def test_schema_of_an_unknown_name_is_bad_input(target: str, message: str) -> None:
    assert_bad_input(run("samples", "schema", target), message)


# ------------------------------------------------------------------- send, against a local server


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 (OS-assigned port) that records every POST."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            state.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # Polling every 0.05 s (not the default 0.5 s), shutdown() returns at once.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.e2e
def test_show_raw_is_exactly_what_send_posts_and_signs(receiver: Receiver) -> None:
    args = ["--seed", "5", "--set", "deliveryInfoNotification.callbackData=cb-1"]
    shown = run("samples", "show", "receipt/whatsapp/failed", *args, "--raw")
    sent = run("send", "receipt/whatsapp/failed", receiver.url, *args, "--secret", "s3cret", "--fast", "--json")
    assert sent.exit_code == 0, sent.output
    (request,) = receiver.received
    assert request.body == shown.stdout_bytes
    expected = hmac.new(b"s3cret", shown.stdout_bytes, hashlib.sha256).hexdigest()
    assert request.headers["x-hub-signature"] == f"sha256={expected}"
    report = json.loads(sent.stdout)
    assert report["target"] == "receipt/whatsapp/failed"
    assert report["outcome"] == "delivered"


@pytest.mark.e2e
def test_send_a_glob_sends_each_sample_as_its_own_notification(receiver: Receiver) -> None:
    names = catalogue.match("receipt/sms/*")
    result = run("send", "receipt/sms/*", receiver.url, "--seed", "9", "--fast", "--json")
    assert result.exit_code == 0, result.output
    # Sent side by side (up to --concurrency at once), so they may reach the receiver in any order.
    bodies = {r.headers["x-wx-gtrid"]: r.body for r in receiver.received}
    assert len(bodies) == len(names)
    report = json.loads(result.stdout)
    assert [d["target"] for d in report] == names
    assert [bodies[d["gtrid"]] for d in report] == [catalogue.render(n, seed=9) for n in names]
    assert {d["outcome"] for d in report} == {"delivered"}


@pytest.mark.e2e
def test_send_a_glob_gives_each_notification_its_own_retries(receiver: Receiver) -> None:
    # One at a time, on one clock: both first attempts (T+0) come before apple/failed's retry (T+60).
    receiver.statuses = [503, 200, 404]  # apple/failed: 503, then 404 on its retry; failed-invitation: 200
    result = run("send", "receipt/apple/failed*", receiver.url, "--fast", "--json", "--concurrency", "1")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(d["target"], d["outcome"], len(d["attempts"])) for d in report] == [
        ("receipt/apple/failed", "failed", 2),
        ("receipt/apple/failed-invitation", "delivered", 1),
    ]
    first, second, retry = receiver.received
    assert first.body == retry.body and first.headers["x-wx-gtrid"] == retry.headers["x-wx-gtrid"]
    assert second.headers["x-wx-gtrid"] != first.headers["x-wx-gtrid"]


@pytest.mark.e2e
def test_send_a_single_sample_with_json_prints_one_object(receiver: Receiver) -> None:
    result = run("send", "inbound/email/inbound", receiver.url, "--fast", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["target"] == "inbound/email/inbound"
    assert json.loads(receiver.received[0].body)["event"] == "Inbound Message"


def test_send_an_unknown_name_suggests_close_ones_and_sends_nothing() -> None:
    result = run("send", "inbound/whatsapp/postbak", "http://127.0.0.1:9/hooks", "--fast")
    assert_bad_input(
        result,
        "no sample named 'inbound/whatsapp/postbak': did you mean inbound/whatsapp/postback, "
        "inbound/whatsapp/list, inbound/whatsapp/mo?",
    )


def test_send_a_glob_matching_nothing_is_bad_input() -> None:
    assert_bad_input(
        run("send", "receipt/telegram/*", "http://127.0.0.1:9/hooks", "--fast"),
        "no sample matches 'receipt/telegram/*': run 'connect-hooks samples list' to see them",
    )


def test_send_a_bad_set_is_bad_input_before_anything_is_sent() -> None:
    assert_bad_input(
        run("send", "receipt/sms/*", "http://127.0.0.1:9/hooks", "--fast", "--set", "a.b=1"),
        "receipt/sms/clicked: cannot set 'a.b': 'a' does not exist (nearest existing path: the top level); "
        "create it first with --set 'a:={}'",
    )


def test_send_refuses_set_on_a_file(tmp_path: Path) -> None:
    payload = tmp_path / "body.json"
    payload.write_text('{"a": 1}\n')
    assert_bad_input(
        run("send", str(payload), "http://127.0.0.1:9/hooks", "--set", "a=2"),
        f"--set changes samples only: {str(payload)!r} is sent byte for byte, so edit it instead",
    )
