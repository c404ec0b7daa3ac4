"""Rich output for the receiver side: ``listen``'s live view and ``demo``'s story.

Imported only by those commands. The records come from ``receiver`` and ``demo``; their
``as_dict`` feeds ``--json`` and ``--log`` instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import time
from collections.abc import Iterable
from typing import IO

from rich.console import Console
from rich.text import Text

from connect_hooks.cli import render
from connect_hooks.cli.demo import DemoSettings, DemoView, Scene, SceneResult
from connect_hooks.receiver.app import Received, Signature
from connect_hooks.receiver.server import Serving
from connect_hooks.sender.delivery import Attempt
from connect_hooks.textsafe import visible

SIGNATURE_STYLE = {
    Signature.VALID: "green",
    Signature.UNCHECKED: "dim",
    Signature.NOT_READ: "dim",
    Signature.SKIPPED: "dim",
}


def status_style(status: int | None) -> str:
    if status is None:
        return "bold red"
    if status == 200:
        return "bold green"
    return "bold yellow" if status >= 500 else "bold red"


SIGNATURE_LABEL = {
    Signature.VALID: "signature valid ({algorithm})",
    Signature.MISMATCH: "signature MISMATCH",
    Signature.MALFORMED: "signature malformed",
    Signature.MISSING: "signature missing",
    Signature.UNCHECKED: "signature not checked",
    Signature.NOT_READ: "signature not read",
    Signature.SKIPPED: "signature not checked",
}


def signature_text(record: Received) -> Text:
    algorithm = None if record.algorithm is None else visible(record.algorithm)
    label = SIGNATURE_LABEL[record.signature].format(algorithm=algorithm)
    return Text(label, style=SIGNATURE_STYLE.get(record.signature, "bold red"))


Part = tuple[str, str | None]  # text, style


_last_second: tuple[tuple[object, ...], tuple[str, str], str] = ((), ("", ""), "")


def _clock_time(when: dt.datetime) -> str:
    """Local HH:MM:SS of a time; the last second's text is kept, since a burst shares it."""
    global _last_second
    second = (when.second, when.minute, when.hour, when.day, when.month, when.year, when.tzinfo)
    if _last_second[0] != second or _last_second[1] is not time.tzname:  # a time.tzset() makes a new tzname
        stamp = math.floor(when.timestamp())  # what time.localtime does with a float
        _last_second = (second, time.tzname, time.strftime("%H:%M:%S", time.localtime(stamp)))
    return _last_second[2]


def received_parts(record: Received) -> list[Part]:
    """One line per request: time, gtrid, attempt, what it is, signature verdict, answer (and why)."""
    clock, which = _request_texts(record)
    return [(clock, "dim"), (which, None), *_verdict_parts(*_verdict_key(record))]


#: "#1 ", "#2 ", ...: the usual attempt numbers' text, made once (a format spec per line costs more).
_ATTEMPT_TEXT: dict[int | None, str] = {number: f"#{number:<2}" for number in range(1, 10)}


def _request_texts(record: Received) -> tuple[str, str]:
    """The texts that change with every request: the time, and which request it is."""
    clock = _clock_time(record.time)
    if _is_delivery(record):
        attempt = _ATTEMPT_TEXT.get(record.attempt) or f"#{record.attempt or '-':<2}"
        gtrid = (record.gtrid or "no-gtrid")[:8]
        if not gtrid.isprintable():  # the common case pays for this test only, not for a call
            gtrid = visible(gtrid)
        return clock, f"  {gtrid.ljust(8)}  {attempt} "
    return clock, f"  {visible(record.method)} {visible(record.path)}"


def _is_delivery(record: Received) -> bool:
    # a refused POST is no delivery (nor a token request): it is shown by method and path
    return record.method == "POST" and not (record.auth is not None and record.attempt is None)


VerdictKey = tuple[str | None, Signature, str | None, tuple[str, bool] | None, int | None, str | None]


def _verdict_key(record: Received) -> VerdictKey:
    """What the rest of the line depends on: a burst repeats a few of these, so their text is cached."""
    what = None
    if _is_delivery(record):
        what = record.classification.label if record.classification is not None else "-"
    auth = None if record.auth is None else (record.auth.kind, record.auth.ok)
    unanswered_or_refused = record.status is None or (record.status != 200 and record.method == "POST")
    refused = record.status == 401 and record.auth is not None  # a HEAD without credentials, say
    shown = record.forward is not None or unanswered_or_refused or refused
    return what, record.signature, record.algorithm, auth, record.status, record.reason if shown else None


@functools.lru_cache(maxsize=1024)
def _verdict_parts(
    what: str | None,
    signature: Signature,
    algorithm: str | None,
    auth: tuple[str, bool] | None,
    status: int | None,
    reason: str | None,
) -> tuple[Part, ...]:
    """What it is and the signature's verdict (deliveries only), the credentials' verdict, the answer and why.

    Text from the request (the payload's channel and event, the algorithm named, a reason quoting it)
    is shown ``visible``: a payload cannot drive the terminal. Cached, so a burst pays for it once.
    """
    parts: list[Part] = []
    if what is not None:
        parts.append((f"{visible(what):<24}", "cyan"))
        parts.append(("  ", None))
        label = SIGNATURE_LABEL[signature].format(algorithm=None if algorithm is None else visible(algorithm))
        parts.append((label, SIGNATURE_STYLE.get(signature, "bold red")))
    if auth is not None:  # the credentials' verdict (listen --require-auth): never the credentials
        kind, ok = auth
        parts.append(("  ", None))
        parts.append((f"auth ok ({kind})", "green") if ok else (f"auth REFUSED ({kind})", "bold red"))
    parts.append(("  → ", None))
    parts.append(("no answer" if status is None else str(status), status_style(status)))
    if reason is not None:
        parts.append((f"  {visible(reason)}", "dim"))
    return tuple(parts)


def received_line(record: Received) -> Text:
    """The request's line as Rich text (the demo's story)."""
    return Text.assemble(*((text, style or "") for text, style in received_parts(record)))


#: SGR codes of the few styles the receiver's line uses.
ANSI = {"dim": "2", "cyan": "36", "green": "32", "bold red": "1;31", "bold green": "1;32", "bold yellow": "1;33"}
SGR = {style: f"\x1b[{code}m" for style, code in ANSI.items()}
RESET = "\x1b[0m"


def received_ansi(record: Received, *, color: bool) -> str:
    """The same line as plain text, or with ANSI colours: cheap enough for thousands per second."""
    clock, which = _request_texts(record)
    verdict = _verdict_ansi(_verdict_key(record), color)
    return f"{SGR['dim']}{clock}{RESET}{which}{verdict}" if color else f"{clock}{which}{verdict}"


def _ansi(parts: Iterable[Part], color: bool) -> str:
    if not color:
        return "".join([text for text, _ in parts])
    return "".join([f"{SGR[style]}{text}{RESET}" if style else text for text, style in parts])


@functools.lru_cache(maxsize=1024)
def _verdict_ansi(key: VerdictKey, color: bool) -> str:
    return _ansi(_verdict_parts(*key), color)


def wants_color(stream: IO[str]) -> bool:
    """Colour when the stream is a terminal, unless NO_COLOR is set or TERM is dumb."""
    import os

    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


class DemoPrinter(DemoView):
    """Print the demo's story: both sides, one scene after another."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.current: Scene | None = None

    def started(self, where: Serving, settings: DemoSettings) -> None:
        c = self.console
        c.print(Text("connect-hooks demo: Webex Connect and a receiver, both on this machine", style="bold"))
        kind = "HTTPS with a throwaway local CA" if where.tls else "plain HTTP"
        c.print(
            f"The receiver listens on {where.url} ({kind}) and verifies every x-hub-signature "
            "with a throwaway hub secret. The sender is connect-hooks' delivery engine: real HTTP, real "
            "signatures, Webex Connect's retry policy (only 200 delivers; retries 60 s apart; 3 retries)."
        )
        per_minute = 60 / settings.speed
        c.print(
            Text(
                f"Time is compressed: a 60 s wait takes {per_minute:g} s, and the 10 s timeout is played as "
                f"{settings.deadline:g} s. Timelines (T+...) show Webex Connect's time; latencies are real.",
                style="dim",
            )
        )

    def scene(self, number: int, scene: Scene) -> None:
        self.current = scene
        self.console.print()
        self.console.print(Text(f"{number}. {scene.title}", style="bold"))
        self.console.print(Text(f"   receiver script for POST {scene.path}: {scene.script.describe()}", style="dim"))

    def attempt(self, scene: Scene, attempt: Attempt) -> None:
        line = Text("   sender    ", style="magenta")
        line.append_text(render.attempt_line(scene.sample, attempt))
        self.console.print(line)

    def received(self, record: Received) -> None:
        line = Text("   receiver  ", style="blue")
        line.append_text(received_line(record))
        self.console.print(line)

    def finished(self, result: SceneResult) -> None:
        line = Text("   ")
        line.append_text(render.closing_line(result.delivery))
        if not result.as_expected:
            line.append(f"  (expected {result.scene.expected})", style="bold red")
        self.console.print(line)


def demo_summary(results: tuple[SceneResult, ...]) -> Text:
    parts = render.outcome_counts([result.delivery for result in results])
    if all(r.as_expected for r in results):
        return Text(f"Every notification ended as Webex Connect's policy says: {parts}.", style="bold green")
    return Text(f"Something did not go as the policy says: {parts}.", style="bold red")
