"""The GitHub Action (action.yml): read as the runner reads it, its shell steps run as the runner runs
them (``${{ ... }}`` expressions substituted, each step's env set, ``bash --noprofile --norc -eo
pipefail``), against ``connect-hooks listen`` on 127.0.0.1 (its port learned from --ready-file).

The install step runs as written (``python3 -m pip install "$CONNECT_HOOKS_ACTION_PATH"``) with a
fresh venv first on PATH: connect-hooks is built from the checkout and installed into it, as on
GitHub. Only the dependencies differ: the venv sees this interpreter's site-packages through a .pth
line (as in tests/test_wheel.py), so pip finds them satisfied instead of downloading them.
"""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
import sysconfig
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
SECRET = "action-test-hub-secret"


def substitute(text: str, inputs: dict[str, str]) -> str:
    """What the runner makes of ``${{ inputs.NAME }}`` (the input, or its default) and
    ``${{ github.action_path }}`` (the action's checkout); any other expression fails the test."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression == "github.action_path":
            return str(ROOT)
        name = expression.removeprefix("inputs.")
        assert name != expression and name in ACTION["inputs"], f"unexpected expression {expression!r}"
        return str(inputs.get(name, ACTION["inputs"][name].get("default", "")))

    return EXPRESSION.sub(value, text)


def run_steps(
    steps: list[dict[str, Any]], inputs: dict[str, str], env: dict[str, str], cwd: Path
) -> list[subprocess.CompletedProcess[str]]:
    """Run ``steps`` one after the other like the runner: stop at the first that fails."""
    done = []
    for number, step in enumerate(steps):
        assert step["shell"] == "bash"
        script = cwd.parent / f"step-{number}.sh"
        script.write_text(substitute(step["run"], inputs))
        step_env = {**env, **{k: substitute(str(v), inputs) for k, v in step.get("env", {}).items()}}
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=step_env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        done.append(result)
        if result.returncode != 0:
            break
    return done


def test_inputs_reach_the_shell_only_through_the_environment() -> None:
    """No expression is pasted into a script (no shell injection; the secret is on no command line)."""
    assert ACTION["runs"]["using"] == "composite"
    assert set(ACTION["inputs"]) == {"url", "secret", "junit", "args", "version"}
    assert ACTION["inputs"]["url"]["required"] is True
    for step in STEPS:
        assert "${{" not in step["run"]
        assert "--secret" not in step["run"]
    install, conform = STEPS
    assert install["env"]["CONNECT_HOOKS_ACTION_PATH"] == "${{ github.action_path }}"
    assert 'pip install "$CONNECT_HOOKS_ACTION_PATH"' in install["run"]
    assert conform["env"]["CONNECT_HOOKS_SECRET"] == "${{ inputs.secret }}"
    assert "--junit" in conform["run"]


@pytest.fixture
def listen(tmp_path: Path) -> Iterator[str]:
    """``listen --port 0`` with the hub secret; its URL read from --ready-file."""
    ready = tmp_path / "ready.json"
    env = {**os.environ, "CONNECT_HOOKS_SECRET": SECRET}
    args = [sys.executable, "-m", "connect_hooks", "listen", "--port", "0", "--ready-file", str(ready)]
    with subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        try:
            deadline = time.monotonic() + 20
            while not ready.exists():
                assert process.poll() is None and time.monotonic() < deadline, "listen did not start"
                time.sleep(0.01)
            yield str(json.loads(ready.read_text())["url"]) + "/hooks"
        finally:
            process.terminate()
            process.wait(timeout=10)


def fresh_venv(where: Path) -> Path:
    """A venv without pip; pip and the dependencies come from this interpreter's site-packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python3"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    (Path(purelib) / "outer_site_packages.pth").write_text("\n".join(dict.fromkeys(outer)) + "\n")
    return where / "bin"


def junit_cases(path: Path) -> dict[str, str]:
    """{test case name: 'passed' | 'failure' | 'skipped' | 'error'}."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome = next((child.tag for child in case if child.tag in ("failure", "skipped", "error")), "passed")
        cases[case.attrib["name"]] = outcome
    return cases


@pytest.mark.e2e
@pytest.mark.wheel
def test_the_action_installs_itself_and_reports_on_listen(tmp_path: Path, listen: str) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "reports").mkdir(parents=True)
    bin_dir = fresh_venv(tmp_path / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "CONNECT_HOOKS_SECRET")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    inputs = {
        "url": listen,
        "secret": SECRET,
        "junit": "reports/conform.xml",
        "args": "--only 'accepts/receipt/sms,rejects' --seed 7",
    }
    results = run_steps(STEPS, inputs, env, workspace)
    assert results[0].returncode == 0, results[0].stderr
    install, conform = results
    assert conform.returncode == 0, conform.stdout + conform.stderr
    where = subprocess.run(
        [bin_dir / "python3", "-c", "import connect_hooks; print(connect_hooks.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv")  # the action's install, not the checkout

    cases = junit_cases(workspace / "reports" / "conform.xml")
    sms = sorted(p.stem for p in (ROOT / "samples" / "receipt" / "sms").glob("*.json"))
    rejects = ["rejects-unsigned", "rejects-wrong-secret", "rejects-tampered-body", "rejects-bad-signature-format"]
    assert cases == {**{f"accepts/receipt/sms/{n}": "passed" for n in sms}, **dict.fromkeys(rejects, "passed")}
    assert SECRET not in install.stdout + install.stderr + conform.stdout + conform.stderr

    # Without the secret input the signature checks cannot run, and the receiver (which verifies)
    # refuses the unsigned notifications: the step fails (exit 1, not bad input) and still reports.
    (again,) = run_steps(STEPS[1:], {**inputs, "secret": "", "args": "--only accepts/receipt/sms"}, env, workspace)
    assert again.returncode == 1, again.stderr
    cases = junit_cases(workspace / "reports" / "conform.xml")
    assert cases == {f"accepts/receipt/sms/{n}": "failure" for n in sms}


def test_unbalanced_quotes_in_args_stop_the_step_with_one_line(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    inputs = {"url": "http://127.0.0.1:9/hooks", "args": "--only 'url"}
    (result,) = run_steps(STEPS[1:], inputs, env, workspace)
    assert result.returncode == 1
    assert result.stderr == "error: the args input cannot be split (No closing quotation): check its quotes\n"
    assert not (workspace / "connect-hooks-conform.xml").exists()
