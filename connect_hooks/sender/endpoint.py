"""``check``: would Webex Connect accept this URL as a webhook endpoint?

Webex Connect saves a URL only if it is https and a HEAD request to it answers 200. Each rule is
reported on its own, so a plain-http URL is still probed and the user sees every problem at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import httpx

from connect_hooks.client.attempt import Exchange, attempt_once
from connect_hooks.policy import DEFAULT_TIMEOUT, Fault
from connect_hooks.redaction import redact_url
from connect_hooks.sender.clock import Monotonic
from connect_hooks.urls import parse_url


class RuleVerdict(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"  # the rule does not apply (no TLS on plain http)


@dataclass(frozen=True)
class Rule:
    name: str
    verdict: RuleVerdict
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.name, "verdict": str(self.verdict), "reason": self.reason}


@dataclass(frozen=True)
class CheckReport:
    url: str
    rules: tuple[Rule, ...]
    status: int | None
    location: str | None
    elapsed_ms: float | None
    fault: Fault | None = None  # why HEAD got no answer (connection, TLS, timeout), when it got none

    @property
    def passed(self) -> bool:
        return all(rule.verdict is not RuleVerdict.FAIL for rule in self.rules)

    def as_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "passed": self.passed,
            "status": self.status,
            "location": self.location,
            "elapsed_ms": None if self.elapsed_ms is None else round(self.elapsed_ms, 1),
            "rules": [rule.as_dict() for rule in self.rules],
        }


async def check_endpoint(
    url: str,
    *,
    client: httpx.AsyncClient,
    now: Monotonic,
    timeout: float = DEFAULT_TIMEOUT,
    insecure_client: httpx.AsyncClient | None = None,
) -> CheckReport:
    """Probe ``url`` as Webex Connect does when the URL is saved.

    ``client`` verifies TLS. With ``insecure_client`` (``--insecure``), a TLS failure is still
    reported, and the HEAD probe is repeated without verification to show its status too.
    """
    target = parse_url(url)
    rules: list[Rule] = []
    if target.scheme == "https":
        rules.append(Rule("https", RuleVerdict.PASS, "the URL is https"))
    else:
        rules.append(Rule("https", RuleVerdict.FAIL, "Webex Connect only accepts https:// URLs"))

    async def probe(with_client: httpx.AsyncClient) -> tuple[Exchange, float]:
        started = now()
        exchange = await attempt_once(with_client, with_client.build_request("HEAD", target.url), timeout)
        return exchange, now() - started

    head, elapsed = await probe(client)
    if target.scheme != "https":
        rules.append(Rule("tls", RuleVerdict.SKIP, "plain http: no certificate to verify"))
    elif head.fault is Fault.TLS_ERROR:
        note = "; probed again without verification (--insecure)" if insecure_client is not None else ""
        rules.append(Rule("tls", RuleVerdict.FAIL, f"{head.error}{note}"))
        if insecure_client is not None:
            head, elapsed = await probe(insecure_client)
    elif head.fault is None:
        rules.append(Rule("tls", RuleVerdict.PASS, "the certificate verifies"))
    else:
        rules.append(Rule("tls", RuleVerdict.FAIL, f"not reached: {head.error}"))

    location = head.headers.get("location") if head.headers is not None else None
    location = redact_url(location) if location is not None else None
    if head.fault is not None:
        rules.append(Rule("head-200", RuleVerdict.FAIL, f"HEAD got no answer: {head.error}"))
    elif head.status == 200:
        rules.append(Rule("head-200", RuleVerdict.PASS, f"HEAD answered 200 in {elapsed * 1000:.0f} ms"))
    else:
        reason = f"HEAD answered {head.status}, not 200"
        if head.status is not None and 300 <= head.status < 400:
            reason += f" (redirect to {location or 'no Location'}; Webex Connect does not follow redirects)"
        rules.append(Rule("head-200", RuleVerdict.FAIL, reason))
    return CheckReport(
        url=target.shown,  # the report is shown and put in JSON: never a password
        rules=tuple(rules),
        status=head.status,
        location=location,
        elapsed_ms=elapsed * 1000,
        fault=head.fault,
    )
