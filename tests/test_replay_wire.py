"""``replay`` puts on the wire exactly what a log holds, or skips the line with a reason (issue 20).

A real ``listen --log`` (a subprocess) records a request sent over a raw socket, with a header
holding the Latin-1 byte 0xE9 (obs-text) and a body that is not compact JSON; hand-written lines
derived from that record add what only an edited log holds (a lone surrogate, a gtrid or header
beyond Latin-1). Replayed to a loopback receiver, every line is sent byte for byte or skipped with
its reason on stderr, and counted; never a traceback.
"""

from __future__ import annotations

import base64
import json
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.main import main
from connect_hooks.logfile import NdjsonLog
from connect_hooks.sender import replay
from connect_hooks.sender.sending import SendLog, SendSettings, make_notification
from tests.servers import ScriptedServer, Step
from tests.support import connect_hooks_process, listening_on

pytestmark = pytest.mark.e2e

SECRET = "wire-hub-secret"
# Not compact: spaces, a newline, keys out of order, \u escapes (one a surrogate pair), a trailing newline.
ODD_BODY = b'{ "z" : 1 ,\n\t"a": "\\u00e9t\\u00e9 \\ud83d\\ude00",  "m":[ ] , "channel" :"sms" }\n'


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def raw_post(port: int, head: bytes, body: bytes) -> bytes:
    """One POST over a plain socket, headers exactly as given (no client library re-encodes them)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /hooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + head
            + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            + body
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def listen_records(log: Path, head: bytes, body: bytes) -> list[dict[str, Any]]:
    """What a real ``listen --log`` writes for one raw request."""
    with connect_hooks_process("listen", "--port", "0", "--log", str(log), "--json") as process:
        _, port, _ = listening_on(process)
        answer = raw_post(port, head, body)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def edited(record: dict[str, Any], gtrid: str, **changes: Any) -> str:
    """A hand-edited copy of ``record``: another gtrid (in its header too), other fields."""
    headers = {**record["headers"], "x-wx-gtrid": gtrid, **changes.pop("headers", {})}
    return json.dumps({**record, "gtrid": gtrid, "headers": headers, **changes})  # \u escapes, as hand-written


def test_a_listen_log_replays_byte_for_byte_or_skips_with_reasons(tmp_path: Path) -> None:
    log = tmp_path / "listen.ndjson"
    head = b"x-wx-gtrid: g-latin\r\nX-Latin: caf\xe9\r\n"
    (heard,) = listen_records(log, head, ODD_BODY)
    assert heard["headers"]["x-latin"] == "café"  # listen records obs-text as Latin-1 text
    assert heard["body"].encode("utf-8") == ODD_BODY
    raw = b'{"k": "\xed\xa0\x80"}'  # a surrogate encoded as if it were UTF-8: not UTF-8, so base64 in a log
    lines = [
        edited(heard, "g-lone", body="{\ud800}", size=5),  # 2: a lone surrogate, and no raw form
        edited(heard, "g-raw", body="{\ud800}", body_base64=base64.b64encode(raw).decode(), size=len(raw)),
        edited(heard, "g-€"),  # 4: a gtrid beyond Latin-1
        edited(heard, "g-café"),  # a gtrid in Latin-1: its bytes
        edited(heard, "g-euro", headers={"x-price": "5 €"}),  # 6
        edited(heard, "g-name", headers={"bad name": "x"}),  # 7
        edited(heard, "g-pad", headers={"x-pad": "x "}),  # 8: h11 refuses a value ending in a space
    ]
    with log.open("a", encoding="utf-8") as file:
        file.write("".join(line + "\n" for line in lines))

    with ScriptedServer(script=[200]) as app:
        result = cli("replay", str(log), app.url, "--fast", "--json")
    assert result.exit_code == 0, result.stderr
    assert not isinstance(result.exception, Exception)  # SystemExit only: no traceback
    assert "Traceback" not in result.stderr
    assert [d["gtrid"] for d in json.loads(result.stdout)] == ["g-latin", "g-raw", "g-café"]
    posts = {post.headers["x-wx-gtrid"]: post for post in app.posts}  # sent side by side: any order
    assert len(posts) == len(app.posts) == 3
    latin, from_raw, cafe = posts["g-latin"], posts["g-raw"], posts["g-café"]
    assert latin.headers["x-latin"].encode("latin-1") == b"caf\xe9"  # the byte listen received, sent again
    assert latin.body == ODD_BODY
    assert (from_raw.headers["x-wx-gtrid"], from_raw.body) == ("g-raw", raw)
    assert cafe.headers["x-wx-gtrid"].encode("latin-1") == b"g-caf\xe9"
    assert cafe.body == ODD_BODY
    beyond = "header values must be latin-1 text without control characters, and character 3 of the {} value is "
    skipped = [
        f"{log}:2: its body holds a lone surrogate ('\\ud800'), which stands for no bytes: "
        "give the exact bytes as body_base64; skipped",
        f"{log}:4: {beyond.format('x-wx-gtrid')}U+20AC: write it in ASCII (or latin-1), e.g. percent-encoded; skipped",
        f"{log}:6: {beyond.format('x-price')}U+20AC: write it in ASCII (or latin-1), e.g. percent-encoded; skipped",
        f"{log}:7: the header name 'bad name' has characters a header name cannot have: "
        "use letters, digits and !#$%&'*+-.^_`|~ only; skipped",
        f"{log}:8: the x-pad value starts or ends with white space, which HTTP cannot send; skipped",
    ]
    assert result.stderr.splitlines()[:5] == skipped
    assert f"replaying 3 of the 3 notifications in {log} (5 lines skipped)" in result.stderr


def test_exact_mode_sends_the_recorded_body_as_it_was_whatever_its_layout(tmp_path: Path) -> None:
    body_file, log = tmp_path / "odd.json", tmp_path / "send.ndjson"
    body_file.write_bytes(ODD_BODY)
    with ScriptedServer(script=[503]) as down:
        sent = cli("send", str(body_file), down.url, "--secret", SECRET, "--retries", "0", "--log", str(log))
    assert sent.exit_code == 1, sent.stderr
    (original,) = down.posts
    assert original.body == ODD_BODY
    with ScriptedServer(script=[200]) as app:
        result = cli("replay", str(log), app.url, "--fast", "--json")
    assert result.exit_code == 0, result.stderr
    (again,) = app.posts
    assert again.body == ODD_BODY  # not re-serialised: same bytes, so the recorded signature still holds
    for name in ("x-wx-gtrid", "x-hub-signature"):
        assert again.headers[name] == original.headers[name]


@dataclass
class FirstPostServer(ScriptedServer):
    """Calls ``on_first`` when the first POST arrives, then answers as scripted."""

    on_first: Callable[[], None] | None = None

    def _act(self, sock: socket.socket, step: Step) -> bool:
        if self.on_first is not None:
            self.on_first()
            self.on_first = None
        return super()._act(sock, step)


def test_the_command_streams_the_log_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``replay LOG URL --summary`` parses each line once to plan, then again only as it sends: when the
    first POST arrives, a few lines past the first reading; the log, cut then, yields nothing more."""
    log, lines = tmp_path / "send.ndjson", 1000
    settings = SendSettings(url="https://x.test/", targets=(), secret=SECRET)
    body = catalogue.render("inbound/sms/mo", seed=1)
    with NdjsonLog(log) as writer:
        story = SendLog(writer, settings.url)
        for _ in range(lines):
            story.notification(make_notification("inbound/sms/mo", body, settings))
    parsed = [0]
    parse_line = replay.parse_line

    def counting(number: int, raw: bytes) -> Any:
        parsed[0] += 1
        return parse_line(number, raw)

    monkeypatch.setattr(replay, "parse_line", counting)
    at_first_post: list[int] = []

    def cut() -> None:
        at_first_post.append(parsed[0])
        log.write_bytes(b"")

    with FirstPostServer(script=[200], on_first=cut) as app:
        result = cli("replay", str(log), app.url, "--fast", "--summary", "--json", "--concurrency", "1")
    assert result.exit_code == 0, result.stderr
    assert lines <= at_first_post[0] < lines + 50  # every line once (the plan), then a few (no list built first)
    sent = json.loads(result.stdout)["notifications"]
    assert 1 <= sent < 50 and len(app.posts) == sent
    cut_off = "the log was cut while the replay ran; skipped"
    gone = [line for line in result.stderr.splitlines() if line.endswith(cut_off)]
    assert len(gone) >= lines - sent - 1
    assert gone[-1] == f"{log}:{lines}: the line is gone: {cut_off}"
