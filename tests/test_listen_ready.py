"""``listen --ready-file``: once bound, a JSON of where it listens (how a script learns a --port 0
port), written atomically, removed when listen stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.errors import BadInput
from connect_hooks.receiver import listening
from tests.support import listening_on

pytestmark = pytest.mark.e2e


def wait_for_file(path: Path, process: subprocess.Popen[str], seconds: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "listen never wrote its ready file"
        time.sleep(0.01)
    document: dict[str, object] = json.loads(path.read_text())
    return document


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_ready_file_says_where_and_goes_when_listen_stops(tmp_path: Path, sig: int) -> None:
    ready = tmp_path / "ready.json"
    env = {k: v for k, v in os.environ.items() if k != "CONNECT_HOOKS_SECRET"}
    args = ["listen", "--port", "0", "--inspect", "--inspect-port", "0", "--ready-file", str(ready)]
    process = subprocess.Popen(
        [sys.executable, "-m", "connect_hooks", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        url, port, _ = listening_on(process)
        document = wait_for_file(ready, process)
        assert os.listdir(tmp_path) == ["ready.json"]  # no temporary file left beside it
        assert (document["url"], document["port"], document["pid"]) == (url, port, process.pid)
        assert httpx.head(str(document["url"])).status_code == 200
        inspector = str(document["inspector"])
        assert inspector.startswith("http://127.0.0.1:") and inspector != url + "/"
        assert httpx.get(inspector).status_code == 200
        process.send_signal(sig)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert not ready.exists()
    assert os.listdir(tmp_path) == []


def test_ready_file_in_a_missing_directory_is_bad_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["listen", "--port", "0", "--ready-file", str(tmp_path / "no" / "r.json")])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "--ready-file" in result.stderr and "does not exist" in result.stderr


def test_write_replaces_the_file_whole_or_leaves_it_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ready = tmp_path / "ready.json"
    ready.write_text("stale from a killed run")
    listening.write_ready_file(str(ready), {"url": "http://127.0.0.1:1", "port": 1})
    assert json.loads(ready.read_text()) == {"url": "http://127.0.0.1:1", "port": 1}

    def fail(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(BadInput, match=r"cannot write --ready-file .*No space left on device"):
        listening.write_ready_file(str(ready), {"url": "http://127.0.0.1:2", "port": 2})
    assert json.loads(ready.read_text())["port"] == 1  # the reader never saw a half-written file
    assert os.listdir(tmp_path) == ["ready.json"]  # and the temporary one is gone
