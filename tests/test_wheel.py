"""The built wheel carries the samples: install it in a fresh venv and use it outside the checkout.

Slow (it builds the wheel and makes a venv, some seconds) but part of the normal test run: the
samples live outside the package directory in a checkout, so only a real install shows that
the wheel's force-include and ``catalogue.samples_root()`` agree.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


@pytest.mark.wheel
def test_the_installed_wheel_finds_its_samples_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    sh(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", dist, ROOT, cwd=tmp_path)
    (wheel,) = dist.glob("connect_hooks-*.whl")
    shipped = [n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("connect_hooks/samples/")]
    checkout = sorted((ROOT / "samples").rglob("*.json"))  # templates and their families' schemas
    assert sorted(shipped) == sorted(f"connect_hooks/{p.relative_to(ROOT).as_posix()}" for p in checkout)
    names = set(zipfile.ZipFile(wheel).namelist())
    assets = {
        f"connect_hooks/receiver/inspector_assets/{p.name}"
        for p in (ROOT / "connect_hooks" / "receiver" / "inspector_assets").iterdir()
    }
    assert assets == {
        f"connect_hooks/receiver/inspector_assets/{n}" for n in ("index.html", "inspector.js", "inspector.css")
    }
    assert assets <= names  # the inspector works offline: its page ships in the wheel
    assert "connect_hooks/py.typed" in names  # type checkers read the public API's annotations (PEP 561)

    # A fresh venv that gets the wheel; its dependencies come from this interpreter's
    # site-packages through a .pth line (which adds the directory but does not run the .pth
    # files in it, so an editable install of the checkout stays out of the way).
    venv = tmp_path / "venv"
    sh(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    purelib = Path(
        sh(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path)
        .stdout.decode()
        .strip()
    )
    outer = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    if site.ENABLE_USER_SITE:
        outer.append(site.getusersitepackages())
    (purelib / "outer_site_packages.pth").write_text("\n".join(dict.fromkeys(outer)) + "\n")
    sh(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=tmp_path,
    )

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    where = sh(python, "-c", "import connect_hooks; print(connect_hooks.__file__)", cwd=outside, env=env)
    assert Path(where.stdout.decode().strip()).is_relative_to(purelib)

    script = venv / "bin" / "connect-hooks"
    listed = sh(script, "samples", "list", "--json", cwd=outside, env=env)
    assert len(json.loads(listed.stdout)) == len(list((ROOT / "samples").glob("*/*/*.json")))
    schema = sh(script, "samples", "schema", "receipt/sms/delivered", cwd=outside, env=env)
    assert json.loads(schema.stdout) == json.loads((ROOT / "samples" / "schemas" / "receipt-sms.json").read_text())
    shown = sh(script, "samples", "show", "receipt/sms/delivered", "--seed", "42", "--raw", cwd=outside, env=env)
    assert shown.stdout == (GOLDEN / "receipt-sms-delivered.json").read_bytes()
    page = sh(
        python,
        "-c",
        "from connect_hooks.receiver.inspector import _asset; print(len(_asset('inspector.js')))",
        cwd=outside,
        env=env,
    )
    assert (
        int(page.stdout) == (ROOT / "connect_hooks" / "receiver" / "inspector_assets" / "inspector.js").stat().st_size
    )
