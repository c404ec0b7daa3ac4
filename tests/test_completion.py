"""Shell completion as a shell runs it: ``connect-hooks`` in a subprocess with Click's completion
variables set, the candidates it prints, and what it had to import to print them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.client.credentials import AUTH_TYPES

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
#: Start-up must stay light: completing runs a whole process on every Tab.
HEAVY = {"httpx", "rich", "uvicorn", "anyio"}


def sample_names() -> list[str]:
    """The catalogue's sample names, read from the directory here (not through the catalogue module)."""
    return sorted(p.relative_to(SAMPLES).with_suffix("").as_posix() for p in SAMPLES.glob("[ir]*/*/*.json"))


def story_names() -> list[str]:
    return sorted(p.relative_to(SAMPLES).with_suffix("").as_posix() for p in SAMPLES.glob("story/*/*.json"))


def complete(*words: str, cwd: Path | None = None) -> tuple[list[tuple[str, str]], set[str]]:
    """What bash's completion asks for ``connect-hooks WORDS`` (the last word is the one being
    completed): the (type, value) candidates, and the top-level modules imported meanwhile."""
    env = {
        **os.environ,
        "_CONNECT_HOOKS_COMPLETE": "bash_complete",
        "COMP_WORDS": " ".join(("connect-hooks", *words)),
        "COMP_CWORD": str(len(words)),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "connect_hooks"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    items = [tuple(line.split(",", 1)) for line in done.stdout.splitlines() if line]
    return items, imported  # type: ignore[return-value]


def plain(items: list[tuple[str, str]]) -> list[str]:
    return [value for kind, value in items if kind == "plain"]


def conform_ids() -> list[str]:
    """Every check ID conform can run (a secret and an authorization given), from its registry."""
    from connect_hooks.client.credentials import AuthSettings
    from connect_hooks.conform import conformance

    settings = conformance.ConformSettings(url="http://127.0.0.1:1/", secret="s", auth=AuthSettings("basic", "u", "p"))
    return [check.id for check in conformance.all_checks(settings)]


def test_send_completes_sample_names_and_files_without_importing_httpx_or_rich() -> None:
    items, imported = complete("send", "receipt/sms/d")
    expected = [n for n in sample_names() if n.startswith("receipt/sms/d")]
    assert expected  # the catalogue has such samples: the test is not vacuous
    assert items == [("file", "receipt/sms/d"), *(("plain", n) for n in expected)]
    assert "click" in imported  # the probe sees imports at all
    assert imported & HEAVY == set()


def test_conform_only_completes_families_and_ids_after_a_comma() -> None:
    items, imported = complete("conform", "https://example.test/hooks", "--only", "url,rej")
    rejects = [i for i in conform_ids() if i.startswith("rej")]
    assert len(rejects) >= 6
    assert plain(items) == ["url,rejects", *(f"url,{i}" for i in rejects)]
    assert imported & HEAVY == set()


def test_conform_skip_completes_accepts_families_and_every_accepts_check() -> None:
    items, _ = complete("conform", "https://example.test/hooks", "--skip", "accepts/receipt/s")
    registry = [i for i in conform_ids() if i.startswith("accepts/receipt/s")]
    families = sorted({i.rsplit("/", 1)[0] for i in registry})  # accepts/receipt/sms, .../sms is a prefix too
    assert plain(items) == [*families, *registry]


def test_check_ids_are_conform_s_registry() -> None:
    """The completion's own list of check IDs (conform's registry imports httpx) is the registry's:
    a new check must be added there too."""
    from connect_hooks.cli.completers import CHECK_IDS

    assert list(CHECK_IDS) == [i for i in conform_ids() if not i.startswith("accepts/")]
    items, _ = complete("conform", "https://example.test/hooks", "--only", "")
    assert {v for v in plain(items) if "/" in v and v.count("/") == 3} == {
        i for i in conform_ids() if i.startswith("accepts/")
    }


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("samples", "show", "inbound/sms/"), [n for n in sample_names() if n.startswith("inbound/sms/")]),
        (("samples", "show", "story/w"), [n for n in story_names() if n.startswith("story/w")]),
        (("send", "story/"), story_names()),
        (("conform", "https://example.test/", "--channel", "sms,wh"), ["sms,whatsapp"]),
        (("send", "x", "https://example.test/", "--auth", ""), list(AUTH_TYPES)),
        (("listen", "--require-auth", "b"), ["basic", "bearer"]),
        (("completion", ""), ["bash", "fish", "zsh"]),
    ],
    ids=["samples-show", "samples-show-story", "send-story", "channel", "auth", "require-auth", "completion"],
)
def test_other_completions(words: tuple[str, ...], expected: list[str]) -> None:
    items, imported = complete(*words)
    assert expected
    assert plain(items) == expected
    assert imported & HEAVY == set()


def test_webhook_profiles_come_from_the_toml_file_here(tmp_path: Path) -> None:
    (tmp_path / "connect-hooks.toml").write_text('[webhooks.prod]\nurl = "https://a.test/"\n[webhooks.qa]\n')
    items, imported = complete("send", "receipt/sms/delivered", "--webhook", "", cwd=tmp_path)
    assert plain(items) == ["prod", "qa"]
    assert imported & HEAVY == set()
    pyproject = tmp_path / "elsewhere"
    pyproject.mkdir()
    (pyproject / "pyproject.toml").write_text('[tool.connect-hooks.webhooks.staging]\nurl = "https://b.test/"\n')
    assert plain(complete("check", "--webhook", "s", cwd=pyproject)[0]) == ["staging"]
    # --config given before --webhook is the file read; a broken one offers nothing (and no traceback)
    (tmp_path / "broken.toml").write_text("[webhooks\n")
    items, _ = complete("check", "--config", str(tmp_path / "broken.toml"), "--webhook", "", cwd=pyproject)
    assert items == []


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_bash_script_completes_through_the_program() -> None:
    """The script 'completion bash' prints, sourced into bash and called as bash calls it on Tab."""
    program = Path(sys.executable).parent / "connect-hooks"
    if not program.exists():
        pytest.skip("the connect-hooks console script is not installed beside this Python")
    script = CliRunner().invoke(main, ["completion", "bash"])
    assert script.exit_code == 0
    driver = (
        script.stdout
        + "\nCOMP_WORDS=(connect-hooks send receipt/sms/deli); COMP_CWORD=2"
        + '\n_connect_hooks_completion connect-hooks; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{program.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "--norc", "-c", driver], env=env, capture_output=True, text=True, check=True)
    expected = [n for n in sample_names() if n.startswith("receipt/sms/deli")]
    assert done.stdout.split() == expected


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_call_the_program_in_their_mode(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0
    assert f"_CONNECT_HOOKS_COMPLETE={shell}_complete" in result.stdout.replace('"', "")
    if shutil.which(shell):  # a syntax check where the shell is installed
        check = [shell, "-n"] if shell == "zsh" else [shell, "--no-execute"]
        subprocess.run([*check], input=result.stdout, text=True, check=True)


def test_unknown_shell_is_bad_input() -> None:
    result = CliRunner().invoke(main, ["completion", "tcsh"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "tcsh" in result.stderr
