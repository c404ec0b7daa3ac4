"""`connect-hooks load`'s input: bad input is one line and exit 2 before Locust starts; the child's command line
never holds the hub secret. In-process: the command line imports no Locust (only its child does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.load import launch

URL = "http://127.0.0.1:9/hooks"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["ftp://example.test/hooks"], "is not an http(s) URL"),
        (["http://staging.example.test/hooks"], "plain http to a non-loopback host"),  # as send: --allow-http
        (["http://staging.example.test/hooks", "--allow-http", "--run-time", "soon"], "is not a time span"),
        ([URL, "--worker", "--allow-http"], "a --worker takes URL, --allow-http from its master"),
        ([], "load needs the URL"),
        ([URL, "--users", "-1"], "-1 is not in the range x>=1"),
        ([URL, "--spawn-rate", "-2"], "x>0"),
        ([URL, "--speed", "0"], "x>0"),
        ([URL, "--run-time", "-5s"], "is not a time span"),
        ([URL, "--run-time", "soon"], "is not a time span"),
        ([URL, "--target", "receipt/sms/nope"], "no sample named 'receipt/sms/nope'"),
        ([URL, "--target", "story/none/*"], "no story matches 'story/none/*'"),
        ([URL, "--master-bind-port", "70000"], "1<=x<=65535"),
        ([URL, "--master", "--headless"], "needs --expect-workers"),
        ([URL, "--master", "--worker"], "contradict"),
        ([URL, "--worker"], "a --worker takes URL from its master"),
        (["--worker", "--target", "receipt/*", "--users", "3"], "takes --target, --users from its master"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONNECT_HOOKS_SECRET", raising=False)
    result = CliRunner().invoke(main, ["load", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert says in result.stderr


def test_without_locust_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "find_spec", lambda name: None if name == "locust" else object())
    result = CliRunner().invoke(main, ["load", URL])
    assert result.exit_code == 2
    assert (
        result.stderr
        == "error: connect-hooks load runs on Locust, which is not installed: pip install 'connect-hooks[load]'\n"
    )


def test_the_secret_goes_to_the_child_in_its_environment_only() -> None:
    """A command line is visible to every user of the machine (ps); the environment is not. A master sends
    nothing, so it gets no secret at all (and it never crosses the network to a worker): only its fingerprint."""
    secret = "hub-secret-not-on-argv"
    single = launch.LoadSettings(url=URL, targets=("receipt/whatsapp/*",), secret=secret, users=3, headless=True)
    master = launch.LoadSettings(url=URL, secret=secret, master=True)
    targets = launch.check(single)
    on_disk = Path(__file__).resolve().parent.parent / "samples" / "receipt" / "whatsapp"
    assert sorted(targets) == sorted(f"receipt/whatsapp/{p.stem}" for p in on_disk.glob("*.json"))
    for settings in (single, master):
        assert not any(secret in part for part in launch.command(settings))
    assert launch.environment(single, targets, {})["CONNECT_HOOKS_SECRET"] == secret
    assert "CONNECT_HOOKS_SECRET" not in launch.environment(master, targets, {"CONNECT_HOOKS_SECRET": secret})
    assert launch.environment(master, targets, {})["CONNECT_HOOKS_LOAD_FINGERPRINT"] not in ("", secret)


def test_help_and_bad_input_import_no_locust_and_no_gevent() -> None:
    probe = (
        "import sys\nfrom connect_hooks.cli.main import main\n"
        "try:\n    main(['load', 'ftp://x', '--users', '2'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'locust', 'gevent'}), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stderr.splitlines()[-1] == "[]"
