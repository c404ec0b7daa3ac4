"""The policy explainer: what Webex Connect does after a given answer, and when.

Pure computation over ``policy``: no I/O, no heavy imports (``connect-hooks policy`` starts fast).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from connect_hooks.errors import BadInput
from connect_hooks.policy import DELIVERED_STATUS, NO_RETRY_STATUSES, Decision, Fault, Outcome, Policy, decide

INPUT_HELP = "a status code from 100 to 599, 'timeout', 'connection-error' or 'tls-error'"


# NamedTuples, not frozen dataclasses, as ``policy.Policy``: `connect-hooks policy` must start within 1.15x of a
# bare click import, and the dataclasses module with three dataclasses made a third of what it adds to one.


class Step(NamedTuple):
    attempt: int
    at: float  # simulated seconds since the first attempt
    decision: Decision

    def as_dict(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "at": self.at, "decision": str(self.decision)}


class Explanation(NamedTuple):
    input: str
    delivered: bool
    retried: bool
    outcome: Outcome
    steps: tuple[Step, ...]
    summary: str
    caveats: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "delivered": self.delivered,
            "retried": self.retried,
            "outcome": str(self.outcome),
            "summary": self.summary,
            "timeline": [step.as_dict() for step in self.steps],
            "caveats": list(self.caveats),
        }


def parse_input(text: str) -> int | Fault:
    value = text.strip().lower()
    if value.isdigit():
        status = int(value)
        if 100 <= status <= 599:
            return status
        raise BadInput(f"{text!r} is not an HTTP status: give {INPUT_HELP}")
    try:
        return Fault(value)
    except ValueError:
        raise BadInput(f"{text!r} is not something a receiver can answer: give {INPUT_HELP}") from None


def fmt_seconds(seconds: float) -> str:
    """Simulated time for people: ``T+60s``, ``T+70.4s`` (tenths at most)."""
    return f"T+{round(seconds, 1):g}s"


def caveats_for(result: int | Fault, policy: Policy) -> tuple[str, ...]:
    notes: list[str] = []
    if isinstance(result, Fault):
        if result is Fault.TIMEOUT:
            notes.append(
                f"each attempt may take {policy.timeout:g} s; the next one comes {policy.waits[0]:g} s after it ended"
                if policy.waits
                else f"the attempt may take {policy.timeout:g} s"
            )
            notes.append("a real timeout is retried, although 408 Request Timeout as a status is not")
        return tuple(notes)
    status = result
    if status == 201:
        notes.append("201 is not 200: Webex Connect counts only 200 as delivered, and retries 201")
    elif 200 < status < 300 and status in NO_RETRY_STATUSES:
        notes.append(
            f"{status} is not 200: the notification is not delivered and never sent again; "
            "answer 200 once you have stored it"
        )
    elif 200 < status < 300:
        notes.append(f"{status} is not 200 and not on the no-retry list, so it is retried")
    if 300 <= status < 400:
        notes.append("redirects are never followed: point Webex Connect at the final URL")
    if status == 429:
        notes.append("429 is retried on the fixed schedule; Retry-After is not honoured")
    if status in (401, 403):
        notes.append(f"{status} is retried: a wrong credential costs every retry before the notification is dropped")
    if status == 408:
        notes.append("408 is on the no-retry list, although a real timeout is retried")
    if status == 505:
        notes.append("505 is the one 5xx that is never retried")
    if 100 <= status < 200:
        notes.append("a 1xx is not a final answer: it is treated as not 200 and retried")
    return tuple(notes)


def explain(text: str, policy: Policy | None = None) -> Explanation:
    """What happens to a notification that gets ``text`` on every attempt."""
    policy = policy or Policy()
    result = parse_input(text)
    duration = policy.timeout if result is Fault.TIMEOUT else 0.0
    steps: list[Step] = []
    at = 0.0
    for number in range(1, policy.max_attempts + 1):
        decision = decide(result, policy.max_attempts - number)
        steps.append(Step(number, at, decision))
        if decision is not Decision.RETRY:
            break
        at += duration + policy.waits[number - 1]
    final = steps[-1].decision
    retried = len(steps) > 1
    if final is Decision.DELIVERED:
        summary = "delivered at T+0s"
    elif final is Decision.FAILED:
        summary = "not delivered and not retried: failed at T+0s"
    else:
        times = ", ".join(fmt_seconds(step.at) for step in steps[1:])
        summary = f"retried at {times}, then dropped" if retried else "not retried (no retries configured): dropped"
    return Explanation(
        input=str(result),
        delivered=result == DELIVERED_STATUS,
        retried=retried,
        outcome=Outcome(str(final)),
        steps=tuple(steps),
        summary=summary,
        caveats=caveats_for(result, policy),
    )
