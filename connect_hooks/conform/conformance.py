"""Conformance: does a receiver hold up against Webex Connect? Named checks as data, one runner.

The library API is in docs/conform.md ("From Python"), the design in docs/design.md ("Conformance").
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import math
import random
import shlex
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from connect_hooks import signing
from connect_hooks.catalogue import samples as catalogue
from connect_hooks.client.attempt import attempt_once
from connect_hooks.conform.diagnosis import SECRET_ADVICE, Diagnoser, SignatureDiagnosis
from connect_hooks.errors import BadInput
from connect_hooks.policy import DEFAULT_TIMEOUT, NO_RETRY_STATUSES, Fault, Policy
from connect_hooks.redaction import redact_url
from connect_hooks.sender.clock import Monotonic
from connect_hooks.sender.delivery import Notification, build_notification
from connect_hooks.urls import is_loopback, parse_url

if TYPE_CHECKING:
    import httpx

    from connect_hooks.client.credentials import AuthSettings
    from connect_hooks.sender.endpoint import CheckReport

#: The secret the ``rejects-wrong-secret`` probe signs with (public on purpose: it must be wrong).
WRONG_SECRET = "connect-hooks-conform-wrong-secret"
#: A well-prefixed signature whose digest is not hex (``rejects-bad-signature-format``).
GARBAGE_SIGNATURE = "sha256=this-is-not-a-hex-digest!"
#: The sample most probes are made from, when the catalogue has it.
PROBE_SAMPLE = "receipt/sms/delivered"
LARGE_SAMPLE = "inbound/email/inbound"
LARGE_BODY_BYTES = 256 * 1024
CONCURRENT = 25
UNKNOWN_FIELD = ("deliveryInfoNotification.deliveryInfo.newField", "a key Webex Connect may add tomorrow")
#: How many answers an evidence text shows in full.
EVIDENCE_ANSWERS = 3
BODY_EXCERPT = 240
#: Checks in flight at once at most (``concurrent``'s burst runs alone, after the others).
POOL = 4
#: Answers waited for one at a time before checks overlap (they also set the pace: see ``Run.overlap``).
OPENING = 3
#: Signed notifications unanswered within the deadline, in a row, after which no more are sent.
SILENT_AFTER = 3
#: A check that would have sent something after ``--max-time``.
NOT_RUN = "not run: --max-time reached"
#: How many check IDs a message names before it counts the rest.
NAMED_IDS = 3


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


@dataclass(frozen=True)
class ConformSettings:
    """What ``conform`` (or the pytest plugin) runs, against what, and how requests are signed."""

    url: str
    secret: str | None = field(default=None, repr=False)
    algorithm: str = "sha256"
    signature_style: str = "prefixed"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    timeout: float = DEFAULT_TIMEOUT
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    seed: int | None = None
    in_process: bool = False
    ca_bundle: str | None = None
    insecure: bool = False
    auth: AuthSettings | None = field(default=None, repr=False)  # the client carries it; rejects-*-auth
    client_cert: str | None = None  # the client certificate's file, for the reproduce lines
    max_time: float | None = None  # seconds for the whole run; checks not started by then are not run


@dataclass(frozen=True)
class Probe:
    """One POST a check sends, and the command line that sends the same thing."""

    label: str
    notification: Notification
    reproduce: str
    auth: str | None = None  # None: the client's authorization; "none": without any; "wrong": wrong credentials


@dataclass(frozen=True)
class Answer:
    """What one probe got: a status, or a fault with its one-line description."""

    check: str
    probe: Probe
    status: int | None
    fault: Fault | None
    error: str | None
    elapsed_ms: float

    def describe(self) -> str:
        if self.status is not None:
            return f"{self.status} in {self.elapsed_ms:.0f} ms"
        return f"no answer ({self.error})"


@dataclass(frozen=True)
class CheckVerdict:
    """A judge's decision: the status, one line of why, and the answers that show it."""

    status: Status
    message: str
    evidence: tuple[Answer, ...] = ()
    note: str = ""  # evidence that is not an answer (the url-* rules)
    reproduce: str | None = None  # when not the first evidence answer's
    diagnosis: str | None = None  # why signed notifications were refused (conform/diagnosis.py), when known


Build = Callable[["Run"], Sequence[Probe]]
Judge = Callable[["Run", Sequence[Answer]], CheckVerdict]


@dataclass(frozen=True)
class Check:
    """One named check: what is sent, what must come back, and why it matters."""

    id: str
    why: str
    judge: Judge
    probes: Build | None = None  # None: judged from what other checks saw (url-*, latency)
    together: bool = False  # send every probe at once instead of one after another
    needs_secret: bool = False  # skipped without a hub secret (the receiver need not verify then)
    delivers: bool = False  # sends notifications that must be delivered: a refusal of one is diagnosed


@dataclass(frozen=True)
class CheckResult:
    id: str
    status: Status
    message: str
    why: str
    evidence: str
    reproduce: str | None
    duration_ms: float
    #: Why the receiver refused this check's signed notifications, in one line that says what to
    #: change (the same line on every check it explains; see ``ConformReport.diagnosis``).
    diagnosis: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": str(self.status),
            "message": self.message,
            "why": self.why,
            "evidence": self.evidence,
            "reproduce": self.reproduce,
            "duration_ms": round(self.duration_ms, 1),
            "diagnosis": self.diagnosis,
        }


@dataclass(frozen=True)
class ConformReport:
    url: str
    checks: tuple[CheckResult, ...]
    seed: int
    #: Why signed notifications were refused (``.line``, ``.cause``, the ``.probes`` sent), or None:
    #: nothing was refused, or no cause could be told (a 400 refused every variant).
    diagnosis: SignatureDiagnosis | None = None
    #: False without a hub secret: nothing was signed, so no check judged the receiver's signature check.
    signatures_checked: bool = True

    def _ids(self, status: Status) -> tuple[str, ...]:
        return tuple(c.id for c in self.checks if c.status is status)

    @property
    def passed(self) -> tuple[str, ...]:
        return self._ids(Status.PASS)

    @property
    def failed(self) -> tuple[str, ...]:
        return self._ids(Status.FAIL)

    @property
    def warned(self) -> tuple[str, ...]:
        return self._ids(Status.WARN)

    @property
    def skipped(self) -> tuple[str, ...]:
        return self._ids(Status.SKIP)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        counts = [(len(self.passed), "passed"), (len(self.failed), "failed")]
        counts += [(len(self.warned), "warned"), (len(self.skipped), "skipped")]
        return ", ".join(f"{n} {word}" for n, word in counts if n or word in ("passed", "failed"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "passed": list(self.passed),
            "failed": list(self.failed),
            "warned": list(self.warned),
            "skipped": list(self.skipped),
            "signatures_checked": self.signatures_checked,
            "diagnosis": None if self.diagnosis is None else self._diagnosis_dict(self.diagnosis),
            "checks": [c.as_dict() for c in self.checks],
        }

    def _diagnosis_dict(self, diagnosis: SignatureDiagnosis) -> dict[str, Any]:
        return {**diagnosis.as_dict(), "explains": [c.id for c in self.checks if c.diagnosis is not None]}

    def __str__(self) -> str:
        """The verdict folded for people: checks that failed the same way as one group, one example each."""
        from connect_hooks.conform.grouping import text

        return text(self, signatures_checked=self.signatures_checked)


# -- the run: what every check's probes and judges share --------------------------------------


class Run:
    """One conformance run: settings, the seed, the answers so far, the URL probe's report."""

    def __init__(self, settings: ConformSettings, seed: int) -> None:
        self.settings = settings
        self.seed = seed
        self.answers: list[Answer] = []
        self.endpoint: CheckReport | None = None
        self.endpoint_ms = 0.0
        self.unreachable: str | None = None  # why nothing can be sent, when HEAD could not connect
        self._wrong_auth: httpx.Auth | None = None
        self.diagnoser = Diagnoser()  # why signed notifications were refused, once (conform/diagnosis.py)
        self.burst: set[str] = set()  # checks that sent all at once: judged by themselves, not by latency
        self.paced = 0  # answers outside a burst so far
        self.slowest_ms = 0.0  # the slowest of them
        self.unanswered = 0  # signed notifications in a row that got no answer within the deadline
        self.answered = False  # whether any signed notification got an answer
        self.silent: str | None = None  # why no more signed notifications are sent

    def record(self, answer: Answer, *, delivers: bool) -> None:
        """Note an answer outside a burst: the pace of the run, and a receiver that stopped answering."""
        self.answers.append(answer)
        if answer.check in self.burst:
            return
        self.paced += 1
        self.slowest_ms = max(self.slowest_ms, answer.elapsed_ms)
        if not delivers:
            return
        if answer.fault is not Fault.TIMEOUT:
            self.unanswered, self.answered = 0, True
            return
        self.unanswered += 1
        if self.unanswered >= SILENT_AFTER and self.silent is None:
            which = (
                f"{SILENT_AFTER} signed notifications in a row"
                if self.answered
                else f"the first {SILENT_AFTER} signed notifications"
            )
            self.silent = f"not sent: the receiver did not answer {which} within {self.settings.timeout:g} s"

    def overlap(self) -> int:
        """How many checks may be in flight: one until ``OPENING`` answers are in, then as many as keep
        ``overlap x slowest answer`` within half the deadline (at most ``POOL``). A receiver that serves one
        request at a time then answers each within half the deadline even behind the others conform sent:
        conform's own overlap can neither time an attempt out nor raise latency's p95 over its line."""
        if self.paced < OPENING:
            return 1
        if self.slowest_ms <= 0:
            return POOL
        return max(1, min(POOL, int(self.settings.timeout * 1000 / (2 * self.slowest_ms))))

    def probe_auth(self, probe: Probe) -> httpx.Auth | None:
        """The authorization a probe is sent with instead of the client's (None: the client's)."""
        import httpx

        if probe.auth is None or self.settings.auth is None:
            return None
        if probe.auth == "none":
            return httpx.Auth()  # the base class adds nothing
        if self._wrong_auth is None:
            from connect_hooks.client.auth import build, wrong_credentials

            self._wrong_auth = build(wrong_credentials(self.settings.auth))
        return self._wrong_auth

    def notify(
        self,
        target: str,
        body: bytes,
        *,
        secret: str | bool | None = True,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> Notification:
        """A notification as ``send`` makes it; ``secret=True`` signs with the hub secret."""
        key = self.settings.secret if secret is True else (secret or None)
        s = self.settings
        return build_notification(
            target, body, secret=key, algorithm=s.algorithm, style=s.signature_style, headers=s.headers + extra
        )

    def render(self, name: str, *, offset: int = 0, sets: Sequence[str] = ()) -> bytes:
        """Sample ``name`` as ``send --seed SEED+offset`` renders it."""
        return catalogue.render(name, seed=self.seed + offset, sets=sets)

    def command(
        self,
        *targets: str,
        seed: str | None = None,
        extra: Sequence[str] = (),
        signature_options: bool = True,
        unsigned: bool = False,
        auth: bool = True,
    ) -> str:
        """The ``connect-hooks send`` line that sends the same bytes once, the secret from the environment.

        ``seed`` replaces the run's seed (a shell expression is kept unquoted); ``unsigned`` clears
        ``CONNECT_HOOKS_SECRET`` for the line; ``signature_options`` adds --algorithm and
        --signature-style when they are not the defaults.
        """
        s = self.settings
        parts = ["connect-hooks", "send", *targets, redact_url(s.url), "--retries", "0"]
        if targets != ("-",) and seed is None:
            parts += ["--seed", str(self.seed)]
        if s.timeout != DEFAULT_TIMEOUT:
            parts += ["--timeout", f"{s.timeout:g}"]
        if signature_options and not unsigned and s.secret is not None:
            parts += self.signature_args()
        if s.ca_bundle is not None:
            parts += ["--ca-bundle", s.ca_bundle]
        if s.insecure:
            parts.append("--insecure")
        for name, _ in s.headers:
            parts += ["-H", f"{name}: <value given to conform>"]
        if s.auth is not None and auth:
            parts += s.auth.command_args()
        if s.client_cert is not None:
            parts += ["--client-cert", s.client_cert]
        parts += extra
        line = shlex.join(parts)
        if seed is not None:
            line += f" --seed {seed}"
        if unsigned and s.secret is not None:
            line = "env -u CONNECT_HOOKS_SECRET " + line
        return line

    def signature_args(self) -> list[str]:
        s = self.settings
        args: list[str] = []
        if s.algorithm != "sha256":
            args += ["--algorithm", s.algorithm]
        if s.signature_style != "prefixed":
            args += ["--signature-style", s.signature_style]
        return args


def probe_sample(preferred: str = PROBE_SAMPLE, kind: str = "receipt") -> str:
    """``preferred`` when the catalogue has it, else its first sample of ``kind``, else its first."""
    names = catalogue.names()
    if preferred in names:
        return preferred
    return next((n for n in names if n.startswith(kind + "/")), names[0])


# -- rules shared by judges -------------------------------------------------------------------


def not_delivered(answer: Answer) -> str:
    """What Webex Connect does with an answer that is not 200, in one line."""
    retries = Policy().retries
    if answer.status is None:
        return f"no answer ({answer.error}): Webex Connect retries it {retries} times, then drops it"
    status = answer.status
    if status in NO_RETRY_STATUSES and 200 <= status < 300:
        return f"answered {status}: that stops Webex Connect's retries, but only 200 is delivered: the notification is lost"
    if status in NO_RETRY_STATUSES:
        return f"answered {status}, on the no-retry list: Webex Connect gives up at once and the notification is lost"
    if 200 <= status < 300:
        return (
            f"answered {status}, not 200: Webex Connect counts only 200 as delivered, "
            f"so it retries {retries} times and then drops the notification"
        )
    return f"answered {status}: Webex Connect retries {retries} times, then drops the notification"


def must_deliver(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """Every probe must get exactly 200 within the deadline."""
    bad = tuple(a for a in answers if a.status != 200)
    if not bad:
        if len(answers) == 1:
            return CheckVerdict(Status.PASS, f"200 in {answers[0].elapsed_ms:.0f} ms")
        return CheckVerdict(Status.PASS, f"all {len(answers)} got 200")
    first = bad[0]
    where = "" if len(answers) == 1 else f"{len(bad)} of {len(answers)} not delivered; {first.probe.label}: "
    return CheckVerdict(Status.FAIL, where + not_delivered(first), bad, diagnosis=explained(run, bad))


def explained(run: Run, answers: Sequence[Answer]) -> str | None:
    """The run's diagnosis line, when it explains how these answers were refused."""
    diagnosis = run.diagnoser.result
    return diagnosis.line if diagnosis is not None and diagnosis.explains(answers) else None


def must_refuse(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """No probe may get 200: the receiver must refuse what Webex Connect did not sign."""
    accepted = tuple(a for a in answers if a.status == 200)
    if accepted:
        return CheckVerdict(
            Status.FAIL,
            f"answered 200 to a notification {accepted[0].probe.label}: anyone who finds the URL can forge one",
            accepted,
        )
    return CheckVerdict(Status.PASS, f"refused: {answers[0].describe()}")


def must_refuse_without_5xx(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """Like ``must_refuse``, and a malformed header should be refused, not crash the receiver."""
    verdict = must_refuse(run, answers)
    crashed = tuple(a for a in answers if a.status is not None and a.status >= 500)
    if verdict.status is Status.PASS and crashed:
        return CheckVerdict(
            Status.WARN,
            f"refused with {crashed[0].status}: a malformed signature is bad input, answer 401 or 403, not a server error",
            crashed,
        )
    return verdict


# -- url-*: the rules of ``check`` ------------------------------------------------------------


def _no_network_reason(run: Run) -> str | None:
    if run.settings.in_process:
        return "in-process app: no network, so no scheme or certificate to judge"
    return None


def url_https(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """The URL is https: Webex Connect calls nothing else."""
    reason = _no_network_reason(run)
    if reason:
        return CheckVerdict(Status.SKIP, reason)
    target = parse_url(run.settings.url)
    if target.scheme == "https":
        return CheckVerdict(Status.PASS, "the URL is https")
    if is_loopback(target.host):
        return CheckVerdict(Status.SKIP, "plain http on loopback (a local or CI run); Webex Connect itself needs https")
    return CheckVerdict(Status.FAIL, "plain http: Webex Connect only calls https:// URLs")


def _rule(run: Run, name: str) -> tuple[str, str]:
    assert run.endpoint is not None
    rule = next(r for r in run.endpoint.rules if r.name == name)
    return str(rule.verdict), rule.reason


def url_tls(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """The certificate verifies, as Webex Connect's client requires."""
    reason = _no_network_reason(run)
    if reason:
        return CheckVerdict(Status.SKIP, reason)
    verdict, why = _rule(run, "tls")
    return CheckVerdict(
        Status(verdict), why, note=f"HEAD {redact_url(run.settings.url)}: {why}", reproduce=check_command(run)
    )


def url_head_200(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """HEAD answers exactly 200: the test call Webex Connect makes when the URL is saved."""
    verdict, why = _rule(run, "head-200")
    return CheckVerdict(
        Status(verdict), why, note=f"HEAD {redact_url(run.settings.url)}: {why}", reproduce=check_command(run)
    )


def check_command(run: Run) -> str:
    s = run.settings
    parts = ["connect-hooks", "check", redact_url(s.url)]
    if s.timeout != DEFAULT_TIMEOUT:
        parts += ["--timeout", f"{s.timeout:g}"]
    if s.ca_bundle is not None:
        parts += ["--ca-bundle", s.ca_bundle]
    if s.insecure:
        parts.append("--insecure")
    if s.auth is not None:
        parts += s.auth.command_args()
    if s.client_cert is not None:
        parts += ["--client-cert", s.client_cert]
    return shlex.join(parts)


# -- probes -----------------------------------------------------------------------------------


def sample_probe(name: str, run: Run) -> list[Probe]:
    body = run.render(name)
    return [Probe(name, run.notify(name, body), run.command(name))]


def unsigned_probe(run: Run) -> list[Probe]:
    name = probe_sample()
    body = run.render(name)
    return [Probe("without x-hub-signature", run.notify(name, body, secret=None), run.command(name, unsigned=True))]


def wrong_secret_probe(run: Run) -> list[Probe]:
    name = probe_sample()
    body = run.render(name)
    wrong = WRONG_SECRET if run.settings.secret != WRONG_SECRET else WRONG_SECRET + "-2"
    line = run.command(name, extra=["--secret", wrong])  # on the command line, --secret wins
    return [Probe("signed with another secret", run.notify(name, body, secret=wrong), line)]


#: For rejects-wrong-auth's reproduce line: where each type's secret comes from.
WRONG_AUTH_VARIABLE = {
    "basic": "CONNECT_HOOKS_AUTH_PASSWORD",
    "digest": "CONNECT_HOOKS_AUTH_PASSWORD",
    "api-key": "CONNECT_HOOKS_API_KEY",
    "aws-sigv4": "AWS_SECRET_ACCESS_KEY",
}


def missing_auth_probe(run: Run) -> list[Probe]:
    name = probe_sample()
    body = run.render(name)
    return [Probe("without authorization", run.notify(name, body), run.command(name, auth=False), auth="none")]


def wrong_auth_probe(run: Run) -> list[Probe]:
    assert run.settings.auth is not None
    kind = run.settings.auth.type
    name = probe_sample()
    body = run.render(name)
    if kind == "oauth2":
        line = run.command(name, auth=False, extra=["-H", "Authorization: Bearer wrong-token"])
    else:
        line = f"{WRONG_AUTH_VARIABLE[kind]}=wrong-secret " + run.command(name)
    return [Probe(f"with wrong {kind} credentials", run.notify(name, body), line, auth="wrong")]


def _one_byte_change(run: Run, name: str) -> str:
    """A ``--set`` that changes one ASCII character of a generated string field of sample ``name``."""
    template = catalogue.get(name)
    document = catalogue.render_document(template, seed=run.seed)
    for path, _ in template.generated:
        value: Any = document
        for key in path.split("."):
            value = value[int(key)] if isinstance(value, list) else value[key]
        if isinstance(value, str) and value and value[-1].isascii() and value[-1].isalnum():
            swapped = "1" if value[-1] == "0" else "0"
            return f"{path}={value[:-1]}{swapped}"
    return "conformTampered=1"  # no generated string field: add one (more than a byte, still not signed)


def tampered_probe(run: Run) -> list[Probe]:
    name = probe_sample()
    signed = run.render(name)
    change = _one_byte_change(run, name)
    sent = run.render(name, sets=[change])
    assert run.settings.secret is not None
    signature = signing.sign(signed, run.settings.secret, run.settings.algorithm, run.settings.signature_style)
    notification = run.notify(name, sent, secret=None, extra=((signing.HEADER, signature),))
    sign_line = shlex.join(["connect-hooks", "sign", *run.signature_args()])
    show_line = shlex.join(["connect-hooks", "samples", "show", name, "--seed", str(run.seed), "--raw"])
    line = run.command(name, extra=["--set", change], signature_options=False)
    line += f' -H "x-hub-signature: $({show_line} | {sign_line})"'  # -H wins over send's own signature
    return [Probe(f"whose body differs by one byte from the one signed ({change.split('=')[0]})", notification, line)]


def bad_format_probe(run: Run) -> list[Probe]:
    name = probe_sample()
    body = run.render(name)
    header = (signing.HEADER, GARBAGE_SIGNATURE)
    line = run.command(name, extra=["-H", f"{signing.HEADER}: {GARBAGE_SIGNATURE}"], signature_options=False)
    return [
        Probe(f"with {signing.HEADER}: {GARBAGE_SIGNATURE}", run.notify(name, body, secret=None, extra=(header,)), line)
    ]


#: Bodies a re-serializer would change, each a Webex Connect shape written byte for byte.
#: ``@ID@`` becomes a fresh UUID per body, so no two bodies share an id.
RAW_BODIES: tuple[tuple[str, bytes], ...] = (
    (
        "escaped slashes",
        b'{"deliveryInfoNotification":{"deliveryInfo":{"deliveryChannel":"email","Description":"Permanent_General",'
        b'"destinationType":"email","timeStamp":"2026-01-15T09:30:00.000+00:00","code":"7520","deliveryStatus":"Bounce",'
        b'"destination":"jane.doe@example.com","additionalInfo":"5.1.1|failed|smtp; 550 5.1.1 https:\\/\\/support.example.com\\/mail\\/?p=NoSuchUser"},'
        b'"correlationid":"","callbackData":"","transid":"@ID@","subtid":""}}',
    ),
    (
        "\\u00e9 escapes beside raw UTF-8",
        b'{"userId":"","Channel":"SMS","da":"56263","message_source":"SMS","oa":"447700900123",'
        b'"message":"Caf\\u00e9 or caf\xc3\xa9? \\u00e9t\\u00e9 \xe2\x98\x80 \\ud83d\\ude00","messageCount":"1",'
        b'"tid":"@ID@","datetime":"2026-01-15T09:30:00.000Z","ts":"2026-01-15T09:30:00.000Z","x_networkid":"USTMO"}',
    ),
    (
        "numbers 1.0 and 1e2",
        b'{"deliveryInfoNotification":{"deliveryInfo":{"timeStamp":"2026-01-15T09:30:00.000+00:00","Description":"Delivered",'
        b'"code":"7500","deliveryChannel":"SMS","additionalInfo":"","destination":"447700900123","destinationType":"msisdn",'
        b'"deliveryStatus":"Delivered","price":1.0,"parts":1e2,"rate":-2.50E-3},"subtid":"","transid":"@ID@",'
        b'"callbackData":"","correlationid":""}}',
    ),
    (
        "unusual key order",
        b'{"deliveryInfoNotification":{"correlationid":"","callbackData":"","transid":"@ID@","subtid":"",'
        b'"deliveryInfo":{"deliveryStatus":"Delivered","destinationType":"msisdn","destination":"447700900123",'
        b'"additionalInfo":"","deliveryChannel":"SMS","code":"7500","Description":"Delivered",'
        b'"timeStamp":"2026-01-15T09:30:00.000+00:00"}}}',
    ),
    (
        "spaces after : and ,",
        b'{"deliveryInfoNotification": {"deliveryInfo": {"timeStamp": "2026-01-15T09:30:00.000+00:00", '
        b'"Description": "Delivered", "code": "7500", "deliveryChannel": "SMS", "additionalInfo": "", '
        b'"destination": "447700900123", "destinationType": "msisdn", "deliveryStatus": "Delivered"}, '
        b'"subtid": "", "transid": "@ID@", "callbackData": "", "correlationid": ""}}',
    ),
)


def raw_bytes_probes(run: Run) -> list[Probe]:
    """Each body as written, then the same document re-serialized compactly (the control)."""
    probes: list[Probe] = []
    for label, template in RAW_BODIES:
        body = template.replace(b"@ID@", str(uuid.uuid4()).encode())
        control = catalogue.compact(json.loads(template.replace(b"@ID@", str(uuid.uuid4()).encode())))
        for what, data in ((label, body), (f"{label}, re-serialized (control)", control)):
            line = f"printf '%s' {shlex.quote(data.decode('utf-8'))} | {run.command('-')}"
            probes.append(Probe(what, run.notify("-", data), line))
    return probes


def raw_bytes(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """Bodies are signed over their exact bytes: each must get 200 as written, not only when compact.

    When written and compact forms are both refused, the diagnosis tells: a receiver that accepts
    only signatures over a changed body (re-serialized, white space removed) fails.
    """
    failed: list[Answer] = []
    unjudged: list[Answer] = []
    for written, control in zip(answers[::2], answers[1::2], strict=True):
        if written.status == 200:
            continue
        (failed if control.status == 200 else unjudged).append(written)
    line = explained(run, [*failed, *unjudged])
    if failed:
        first = failed[0]
        return CheckVerdict(
            Status.FAIL,
            f"{len(failed)} of {len(RAW_BODIES)} bodies refused as written; "
            f"the one with {first.probe.label} got {first.describe()}, its compact form got 200: "
            "verify the raw bytes received, never a re-serialized body",
            tuple(failed),
            diagnosis=line,
        )
    if unjudged:
        first = unjudged[0]
        diagnosis = run.diagnoser.result
        if line is not None and diagnosis is not None and diagnosis.body_changed:
            return CheckVerdict(
                Status.FAIL,
                f"{len(unjudged)} of {len(RAW_BODIES)} bodies refused as written and in compact form, and a "
                f"diagnosis probe signed over a changed body got 200: {line}",
                tuple(unjudged),
                diagnosis=line,
            )
        return CheckVerdict(
            Status.WARN,
            f"could not judge {len(unjudged)} of {len(RAW_BODIES)} bodies: the one with {first.probe.label} "
            f"got {first.describe()} and so did its compact form",
            tuple(unjudged),
            diagnosis=line,
        )
    return CheckVerdict(Status.PASS, f"all {len(RAW_BODIES)} bodies got 200 as written")


def duplicate_probes(run: Run) -> list[Probe]:
    name = probe_sample()
    notification = run.notify(name, run.render(name))
    line = run.command(name, name, extra=["-H", f"x-wx-gtrid: {notification.gtrid}"])
    return [Probe("first delivery", notification, line), Probe("second delivery", notification, line)]


#: The story whose receipts ``out-of-order-receipts`` delivers last first (submitted, delivered, read).
ORDER_STORY = "story/whatsapp/read"


def out_of_order_probes(run: Run) -> list[Probe]:
    """One message's receipts, last first, as ``send STORY --out-of-order --seed SEED`` sends them."""
    from connect_hooks.catalogue import stories

    steps = stories.render(ORDER_STORY, seed=run.seed * 1_000_003)  # send's seed for a story's first copy
    line = run.command(ORDER_STORY, extra=["--out-of-order", "--fast"])
    return [
        Probe(f"{step.sample} ({number} of {len(steps)})", run.notify(step.sample, step.body), line)
        for number, step in reversed(list(enumerate(steps, 1)))
    ]


def out_of_order_receipts(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """Each receipt of one message must get 200, whatever order they come in."""
    bad = tuple(a for a in answers if a.status != 200)
    if not bad:
        return CheckVerdict(Status.PASS, f"all {len(answers)} receipts of one message got 200, last one first")
    if len(bad) == len(answers):  # refused whatever the order: not an ordering fault
        return must_deliver(run, answers)
    first = bad[0]
    return CheckVerdict(
        Status.FAIL,
        f"{first.probe.label} after the later receipts: {not_delivered(first)}; store each receipt by the "
        "message's transid and keep the status with the latest timeStamp, whatever order they come in",
        bad,
        diagnosis=explained(run, bad),
    )


def duplicate_delivery(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """A notification delivered again (same gtrid, bytes and signature) must get 200 again."""
    first, second = answers
    if first.status != 200:
        return CheckVerdict(
            Status.FAIL,
            "the first delivery was not delivered: " + not_delivered(first),
            (first,),
            diagnosis=explained(run, [first]),
        )
    if second.status != 200:
        return CheckVerdict(
            Status.FAIL,
            f"the same notification again (gtrid {second.probe.notification.gtrid}) "
            + not_delivered(second)
            + "; Webex Connect retries after a timeout even when you stored it: answer 200 again",
            (second,),
        )
    return CheckVerdict(Status.PASS, "both deliveries of the same notification got 200")


def unknown_fields_probe(run: Run) -> list[Probe]:
    name = probe_sample()
    path, value = UNKNOWN_FIELD
    sets = [f"{path}={value}"] if name.startswith("receipt/") else [f"newField={value}"]
    body = run.render(name, sets=sets)
    return [
        Probe(
            f"with an extra key {sets[0].split('=')[0]}",
            run.notify(name, body),
            run.command(name, extra=["--set", sets[0]]),
        )
    ]


def large_body_probe(run: Run) -> list[Probe]:
    name = probe_sample(LARGE_SAMPLE, "inbound")
    small = run.render(name, sets=["textMessage="])
    size = max(0, LARGE_BODY_BYTES - len(small))
    body = run.render(name, sets=[f"textMessage={'x' * size}"])
    # A 256 KiB argument is over the kernel's limit for one argument: fill the text in a pipe.
    show = ["connect-hooks", "samples", "show", name, "--seed", str(run.seed), "--raw", "--set", "textMessage=@FILL@"]
    fill = f'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().replace(b"@FILL@", b"x" * {size}))'
    line = f"{shlex.join(show)} | python3 -c {shlex.quote(fill)} | {run.command('-')}"
    return [Probe(f"of {len(body)} bytes", run.notify(name, body), line)]


def concurrent_probes(run: Run) -> list[Probe]:
    name = probe_sample()
    probes = []
    for number in range(1, CONCURRENT + 1):
        body = run.render(name, offset=number)
        probes.append(Probe(f"{number} of {CONCURRENT}", run.notify(name, body), ""))
    each = run.command(name, seed='"$((SEED + i))"')
    line = f"SEED={run.seed}; for i in $(seq 1 {CONCURRENT}); do {each} & done; wait"
    return [Probe(p.label, p.notification, line) for p in probes]


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of non-empty ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def named(ids: Sequence[str]) -> str:
    """A few IDs and how many more: a message stays one short line however many checks it covers."""
    shown = ", ".join(ids[:NAMED_IDS])
    return shown if len(ids) <= NAMED_IDS else f"{len(ids)} checks: {shown} and {len(ids) - NAMED_IDS} more"


def latency(run: Run, answers: Sequence[Answer]) -> CheckVerdict:
    """No notification may hit the deadline; p95 should stay under half of it (5 s of Webex Connect's 10)."""
    seen = [a for a in run.answers if a.check not in run.burst]  # a burst is judged by its own check
    if not seen:
        if run.answers:
            return CheckVerdict(Status.SKIP, "only the burst of concurrent was sent: concurrent judges its answers")
        return CheckVerdict(Status.SKIP, "no notification was sent: nothing to judge")
    timeout = run.settings.timeout
    times = [a.elapsed_ms for a in seen]
    stats = f"p50 {percentile(times, 0.5):.0f} ms, p95 {percentile(times, 0.95):.0f} ms, max {max(times):.0f} ms"
    stats += f" over {len(times)} answers"
    late = tuple(a for a in seen if a.fault is Fault.TIMEOUT)
    if late:
        return CheckVerdict(
            Status.FAIL,
            f"{len(late)} attempt(s) hit the {timeout:g} s deadline ({named(sorted({a.check for a in late}))}); {stats}: "
            "Webex Connect counts that as a failure and retries",
            late,
        )
    slowest = max(seen, key=lambda a: a.elapsed_ms)
    if percentile(times, 0.95) > timeout * 1000 / 2:
        return CheckVerdict(
            Status.WARN,
            f"{stats}: p95 is over half of the {timeout:g} s deadline; answer 200 first, work afterwards",
            (slowest,),
        )
    return CheckVerdict(Status.PASS, stats)


# -- the registry -----------------------------------------------------------------------------

WHY_DELIVERED = "Webex Connect counts only 200 as delivered: anything else is retried, then dropped, or lost at once"
URL_CHECKS: tuple[Check, ...] = (
    Check("url-https", "Webex Connect refuses to save a URL that is not https", url_https),
    Check("url-tls", "Webex Connect verifies the certificate on every call: a bad one fails every delivery", url_tls),
    Check("url-head-200", "Webex Connect saves the URL only if HEAD answers exactly 200", url_head_200),
)
REJECT_CHECKS: tuple[Check, ...] = (
    Check(
        "rejects-unsigned",
        "without the signature check anyone who finds the URL can post fake notifications",
        must_refuse,
        unsigned_probe,
        needs_secret=True,
    ),
    Check(
        "rejects-wrong-secret",
        "a signature made with another secret proves nothing: it must be refused",
        must_refuse,
        wrong_secret_probe,
        needs_secret=True,
    ),
    Check(
        "rejects-tampered-body",
        "the signature covers the body: a changed body under an old signature must be refused",
        must_refuse,
        tampered_probe,
        needs_secret=True,
    ),
    Check(
        "rejects-bad-signature-format",
        "a malformed x-hub-signature must be refused cleanly, not accepted and not crash the receiver",
        must_refuse_without_5xx,
        bad_format_probe,
        needs_secret=True,
    ),
)
BEHAVIOUR_CHECKS: tuple[Check, ...] = (
    Check(
        "raw-bytes",
        "Webex Connect signs the exact bytes it sends: a receiver that verifies re-serialized JSON rejects real notifications",
        raw_bytes,
        raw_bytes_probes,
        delivers=True,
    ),
    Check(
        "duplicate-delivery",
        "Webex Connect retries after a timeout even when the receiver already stored the notification",
        duplicate_delivery,
        duplicate_probes,
        delivers=True,
    ),
    Check(
        "out-of-order-receipts",
        "each receipt is its own notification with its own retries: a message's receipts arrive in any order",
        out_of_order_receipts,
        out_of_order_probes,
        delivers=True,
    ),
    Check(
        "unknown-fields",
        "Webex Connect adds fields over time: a strict schema turns each new field into lost notifications",
        must_deliver,
        unknown_fields_probe,
        delivers=True,
    ),
    Check(
        "large-body",
        "incoming emails carry long texts and HTML: about 256 KiB must be accepted",
        must_deliver,
        large_body_probe,
        delivers=True,
    ),
    Check(
        "concurrent",
        f"notifications arrive together in bursts: {CONCURRENT} at once must all be delivered",
        must_deliver,
        concurrent_probes,
        together=True,
        delivers=True,
    ),
)
LATENCY = Check(
    "latency",
    "Webex Connect gives each attempt 10 s; a slow receiver turns stored notifications into retries",
    latency,
)


def channels() -> tuple[str, ...]:
    """The channels ``--channel`` accepts: those of the sample catalogue."""
    return tuple(sorted({name.split("/")[1] for name in catalogue.names()}))


def accepts_checks(only_channels: Sequence[str] = ()) -> tuple[Check, ...]:
    """``accepts/<sample>`` for every sample of the catalogue (of the given channels, when any)."""
    return tuple(
        Check(f"accepts/{name}", WHY_DELIVERED, must_deliver, partial(sample_probe, name), delivers=True)
        for name in catalogue.names()
        if not only_channels or name.split("/")[1] in only_channels
    )


AUTH_CHECK_IDS = ("rejects-missing-auth", "rejects-wrong-auth")


def auth_checks(settings: ConformSettings) -> tuple[Check, ...]:
    """With an authorization (``--auth``): a notification without it, and one with wrong credentials."""
    if settings.auth is None:
        return ()
    return (
        Check(
            AUTH_CHECK_IDS[0],
            "Webex Connect sends the configured authorization on every call: without it, anyone can post",
            must_refuse,
            missing_auth_probe,
        ),
        Check(
            AUTH_CHECK_IDS[1],
            "credentials other than the configured ones prove nothing: they must be refused",
            must_refuse,
            wrong_auth_probe,
        ),
    )


def all_checks(settings: ConformSettings, *, only_channels: Sequence[str] = ()) -> tuple[Check, ...]:
    """Every check these settings can run, in run order (``latency`` last: it reads the others)."""
    return (
        *URL_CHECKS,
        *accepts_checks(only_channels),
        *REJECT_CHECKS,
        *auth_checks(settings),
        *BEHAVIOUR_CHECKS,
        LATENCY,
    )


def _matches(check_id: str, token: str) -> bool:
    """A full ID, or a family: ``accepts``, ``accepts/receipt/sms``, ``rejects``, ``url``."""
    if check_id == token or check_id.startswith(token + "/"):
        return True
    return "/" not in token and check_id.startswith(token + "-")


def select(settings: ConformSettings) -> tuple[Check, ...]:
    """The checks settings select; bad input for an unknown channel or check ID."""
    known_channels = channels()
    for channel in settings.channels:
        if channel not in known_channels:
            raise BadInput(f"--channel {channel!r} is not a channel of the catalogue: use {', '.join(known_channels)}")
    every = [c.id for c in all_checks(settings)]
    for option, tokens in (("--only", settings.only), ("--skip", settings.skip)):
        for token in tokens:
            if token in AUTH_CHECK_IDS and settings.auth is None:
                raise BadInput(f"{option} {token!r} runs only with --auth: give the receiver's authorization")
            if not any(_matches(check_id, token) for check_id in every):
                raise BadInput(
                    f"{option} {token!r} is not a check ID or family: use url, accepts, rejects, raw-bytes, "
                    "duplicate-delivery, unknown-fields, large-body, concurrent, latency, or a full ID"
                )
    chosen = [
        check
        for check in all_checks(settings, only_channels=settings.channels)
        if (not settings.only or any(_matches(check.id, t) for t in settings.only))
        and not any(_matches(check.id, t) for t in settings.skip)
    ]
    if not chosen:
        raise BadInput("--only, --skip and --channel leave no check to run: loosen them")
    return tuple(chosen)


def check_ids(settings: ConformSettings) -> tuple[str, ...]:
    """The IDs of the checks settings select, in run order."""
    return tuple(check.id for check in select(settings))


# -- without a secret; a refusal's diagnosis (the runner calls these) ------------------------------

#: Without a hub secret this check warns (the others needing one are skipped): nothing was signed.
SIGNATURES_NOT_CHECKED = "rejects-unsigned"


def secretless(check: Check) -> CheckVerdict:
    """The verdict of a check that needs a hub secret when none was given."""
    if check.id == SIGNATURES_NOT_CHECKED:
        return CheckVerdict(
            Status.WARN,
            "signatures not checked: no hub secret was given, so nothing was signed and a receiver that checks "
            f"no signature passes; {SECRET_ADVICE} with the receiver's hub secret",
        )
    return CheckVerdict(Status.SKIP, f"no hub secret given: {SECRET_ADVICE} so that signatures can be judged")


async def diagnose_refusals(run: Run, check: Check, answers: Sequence[Answer], client: httpx.AsyncClient) -> None:
    """When ``check`` saw a notification that must be delivered refused, find out why (once per run).

    The judges read the result from ``run.diagnoser.result``; a correct receiver causes no probe.
    """
    if check.delivers:
        await run.diagnoser.after(run, answers, client)


# -- the runner -------------------------------------------------------------------------------


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + f"… ({len(body)} bytes)"


def _request_text(run: Run, probe: Probe) -> list[str]:
    n = probe.notification
    hidden = {name.lower() for name, _ in run.settings.headers}
    lines = [f"POST {redact_url(run.settings.url)} ({probe.label})"]
    for name, value in n.headers:
        if name.lower() in ("content-type", "user-agent") and name.lower() not in hidden:
            continue  # the same on every request
        lines.append(f"  {name}: {'<value given to conform>' if name.lower() in hidden else value}")
    lines.append(f"  body: {_excerpt(n.body)}")
    return lines


def evidence_text(run: Run, verdict: CheckVerdict) -> str:
    lines = [verdict.note] if verdict.note else []
    for answer in verdict.evidence[:EVIDENCE_ANSWERS]:
        lines += _request_text(run, answer.probe)
        lines.append(f"  answer: {answer.describe()}")
    if len(verdict.evidence) > EVIDENCE_ANSWERS:
        lines.append(f"and {len(verdict.evidence) - EVIDENCE_ANSWERS} more like these")
    return "\n".join(lines)


async def _send(run: Run, check: Check, probe: Probe, client: httpx.AsyncClient, now: Monotonic) -> Answer:
    import httpx  # loaded already (delivery imports it)

    n = probe.notification
    headers = httpx.Headers(n.headers, encoding="latin-1")  # as delivery.attempt does: -H values may be latin-1
    request = client.build_request("POST", run.settings.url, content=n.body, headers=headers)
    started = now()
    exchange = await attempt_once(client, request, run.settings.timeout, auth=run.probe_auth(probe))
    elapsed = max(0.0, now() - started) * 1000
    answer = Answer(check.id, probe, exchange.status, exchange.fault, exchange.error, elapsed)
    run.record(answer, delivers=check.delivers)
    return answer


def _silent_verdict(run: Run, check: Check, answers: Sequence[Answer]) -> CheckVerdict:
    """After ``SILENT_AFTER`` signed notifications got no answer: what a check that sends no more gets."""
    assert run.silent is not None
    if check.delivers:
        return CheckVerdict(Status.FAIL, run.silent, tuple(a for a in answers if a.fault is Fault.TIMEOUT))
    return CheckVerdict(Status.SKIP, f"{run.silent}: silence cannot be told from a refusal")


async def _answers(
    run: Run, check: Check, client: httpx.AsyncClient, now: Monotonic
) -> tuple[list[Answer], CheckVerdict | None]:
    """Send a check's probes; a verdict already when the receiver went silent before they were all sent."""
    assert check.probes is not None
    answers: list[Answer] = []
    probes = check.probes(run)
    if check.together:
        if run.silent is not None:
            return answers, _silent_verdict(run, check, answers)
        run.burst.add(check.id)
        return list(await asyncio.gather(*(_send(run, check, p, client, now) for p in probes))), None
    for probe in probes:
        if run.silent is not None and (check.delivers or not answers):
            return answers, _silent_verdict(run, check, answers)
        answers.append(await _send(run, check, probe, client, now))
    return answers, None


async def run_check(run: Run, check: Check, client: httpx.AsyncClient, now: Monotonic) -> CheckResult:
    started = now()
    answers: list[Answer] = []
    verdict: CheckVerdict | None = None
    if check.needs_secret and run.settings.secret is None:
        verdict = secretless(check)
    elif check.probes is not None and run.unreachable is not None:
        verdict = CheckVerdict(Status.SKIP, f"not sent: {run.unreachable}")
    elif check.probes is not None:
        answers, verdict = await _answers(run, check, client, now)
        if verdict is None:
            await diagnose_refusals(run, check, answers, client)
    if verdict is None:
        verdict = check.judge(run, answers)
    duration = (now() - started) * 1000
    if check.id in ("url-tls", "url-head-200") and verdict.status is not Status.SKIP:
        duration += run.endpoint_ms
    reproduce = verdict.reproduce
    shown = verdict.evidence or tuple(answers)
    if reproduce is None and shown:
        reproduce = shown[0].probe.reproduce or None
    return CheckResult(
        id=check.id,
        status=verdict.status,
        message=verdict.message,
        why=check.why,
        evidence=evidence_text(run, verdict),
        reproduce=reproduce,
        duration_ms=duration,
        diagnosis=verdict.diagnosis,
    )


def not_run(check: Check) -> CheckResult:
    """A check ``--max-time`` left out (or stopped while it was sending)."""
    return CheckResult(check.id, Status.SKIP, NOT_RUN, check.why, "", None, 0.0)


class _Runner:
    """The checks of one run, overlapped: at most ``run.overlap()`` in flight; a check judged from the
    others (latency, url-*) or sending a burst (concurrent) runs alone. Results keep check order, and
    ``on_result`` gets each in that order as soon as it and every check before it have ended."""

    def __init__(
        self,
        run: Run,
        checks: Sequence[Check],
        client: httpx.AsyncClient,
        now: Monotonic,
        on_result: Callable[[CheckResult], None] | None,
    ) -> None:
        self.run, self.checks, self.client, self.now, self.on_result = run, checks, client, now, on_result
        self.results: list[CheckResult | None] = [None] * len(checks)
        self.running: dict[asyncio.Task[CheckResult], int] = {}
        self.emitted = 0
        max_time = run.settings.max_time
        self.deadline = None if max_time is None else now() + max_time

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - self.now())

    async def run_all(self) -> list[CheckResult]:
        try:
            for index, check in enumerate(self.checks):
                alone = check.together or check.probes is None
                await self.settle(drain=alone)
                if check.probes is not None and self.remaining() == 0.0:
                    self.finish(index, not_run(check))
                    continue
                if check.id in ("url-tls", "url-head-200") and self.run.endpoint is None:
                    self.finish(index, not_run(check))  # --max-time ended the HEAD probe
                    continue
                self.running[asyncio.ensure_future(run_check(self.run, check, self.client, self.now))] = index
                await self.settle(drain=alone)
            await self.settle(drain=True)
        finally:  # interrupted, or a check raised: nothing of this run goes on sending
            for task in self.running:
                task.cancel()
        return [result for result in self.results if result is not None]

    async def settle(self, *, drain: bool) -> None:
        """Wait until a check may start (``drain``: until none is in flight); at --max-time, stop them."""
        while self.running and (drain or len(self.running) >= self.run.overlap()):
            done, _ = await asyncio.wait(self.running, timeout=self.remaining(), return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self.finish(self.running.pop(task), task.result())
            if not done:
                await self.stop()

    async def stop(self) -> None:
        """Cancel the checks in flight: each ends as not run."""
        stopping = dict(self.running)
        self.running.clear()
        for task in stopping:
            task.cancel()
        await asyncio.gather(*stopping, return_exceptions=True)
        for index in sorted(stopping.values()):
            self.finish(index, not_run(self.checks[index]))

    def finish(self, index: int, result: CheckResult) -> None:
        self.results[index] = result
        while self.emitted < len(self.results) and (ready := self.results[self.emitted]) is not None:
            self.emitted += 1
            if self.on_result is not None:
                self.on_result(ready)


async def run_conformance(
    settings: ConformSettings,
    *,
    client: httpx.AsyncClient,
    now: Monotonic = time.monotonic,
    on_result: Callable[[CheckResult], None] | None = None,
    verifying_client: httpx.AsyncClient | None = None,
) -> ConformReport:
    """Run the checks ``settings`` select against ``settings.url`` through ``client``; results in check order.

    Checks overlap (see ``Run.overlap``); once the receiver leaves ``SILENT_AFTER`` signed notifications
    in a row unanswered, no more are sent. When ``client`` does not verify certificates (``--insecure``),
    pass a ``verifying_client``: ``url-tls`` is judged through it, as Webex Connect always verifies.
    """
    parse_url(settings.url)
    signing.check_settings(settings.secret, settings.algorithm)
    checks = select(settings)
    seed = settings.seed if settings.seed is not None else random.randrange(1, 1_000_000)
    run = Run(settings, seed)
    runner = _Runner(run, checks, client, now, on_result)
    if any(check.id in ("url-tls", "url-head-200") for check in checks):
        with contextlib.suppress(TimeoutError):  # --max-time during HEAD: url-tls and url-head-200 are not run
            await asyncio.wait_for(_probe_endpoint(run, client, now, verifying_client), runner.remaining())
    results = await runner.run_all()
    return ConformReport(
        url=redact_url(settings.url),
        checks=tuple(results),
        seed=seed,
        diagnosis=run.diagnoser.result,
        signatures_checked=settings.secret is not None,
    )


async def _probe_endpoint(
    run: Run, client: httpx.AsyncClient, now: Monotonic, verifying_client: httpx.AsyncClient | None
) -> None:
    from connect_hooks.sender.endpoint import (
        check_endpoint,  # by full name: see connect_hooks.testing.webex_connect.body_of
    )

    started = now()
    url, timeout = run.settings.url, run.settings.timeout
    if verifying_client is None:
        report = await check_endpoint(url, client=client, now=now, timeout=timeout)
    else:
        report = await check_endpoint(url, client=verifying_client, now=now, timeout=timeout, insecure_client=client)
    run.endpoint = report
    run.endpoint_ms = (now() - started) * 1000
    if report.fault in (Fault.CONNECTION_ERROR, Fault.TLS_ERROR):
        # Every notification would fail the same way: one failure (url-head-200) says it once.
        run.unreachable = "the URL is not reachable (see url-head-200)"


def run_sync(settings: ConformSettings, *, client_factory: Callable[[], httpx.AsyncClient]) -> ConformReport:
    """``run_conformance`` from synchronous code, with a client made (and closed) inside the loop."""

    async def main() -> ConformReport:
        async with client_factory() as client:
            return await run_conformance(settings, client=client)

    return asyncio.run(main())


__all__ = [
    "Check",
    "CheckResult",
    "ConformReport",
    "ConformSettings",
    "Status",
    "all_checks",
    "check_ids",
    "run_conformance",
    "run_sync",
    "select",
]
