"""-H values outside ASCII: latin-1 goes out as those bytes; anything else is bad input, the same for every command.

Refused: characters beyond latin-1, control characters (CR, LF, NUL, ESC, DEL, C1; a tab is fine) and
header names that are not tokens. One line on stderr, exit 2, no traceback, nothing sent, the value never
quoted (it may be a credential).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.errors import BadInput
from connect_hooks.sender.sending import parse_header_option
from connect_hooks.textsafe import header_problem
from tests.servers import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def send_log(tmp_path: Path) -> Path:
    log = tmp_path / "send.ndjson"
    with ScriptedServer() as other:
        result = CliRunner().invoke(main, ["send", "receipt/sms/delivered", other.url, "--log", str(log), "--json"])
    assert result.exit_code == 0, result.output
    return log


COMMANDS = {
    "send": ["send", "receipt/sms/delivered", "{url}", "--fast"],
    "conform": ["conform", "{url}", "--only", "accepts/receipt/sms/delivered"],
    "replay": ["replay", "{log}", "{url}", "--fast"],
}

BAD = {
    # id: (-H text, what the one line says)
    "beyond-latin-1": ("X-Note: secret日本", "U+65E5"),
    "emoji": ("X-Note: secret\U0001f600", "U+1F600"),
    "escape": ("X-Note: secret\x1b]0;pwned\x07", "U+001B"),
    "bell": ("X-Note: secret\x07", "U+0007"),
    "nul": ("X-Note: secret\x00x", "U+0000"),
    "cr": ("X-Note: secret\rInjected: 1", "U+000D"),
    "lf": ("X-Note: secret\nInjected: 1", "U+000A"),
    "del": ("X-Note: secret\x7f", "U+007F"),
    "c1-csi": ("X-Note: secret\x9b2J", "U+009B"),
    "name-not-a-token": ("X-Nöte: secret", "header name"),
    "name-with-slash": ("X/Note: secret", "header name"),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_header_that_cannot_be_sent_is_bad_input(
    command: str, case: str, server: ScriptedServer, send_log: Path
) -> None:
    text, fragment = BAD[case]
    argv = [a.replace("{url}", server.url).replace("{log}", str(send_log)) for a in COMMANDS[command]]
    result = CliRunner().invoke(main, [*argv, "-H", text])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: -H '"), result.stderr
    assert fragment in result.stderr
    assert "secret" not in result.stderr  # the value is never quoted
    assert result.stderr.isascii() or case == "name-not-a-token"
    assert "Traceback" not in result.stderr
    assert server.requests == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_latin_1_value_arrives_as_those_bytes(command: str, server: ScriptedServer, send_log: Path) -> None:
    argv = [a.replace("{url}", server.url).replace("{log}", str(send_log)) for a in COMMANDS[command]]
    result = CliRunner().invoke(main, [*argv, "-H", "X-Note: café\tß ÿ"])
    assert result.exit_code == 0, result.output
    posts = [r for r in server.requests if r.method == "POST"]
    assert posts
    for post in posts:  # the test server decodes header bytes as latin-1: encode them back
        assert post.headers["x-note"].encode("latin-1") == b"caf\xe9\t\xdf \xff"


def test_send_with_a_latin_1_value_logs_every_record(server: ScriptedServer, tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    result = CliRunner().invoke(
        main, ["send", "receipt/sms/delivered", server.url, "-H", "X-Note: café", "--log", str(log)]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["type"] for r in records] == ["notification", "attempt", "outcome", "summary"]
    assert ["X-Note", "café"] in records[0]["headers"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("X-Note: café", ("X-Note", "café")),
        ("X-Note:\ta\tb ", ("X-Note", "a\tb")),
        ("X-Empty:", ("X-Empty", "")),
        ("Authorization: Bearer abc", ("Authorization", "Bearer abc")),
        ("X-Price: 10\xa0€".replace("€", "EUR"), ("X-Price", "10\xa0EUR")),
    ],
)
def test_parse_header_option_takes(text: str, expected: tuple[str, str]) -> None:
    assert parse_header_option(text) == expected


@pytest.mark.parametrize("text", ["NoColon", ": value", "X Note: a", "X-Note: €", "X-Note: a\x85b"])
def test_parse_header_option_refuses(text: str) -> None:
    with pytest.raises(BadInput):
        parse_header_option(text)


def test_header_problem_names_the_first_bad_character() -> None:
    assert header_problem("X-A", "ok") is None
    problem = header_problem("X-A", "ab\x1bc日")
    assert problem is not None and "character 3" in problem and "U+001B" in problem
