"""Why does a receiver refuse signed notifications? A few probes signed over what it might compute.

When a signed notification that must be delivered is refused (400, 401 or 403), ``conform`` sends
the same body again a few times, each signed over one usual mistake (the body re-serialized, the
secret with a trailing newline, another algorithm, the bare or upper-case hex digest, ...: the
alternatives of ``connect_hooks.diagnose``, the ``verify`` command's cause finder) and names the one
the receiver accepts, in one line that says what to change. Once per run; never for a receiver
that refuses nothing.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connect_hooks import diagnose, signing
from connect_hooks.client.attempt import attempt_once
from connect_hooks.sender.delivery import Notification

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from connect_hooks.conform.conformance import Answer, Run

#: The answers a receiver gives to a signature it does not accept.
REFUSALS = frozenset({400, 401, 403})
#: Where to give ``conform`` the hub secret (never ``--secret``: the command line is seen by others).
SECRET_ADVICE = "set CONNECT_HOOKS_SECRET or use --secret-file"
VERIFY_RAW = "verify the raw request bytes, exactly as received"
#: What a receiver with this secret mistake does, and what to change.
SECRET_LINES = {
    "secret-newline": "your receiver's hub secret ends with a newline (read from a file as it is?): strip it",
    "secret-space": "your receiver's hub secret ends with a space: strip it",
    "secret-whitespace": (
        "the hub secret given to conform has leading or trailing white space that your receiver's has not: "
        "give conform the secret without it"
    ),
}
GITHUB_HEADER = "x-hub-signature-256"


@dataclass(frozen=True)
class Variant:
    """One alternative a receiver might compute, and the notification signed over it."""

    cause: str  # "reserialized-spaced", "secret-newline", "sha512", "bare", "upper-hex", ...
    label: str  # "diagnosis probe: signed over the body re-serialized with ..."
    line: str  # what to change, when this is the one the receiver accepts
    notification: Notification


@dataclass(frozen=True)
class ProbeOutcome:
    """What one diagnosis probe got."""

    cause: str
    label: str
    status: int | None
    error: str | None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def as_dict(self) -> dict[str, Any]:
        answer = f"no answer ({self.error})" if self.status is None else str(self.status)
        return {"cause": self.cause, "label": self.label, "answer": answer, "accepted": self.accepted}


@dataclass(frozen=True)
class SignatureDiagnosis:
    """Why signed notifications were refused: one line for people, the cause, the probes sent."""

    line: str
    cause: str | None  # the accepted variant's cause; None when none was accepted, or nothing was signed
    status: int  # the refusal it explains
    probes: tuple[ProbeOutcome, ...] = ()

    def __str__(self) -> str:
        return self.line

    @property
    def body_changed(self) -> bool:
        """The receiver verifies a changed body (re-serialized, white space removed), not the bytes sent."""
        return self.cause is not None and self.cause in {change.cause for change in diagnose.BODY_CHANGES}

    def explains(self, answers: Sequence[Answer]) -> bool:
        """Whether these answers were refused the way this diagnosis explains."""
        return any(a.status == self.status and a.probe.auth is None for a in answers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "cause": self.cause,
            "status": self.status,
            "probes": [p.as_dict() for p in self.probes],
        }


class Diagnoser:
    """A run's diagnosis: made once, by the first check whose signed notification was refused."""

    def __init__(self) -> None:
        self.result: SignatureDiagnosis | None = None
        self._task: asyncio.Task[SignatureDiagnosis | None] | None = None

    async def after(self, run: Run, answers: Sequence[Answer], client: httpx.AsyncClient) -> None:
        """Diagnose the first refusal among ``answers`` (once per run); wait for it when one is under way."""
        if self._task is None:
            refused = next((a for a in answers if a.status in REFUSALS and a.probe.auth is None), None)
            if refused is None:
                return
            self._task = asyncio.ensure_future(_diagnose(run, refused, client))
        elif not any(a.status in REFUSALS for a in answers):
            return
        self.result = await asyncio.shield(self._task)


def _hmac(body: bytes, secret: str, algorithm: str) -> str:
    return hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()


def variants(run: Run, body: bytes) -> list[Variant]:
    """The probes for ``body``: body changes, then secret changes, then other digest forms."""
    s = run.settings
    assert s.secret is not None
    secret, algorithm, style = s.secret, s.algorithm, s.signature_style
    prefix = f"{algorithm}=" if style == "prefixed" else ""

    def signed(cause: str, what: str, line: str, header: str, extra: tuple[tuple[str, str], ...] = ()) -> Variant:
        notification = run.notify("-", body, secret=None, extra=((signing.HEADER, header), *extra))
        return Variant(cause, f"diagnosis probe: {what}", line, notification)

    out = [
        signed(
            change.cause,
            f"signed over the body {change.description}",
            f"your receiver computes the HMAC over {change.how}: {VERIFY_RAW}",
            signing.sign(data, secret, algorithm, style),
        )
        for change, data in diagnose.changed_bodies(body, probes_only=True)
    ]
    for causes, description, key in diagnose.secret_variants(secret)[1:]:
        (cause,) = causes
        out.append(
            signed(cause, f"signed with {description}", SECRET_LINES[cause], signing.sign(body, key, algorithm, style))
        )
    return out + _digest_forms(body, secret, algorithm, style, prefix, signed)


def _digest_forms(body: bytes, secret: str, algorithm: str, style: str, prefix: str, signed: Any) -> list[Variant]:
    other = "sha512" if algorithm == "sha256" else "sha256"
    hexdigest = _hmac(body, secret, algorithm)
    if style == "prefixed":
        form = signed(
            "bare",
            "the bare hex digest, without 'algorithm='",
            f"your receiver compares the whole header with the bare hex digest: strip the '{prefix}' prefix "
            "Webex Connect sends before comparing",
            hexdigest,
        )
    else:
        form = signed(
            "prefixed",
            f"'{algorithm}=' before the hex digest",
            f"your receiver accepts only '{algorithm}=<hex>' and conform sends the bare digest (--signature-style "
            "bare): accept both forms, Webex Connect can send either",
            f"{algorithm}={hexdigest}",
        )
    sha1 = ("sha1=" if prefix else "") + _hmac(body, secret, "sha1")
    return [
        signed(
            other,
            f"signed with {other} instead of {algorithm}",
            f"your receiver expects {other} and conform signs with {algorithm}: read the algorithm from the header "
            f"('sha256=' or 'sha512='), or run conform with --algorithm {other} if the webhook is set to it",
            signing.sign(body, secret, other, style),
        ),
        form,
        signed(
            "upper-hex",
            "the hex digest in upper case",
            "your receiver compares with upper-case hex, and Webex Connect sends lower-case hex: "
            "compare case-insensitively",
            prefix + hexdigest.upper(),
        ),
        signed(
            "sha1",
            "signed with sha1",
            "your receiver expects sha1 (GitHub's x-hub-signature, or a legacy Webex Connect setting): Webex Connect "
            "signs new webhooks with sha256 or sha512: read the algorithm from the header",
            sha1,
        ),
        signed(
            "github-header",
            f"the signature also in {GITHUB_HEADER}",
            f"your receiver reads the signature from {GITHUB_HEADER} (GitHub's header): Webex Connect sends it "
            f"in {signing.HEADER}",
            signing.sign(body, secret, algorithm, style),
            ((GITHUB_HEADER, signing.sign(body, secret, "sha256", "prefixed")),),
        ),
    ]


async def _send(run: Run, variant: Variant, client: httpx.AsyncClient) -> ProbeOutcome:
    import httpx

    n = variant.notification
    headers = httpx.Headers(n.headers, encoding="latin-1")
    request = client.build_request("POST", run.settings.url, content=n.body, headers=headers)
    exchange = await attempt_once(client, request, run.settings.timeout)
    return ProbeOutcome(variant.cause, variant.label, exchange.status, exchange.error)


async def _diagnose(run: Run, refused: Answer, client: httpx.AsyncClient) -> SignatureDiagnosis | None:
    status = refused.status
    assert status is not None
    if run.settings.secret is None:
        return SignatureDiagnosis(
            f"refused unsigned notifications ({status}): if the receiver checks signatures, give conform its hub "
            f"secret ({SECRET_ADVICE})",
            None,
            status,
        )
    tried = variants(run, refused.probe.notification.body)
    outcomes = tuple(await asyncio.gather(*(_send(run, v, client) for v in tried)))
    accepted = next((v for v, o in zip(tried, outcomes, strict=True) if o.accepted), None)
    if accepted is not None:
        return SignatureDiagnosis(accepted.line, accepted.cause, status, outcomes)
    if status == 400:
        return None  # a 400 may be about the body, not the signature: no guess
    also = " and authorization" if run.settings.auth is not None else ""
    return SignatureDiagnosis(
        f"refused every signature variant tried ({len(outcomes)} probes: re-serialized bodies, secrets with stray "
        f"white space, other algorithms and digest forms): check that the receiver has the same hub secret{also} "
        "as conform",
        None,
        status,
        outcomes,
    )
