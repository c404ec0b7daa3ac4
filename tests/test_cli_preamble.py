"""The one preamble: 'send', 'replay' and 'conform' say the same lines on stderr before they send."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from connect_hooks.cli.main import main
from tests.conftest import LocalCA
from tests.servers import ScriptedServer

SECRET = "preamble-secret-7c1e"
#: Written out here, not imported: what every command that sends prints with --insecure.
INSECURE = "warning: --insecure: TLS certificates are not verified (Webex Connect always verifies)"


def stderr_of(*args: str) -> list[str]:
    result = CliRunner().invoke(main, list(args))
    assert SECRET not in result.stdout + result.stderr
    return result.stderr.splitlines()


def test_send_replay_and_conform_sign_and_warn_in_the_same_words(test_ca: LocalCA, tmp_path: Path) -> None:
    log = tmp_path / "send.ndjson"
    with ScriptedServer(script=[200] * 20, tls=test_ca.server_context()) as server:
        sent = stderr_of(
            "send", "inbound/sms/mo", server.url, "--fast", "--insecure", "--secret", SECRET, "--log", str(log)
        )
        replayed = stderr_of("replay", str(log), "--fast", "--insecure", "--resign", "--secret", SECRET)
        conformed = stderr_of("conform", server.url, "--only", "url", "--insecure", "--secret", SECRET)
    signing = [line for line in sent if line.startswith("signing with sha256: hub secret ********")]
    assert len(signing) == 1
    assert sent[-2:] == [signing[0], INSECURE]
    assert conformed[:2] == [signing[0], INSECURE]
    assert replayed[-2:] == ["re-signing " + signing[0].removeprefix("signing "), INSECURE]


def test_json_keeps_the_warning_for_send_and_replay_and_conform_silent(test_ca: LocalCA, tmp_path: Path) -> None:
    """--json: no secret line; the notes and the warning stay for send and replay, conform's stderr stays empty."""
    log = tmp_path / "send.ndjson"
    with ScriptedServer(script=[200] * 20, tls=test_ca.server_context()) as server:
        sent = stderr_of("send", "inbound/sms/mo", server.url, "--fast", "--insecure", "--json", "--log", str(log))
        replayed = stderr_of("replay", str(log), "--fast", "--insecure", "--json", "--resign", "--secret", SECRET)
        conformed = stderr_of("conform", server.url, "--only", "url", "--insecure", "--json", "--secret", SECRET)
    assert (sent, replayed, conformed) == ([INSECURE], [f"replaying 1 of the 1 notification in {log}", INSECURE], [])
