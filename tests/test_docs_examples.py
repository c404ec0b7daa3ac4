"""Every code example in README.md and docs/*.md is run, or marked in the doc as not runnable, with a reason.

The line before each fenced block (a blank line between) is an HTML comment, invisible on GitHub and in the site:

- ``<!-- example: not run: REASON -->``: not run, for the reason given;
- ``<!-- example: shell -->`` (``shell output``: the output shown is compared too): each ``connect-hooks`` command
  runs and must not be bad input (exit 2) or crash; ``listen`` runs in the background on a port the system picks,
  and the URLs of the block reach it; URLs of ``example.test`` hosts (your receiver) and ``127.0.0.1:3000`` (your
  app) reach a local receiver; ``send`` and ``replay`` get ``--fast`` unless they set the time; other commands
  (curl) run in bash; ``CONNECT_HOOKS_SECRET`` holds a hub secret, as the docs assume;
- ``<!-- example: receiver -->`` (``secret=S`` when the block has its own hub secret): the block defines ``app``
  (WSGI or ASGI), given ``SECRET`` and ``handle``; it is served on 127.0.0.1 and ``conform`` must pass with the secret;
- ``<!-- example: python -->`` (``python-async``: its body is awaited) is executed; ``<!-- example: pytest -->``
  is a test module pytest runs (all must pass). ``NAME=GIVEN`` binds a name the block leaves to the reader to one
  of ``GIVEN`` below.

A block without a marker fails the test: mark each new example.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.receiver.app import ReceiverApp, ReceiverSettings
from tests.auth_receivers import serve
from tests.support import LISTENING, stderr_line

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!-- example: (.+?) -->")
FENCE = re.compile(r"^(\s*)(```+)\s*(\w*)\s*$")
#: The hub secret a receiver example is given as ``SECRET``, and the plugin's tests sign with.
SECRET = "docs-example-hub-secret"
#: What an elided value (``...``) in a shell example stands for.
ELIDED = "docs-example-value"


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    language: str
    code: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str:
        return (self.marker or "").split()[0] if self.marker else ""

    @property
    def args(self) -> dict[str, str]:
        words = (self.marker or "").split()[1:]
        return dict(w.split("=", 1) for w in words if "=" in w)

    @property
    def flags(self) -> set[str]:
        return {w for w in (self.marker or "").split()[1:] if "=" not in w}


def blocks(doc: Path) -> list[Block]:
    lines = doc.read_text(encoding="utf-8").split("\n")
    found: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence, language = opening.groups()
        end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == fence)
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marked = MARKER.fullmatch(before.strip())
        code = textwrap.dedent(
            "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end])
        )
        found.append(Block(doc, i + 1, language, code + "\n", marked.group(1) if marked else None))
        i = end + 1
    return found


ALL = [block for doc in DOCS for block in blocks(doc)]


def of_kind(*kinds: str) -> list[Any]:
    return [pytest.param(b, id=b.where) for b in ALL if b.kind in kinds]


def test_every_example_is_run_or_marked_not_run_with_a_reason() -> None:
    assert len(ALL) > 30  # the parser found the examples
    unmarked = [b.where for b in ALL if b.marker is None]
    assert unmarked == [], "mark each example (see this file's docstring): " + ", ".join(unmarked)
    known = {"not", "shell", "receiver", "python", "python-async", "pytest"}
    assert {b.where: b.kind for b in ALL if b.kind not in known} == {}
    reasonless = [b.where for b in ALL if b.kind == "not" and not re.match(r"not run: \S", b.marker or "")]
    assert reasonless == []


# -- what a block may leave to the reader ----------------------------------------------------------------------------

RECEIVER_PRELUDE = f"SECRET = {SECRET!r}\n\n\ndef handle(document):\n    pass\n\n\n"


def readme_receiver() -> str:
    (block,) = [b for b in ALL if b.kind == "receiver" and b.doc.name == "README.md"]
    return RECEIVER_PRELUDE + block.code


def plugin_receiver() -> str:
    (block,) = [b for b in ALL if b.kind == "pytest" and "receiver" in b.flags]
    return block.code


GIVEN: dict[str, Callable[[], str]] = {
    "flask-receiver": readme_receiver,
    "fastapi-receiver": plugin_receiver,
    "flask-503-503-200": lambda: textwrap.dedent(
        """
        from flask import Flask

        flask_app = Flask(__name__)
        answers = iter([503, 503])


        @flask_app.post("/hooks")
        def hooks():
            return "", next(answers, 200)
        """
    ),
    "django-receiver": lambda: textwrap.dedent(
        f"""
        import django
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application
        from django.http import HttpResponse
        from django.urls import path
        from django.views.decorators.csrf import csrf_exempt

        from connect_hooks import verify

        settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="not-the-hub-secret")
        django.setup()


        @csrf_exempt
        def hooks(request):
            if request.method == "HEAD":
                return HttpResponse(status=200)
            ok = verify(request.body, request.headers.get("x-hub-signature"), {SECRET!r})
            return HttpResponse(status=200 if ok else 401)


        urlpatterns = [path("hooks", hooks)]
        """
    ),
}


def given_namespace(block: Block) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    for name, given in block.args.items():
        if name == "secret":
            continue
        module: dict[str, Any] = {"__name__": f"given_{given.replace('-', '_')}"}
        exec(compile(GIVEN[given](), f"<{given}>", "exec"), module)
        namespace[name] = module[name]
    return namespace


# -- Python ----------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` (WSGI or ASGI) on 127.0.0.1 at a port the system picks; yields its base URL."""
    if hasattr(app, "wsgi_app") or getattr(app, "__module__", "").startswith("django"):
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(10)
    else:
        with serve(app) as port:
            yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    "block", of_kind("receiver") + [b for b in of_kind("pytest") if "receiver" in b.values[0].flags]
)
def test_a_receiver_example_answers_head_and_passes_conform(block: Block) -> None:
    secret = block.args.get("secret", SECRET)
    namespace: dict[str, Any] = {"__name__": "receiver_example"}
    exec(compile((RECEIVER_PRELUDE if block.kind == "receiver" else "") + block.code, block.where, "exec"), namespace)
    with serving(namespace["app"]) as url:
        result = CliRunner().invoke(main, ["conform", url + "/hooks", "--json"], env={"CONNECT_HOOKS_SECRET": secret})
    report = json.loads(result.stdout)
    failed = {c["id"]: c["message"] for c in report["checks"] if c["status"] == "fail"}
    assert result.exit_code == 0 and failed == {}, failed
    assert {c["id"] for c in report["checks"] if c["status"] == "pass"} >= {"url-head-200", "rejects-unsigned"}


@pytest.fixture
def standin() -> Iterator[str]:
    """A local receiver standing in for yours: answers 200 to every notification."""
    with serving(ReceiverApp(ReceiverSettings())) as url:
        yield url


def localized(text: str, receiver: str, listening: str | None = None, tls_dir: str | None = None) -> str:
    """Point the example's URLs at loopback: example.test hosts and your app at ``receiver``; 8787 at listen."""
    text = re.sub(r"https?://(?:[a-z0-9-]+\.)*example\.test", receiver, text)
    text = text.replace("http://127.0.0.1:3000", receiver)
    if listening is not None:
        text = text.replace("127.0.0.1:8787", listening.split("//", 1)[1])
    else:
        text = text.replace("http://127.0.0.1:8787", receiver)
    if tls_dir is not None:
        text = text.replace("/tmp/connect-hooks-tls-…", tls_dir)
    return text


@pytest.mark.parametrize("block", of_kind("python", "python-async"))
def test_a_python_example_runs(block: Block, standin: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SECRET", SECRET)
    code = localized(block.code, standin)
    namespace = {"__name__": "python_example", **given_namespace(block)}
    if block.kind == "python-async":
        code = "async def example():\n" + textwrap.indent(code, "    ")
        exec(compile(code, block.where, "exec"), namespace)
        asyncio.run(namespace["example"]())
    else:
        exec(compile(code, block.where, "exec"), namespace)


@pytest.mark.parametrize("block", of_kind("pytest"))
def test_a_pytest_example_passes(block: Block, pytester: pytest.Pytester) -> None:
    prelude = ""
    for name, given in block.args.items():
        if name == "secret":
            continue
        module = f"given_{given.replace('-', '_')}"
        pytester.makepyfile(**{module: GIVEN[given]()})
        prelude += f"from {module} import {name}\n"
    pytester.makepyfile(test_example=prelude + block.code)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "--webex-connect-secret", SECRET)
    result.assert_outcomes(passed=block.code.count("\ndef test_") + block.code.startswith("def test_"))


# -- shell -----------------------------------------------------------------------------------------------------------


@dataclass
class Shell:
    """Runs a shell example's commands one by one: ``listen`` in the background, the others to their end."""

    cwd: Path
    receiver: str
    env: dict[str, str] = field(default_factory=dict)
    listen: subprocess.Popen[bytes] | None = None
    listening: str | None = None
    tls_dir: str | None = None
    failures: list[str] = field(default_factory=list)

    def run(self, line: str, expected: list[str] | None) -> None:
        line = localized(line, self.receiver, self.listening, self.tls_dir)
        words = shlex.split(line, comments=True)
        if words[-1:] == ["&"]:
            words.pop()
        while len(words) >= 2 and words[-2] == ">":
            del words[-2:]
        stdin = None
        if "<" in words:
            at = words.index("<")
            stdin = (self.cwd / words[at + 1]).read_bytes()
            del words[at : at + 2]
        while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
            name, value = words.pop(0).split("=", 1)
            self.env[name] = self._value(value)
        if words[:1] == ["export"]:
            self.env.update((w.split("=", 1)[0], self._value(w.split("=", 1)[1])) for w in words[1:])
        elif words[:2] == ["connect-hooks", "listen"]:
            self._listen(words[2:])
        elif words[:1] == ["connect-hooks"]:
            self._command(line, words[1:], expected, stdin)
        else:
            self._bash(line)

    @staticmethod
    def _value(value: str) -> str:
        return ELIDED if value in ("...", "") else value

    def _environ(self) -> dict[str, str]:
        return {**os.environ, **self.env}

    def _command(self, line: str, args: list[str], expected: list[str] | None, stdin: bytes | None) -> None:
        if args[0] in ("send", "replay") and not {"--fast", "--speed", "--dry-run"} & set(args):
            args.append("--fast")
        result = CliRunner().invoke(main, args, input=stdin, env=self.env, catch_exceptions=True)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        if crashed or result.exit_code not in (0, 1):
            self.failures.append(f"{line!r}: exit {result.exit_code} {result.exception!r}: {result.output[-400:]}")
        if expected is not None and result.stdout.rstrip("\n").split("\n") != expected:
            self.failures.append(f"{line!r}: printed\n{result.stdout}instead of\n" + "\n".join(expected))

    def _listen(self, args: list[str]) -> None:
        self.stop()
        if "--port" not in args:
            args += ["--port", "0"]
        if "--inspect" in args and "--inspect-port" not in args:
            args += ["--inspect-port", "0"]
        self.listen = subprocess.Popen(
            [sys.executable, "-m", "connect_hooks", "listen", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=self._environ(),
            cwd=self.cwd,
        )
        said = ""
        while "Ctrl-C" not in said:
            line = stderr_line(self.listen)
            if not line:
                raise AssertionError(f"listen {args} stopped: {said}")
            said += line
        found = LISTENING.search(said)
        assert found is not None, said
        self.listening = found.group(1)
        tls = re.search(r"--ca-bundle (\S+)/ca\.pem", said)
        self.tls_dir = tls.group(1) if tls else None
        threading.Thread(target=self.listen.communicate, daemon=True).start()  # drain its stderr

    def _bash(self, line: str) -> None:
        env = self._environ()
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
        done = subprocess.run(["bash", "-c", line], cwd=self.cwd, env=env, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            self.failures.append(f"{line!r}: exit {done.returncode}: {done.stderr[-400:]}")

    def stop(self) -> None:
        if self.listen is not None:
            self.listen.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.listen.wait(10)
            self.listen.kill()
            self.listen = None
            self.listening = self.tls_dir = None


def commands(block: Block) -> Iterator[tuple[str, list[str] | None]]:
    """Each logical command line, with the output shown after it (console blocks with ``output``), or None."""
    console = block.language == "console"
    lines = block.code.rstrip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if console and not line.startswith("$ "):
            continue
        line = line[2:] if console else line
        while line.endswith("\\"):
            line = line[:-1] + " " + lines[i].strip()
            i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        shown = []
        while console and i < len(lines) and not lines[i].startswith("$ "):
            shown.append(lines[i])
            i += 1
        yield line, shown if "output" in block.flags else None


@pytest.mark.parametrize("block", of_kind("shell"))
def test_a_shell_example_runs(block: Block, standin: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "body.json").write_text('{"transid": "t-1"}')
    shell = Shell(tmp_path, standin, {"CONNECT_HOOKS_SECRET": SECRET})  # your hub secret, as the docs assume
    sent = CliRunner().invoke(main, ["send", "receipt/sms/delivered", standin + "/hooks", "--log", "sent.ndjson"])
    assert sent.exit_code == 0, sent.output
    try:
        for line, expected in commands(block):
            shell.run(line, expected)
    finally:
        shell.stop()
    assert shell.failures == []
