"""``fuzz``'s core: send generated bodies (``fuzzcases``) once each, signed, under the attempt deadline;
every answer but 200 is a finding, shrunk against the receiver itself, saved to a file, reproducible."""

from __future__ import annotations

import asyncio
import json
import math
import random
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connect_hooks import signing
from connect_hooks.catalogue.samples import compact
from connect_hooks.client.attempt import Exchange, attempt_once
from connect_hooks.conform.fuzzcases import Case, Family, catalogue_families, make_cases, notable, smaller
from connect_hooks.errors import BadInput
from connect_hooks.policy import DEFAULT_TIMEOUT
from connect_hooks.redaction import redact_url
from connect_hooks.sender.delivery import build_notification
from connect_hooks.textsafe import visible
from connect_hooks.urls import is_loopback, parse_url

if TYPE_CHECKING:
    import httpx

    from connect_hooks.client.credentials import AuthSettings

DEFAULT_OUT = "connect-hooks-findings"
#: Requests one finding's shrinking may spend against the receiver.
SHRINK_BUDGET = 150
#: How much of a body a people's line shows.
EXCERPT = 100


@dataclass(frozen=True)
class FuzzSettings:
    """What ``fuzz`` (or the pytest plugin) sends, where, and how requests are signed."""

    url: str
    examples: int = 200
    seed: int | None = None
    channels: tuple[str, ...] = ()
    max_time: float | None = None  # seconds for the whole run, shrinking included
    out_dir: str | None = DEFAULT_OUT  # None: findings are not written (the plugin)
    secret: str | None = field(default=None, repr=False)
    algorithm: str = "sha256"
    signature_style: str = "prefixed"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout: float = DEFAULT_TIMEOUT
    concurrency: int = 10
    shrink_budget: int = SHRINK_BUDGET
    in_process: bool = False
    ca_bundle: str | None = None
    insecure: bool = False
    auth: AuthSettings | None = field(default=None, repr=False)
    client_cert: str | None = None  # the client certificate's file, for the reproduce lines


@dataclass(frozen=True)
class Finding:
    """A body the receiver did not answer 200, made small: what it got, how to send it again."""

    family: str  # the family of the body shown (the first that failed this way)
    families: tuple[str, ...]  # every family with a body that failed this way
    variant: str  # "schema": valid under the family's schema; "tomorrow": with fields Webex Connect may add
    body: bytes
    status: int | None
    error: str | None
    examples: int  # how many generated bodies failed this way
    original_bytes: int
    shrink_requests: int
    file: str | None
    reproduce: str
    notable: tuple[tuple[str, Any], ...] = ()  # what the body holds beyond the schema's fixed parts

    @property
    def answer(self) -> str:
        return f"answered {self.status}" if self.status is not None else str(self.error)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "family": self.family,
            "families": list(self.families),
            "variant": self.variant,
            "body": json.loads(self.body),
        }
        out.update({"status": self.status} if self.status is not None else {"error": self.error})
        out.update(
            examples=self.examples,
            bytes=len(self.body),
            original_bytes=self.original_bytes,
            shrink_requests=self.shrink_requests,
            file=self.file,
            reproduce=self.reproduce,
            notable=dict(self.notable),
        )
        return out

    def line(self) -> str:
        """One line for people, the payload through ``visible``."""
        shown = " ".join(f"{path}={_excerpt(value)}" for path, value in self.notable)
        if not shown:
            shown = _excerpt(self.body.decode("utf-8", "replace"))
        tag = " [may add tomorrow]" if self.variant == "tomorrow" else ""
        where = f" -> {self.file}" if self.file else ""
        return visible(f"{self.answer}: {self.family}{tag}, {len(self.body)} bytes: {shown}{where}")


def _excerpt(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= EXCERPT else f"{text[:EXCERPT]}... ({len(text)} characters)"


@dataclass(frozen=True)
class FuzzReport:
    url: str
    seed: int
    families: tuple[str, ...]
    examples: int  # bodies sent
    findings: tuple[Finding, ...]
    seconds: float
    stopped: bool  # --max-time ran out before every example was sent

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "seed": self.seed,
            "families": list(self.families),
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
            "stopped_early": self.stopped,
            "findings": [f.as_dict() for f in self.findings],
        }

    def __repr__(self) -> str:
        answers = f": {', '.join(f.answer for f in self.findings)}" if self.findings else ""
        return f"FuzzReport({self.examples} examples, {len(self.findings)} findings{answers}; seed {self.seed})"

    def __str__(self) -> str:
        lines = [f"fuzz {self.url}: {self.examples} examples, {len(self.findings)} findings (seed {self.seed})"]
        for finding in self.findings:
            lines += [finding.line(), f"    reproduce: {finding.reproduce}"]
        return "\n".join(lines)


# -- one attempt --------------------------------------------------------------------------------------


def answer_key(exchange: Exchange) -> str:
    """What a finding is grouped by, and what its shrunk body must still get: the status or the fault."""
    if exchange.fault is not None:
        return str(exchange.fault.value)
    return str(exchange.status)


async def attempt(settings: FuzzSettings, client: httpx.AsyncClient, body: bytes) -> Exchange:
    """POST ``body`` once, signed as ``send`` signs it, under the attempt deadline."""
    import httpx

    n = build_notification(
        settings.url,
        body,
        secret=settings.secret,
        algorithm=settings.algorithm,
        style=settings.signature_style,
        headers=settings.headers,
    )
    request = client.build_request(
        "POST", settings.url, content=body, headers=httpx.Headers(n.headers, encoding="latin-1")
    )
    return await attempt_once(client, request, settings.timeout)


async def send_all(
    settings: FuzzSettings,
    client: httpx.AsyncClient,
    cases: Sequence[Case],
    keep_going: Callable[[], bool],
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[int, Exchange]:
    """Every case once, ``concurrency`` in flight; stops starting new ones when ``keep_going`` says so."""
    answers: dict[int, Exchange] = {}
    pending = iter(cases)

    async def worker() -> None:
        for case in pending:
            if not keep_going():
                return
            answers[case.index] = await attempt(settings, client, case.body)
            if on_progress is not None:
                on_progress(len(answers), len(cases))

    await asyncio.gather(*(worker() for _ in range(max(1, min(settings.concurrency, len(cases))))))
    return answers


# -- findings -----------------------------------------------------------------------------------------


async def shrink(
    settings: FuzzSettings, client: httpx.AsyncClient, case: Case, key: str, keep_going: Callable[[], bool]
) -> tuple[Any, int]:
    """The smallest body found (greedy, ``smaller``'s cuts) that the family still admits and that
    still gets the same answer; each try is one request. Bounded by ``shrink_budget`` and the time."""
    current, spent, improved = case.document, 0, True
    while improved:
        improved = False
        for candidate in smaller(current):
            if spent >= settings.shrink_budget or not keep_going():
                return current, spent
            if not case.family.admits(candidate, case.tomorrow):
                continue
            spent += 1
            exchange = await attempt(settings, client, compact(candidate))
            if exchange.status != 200 and answer_key(exchange) == key:
                current, improved = candidate, True
                break
    return current, spent


def reproduce_line(settings: FuzzSettings, file: str | None) -> str:
    """The ``connect-hooks send FILE URL`` line that sends the finding once more (secret from the environment)."""
    if settings.in_process or file is None:
        where = "app=app" if settings.in_process else f"url={redact_url(settings.url)!r}"
        return f"webex_connect.send(finding.body, {where}, retries=0)"
    parts = ["connect-hooks", "send", file, redact_url(settings.url), "--retries", "0"]
    target = parse_url(settings.url)
    if target.scheme == "http" and not is_loopback(target.host):
        parts.append("--allow-http")
    if settings.timeout != DEFAULT_TIMEOUT:
        parts += ["--timeout", f"{settings.timeout:g}"]
    if settings.secret is not None and settings.algorithm != "sha256":
        parts += ["--algorithm", settings.algorithm]
    if settings.secret is not None and settings.signature_style != "prefixed":
        parts += ["--signature-style", settings.signature_style]
    if settings.ca_bundle is not None:
        parts += ["--ca-bundle", settings.ca_bundle]
    if settings.insecure:
        parts.append("--insecure")
    for name, _ in settings.headers:
        parts += ["-H", f"{name}: <value given to fuzz>"]
    if settings.auth is not None:
        parts += settings.auth.command_args()
    if settings.client_cert is not None:
        parts += ["--client-cert", settings.client_cert]
    return shlex.join(parts)


def save(settings: FuzzSettings, family: str, key: str, seed: int, body: bytes) -> str | None:
    """Write the finding's exact bytes under ``out_dir``; its path (None without ``out_dir``)."""
    if settings.out_dir is None:
        return None
    folder = Path(settings.out_dir)
    path = folder / f"{family.replace('/', '-')}-{key}-seed{seed}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    except OSError as exc:
        raise BadInput(f"cannot write the finding to {str(path)!r}: {exc.strerror or exc}") from None
    return str(path)


def check_out_dir(out_dir: str | None) -> None:
    """Bad input, before anything is sent, when findings cannot go to ``out_dir``."""
    if out_dir is None:
        return
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"--out {out_dir!r} is a file: give a directory for the findings (it is created if need be)")


async def findings_of(
    settings: FuzzSettings,
    client: httpx.AsyncClient,
    cases: Sequence[Case],
    answers: dict[int, Exchange],
    seed: int,
    keep_going: Callable[[], bool],
) -> list[Finding]:
    """One finding per distinct answer (500, 400, timeout...): the first body that got it, shrunk and saved.
    Two weaknesses that get the same answer make one finding: fix the one shown and run again."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        exchange = answers.get(case.index)
        if exchange is not None and exchange.status != 200:
            groups.setdefault(answer_key(exchange), []).append(case)
    found = []
    for key, failed in groups.items():
        first = failed[0]
        family = first.family.name
        document, spent = await shrink(settings, client, first, key, keep_going)
        body = compact(document)
        exchange = answers[first.index]
        file = save(settings, family, key, seed, body)
        tomorrow = first.tomorrow and not first.family.admits(document, False)
        found.append(
            Finding(
                family=family,
                families=tuple(dict.fromkeys(case.family.name for case in failed)),
                variant="tomorrow" if tomorrow else "schema",
                body=body,
                status=exchange.status if exchange.fault is None else None,
                error=exchange.error if exchange.fault is not None else None,
                examples=len(failed),
                original_bytes=len(first.body),
                shrink_requests=spent,
                file=file,
                reproduce=reproduce_line(settings, file),
                notable=tuple(notable(document, first.family)),
            )
        )
    return found


async def run_fuzz(
    settings: FuzzSettings,
    *,
    client: httpx.AsyncClient,
    families: Sequence[Family] | None = None,
    now: Callable[[], float] = time.monotonic,
    on_progress: Callable[[int, int], None] | None = None,
) -> FuzzReport:
    """Fuzz ``settings.url`` through ``client`` with bodies of ``families`` (default: the catalogue's,
    those of ``settings.channels``). Anything but 200 is a finding."""
    signing.check_settings(settings.secret, settings.algorithm)
    if settings.examples < 1:
        raise BadInput(f"examples={settings.examples!r}: give 1 or more")
    check_out_dir(settings.out_dir)
    chosen = list(families) if families is not None else catalogue_families(settings.channels)
    seed = settings.seed if settings.seed is not None else random.randrange(1, 1_000_000)
    started = now()
    deadline = started + settings.max_time if settings.max_time is not None else math.inf

    def keep_going() -> bool:
        return now() < deadline

    cases = make_cases(chosen, settings.examples, seed, keep_going)
    answers = await send_all(settings, client, cases, keep_going, on_progress)
    found = await findings_of(settings, client, cases, answers, seed, keep_going)
    return FuzzReport(
        url=redact_url(settings.url),
        seed=seed,
        families=tuple(f.name for f in chosen),
        examples=len(answers),
        findings=tuple(found),
        seconds=now() - started,
        stopped=len(answers) < settings.examples,
    )


def junit_xml(report: FuzzReport) -> bytes:
    """The report as JUnit XML: one test case per family fuzzed, failed when a finding names it."""
    import xml.etree.ElementTree as ET

    from connect_hooks.conform.junit import _text

    suite_name = "connect-hooks fuzz"
    failing = {name: finding for finding in reversed(report.findings) for name in finding.families}
    counts = {"tests": str(len(report.families)), "failures": str(len(failing)), "errors": "0", "skipped": "0"}
    counts["time"] = f"{report.seconds:.3f}"
    root = ET.Element("testsuites", {"name": suite_name, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": suite_name, **counts})
    properties = ET.SubElement(suite, "properties")
    for name, value in (("url", report.url), ("seed", str(report.seed)), ("examples", str(report.examples))):
        ET.SubElement(properties, "property", {"name": name, "value": _text(value)})
    for family in report.families:
        case = ET.SubElement(suite, "testcase", {"name": family, "classname": suite_name, "time": "0.000"})
        finding = failing.get(family)
        if finding is not None:
            failure = ET.SubElement(case, "failure", {"message": _text(finding.answer), "type": "fuzz"})
            failure.text = _text(f"{finding.line()}\nreproduce: {finding.reproduce}")
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
