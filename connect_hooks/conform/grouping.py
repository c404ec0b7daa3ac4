"""A conformance report folded for people: checks that ended the same way as one group, passes by family.

``conform`` (Rich, in the command line) and ``ConformReport.__str__`` (pytest, the library) both read
these groups; ``--json``, ``--junit`` and ``--verbose`` keep one record per check.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from connect_hooks.conform.conformance import CheckResult, ConformReport, Status

#: The order groups are shown in: what must be fixed first.
ORDER = (Status.FAIL, Status.WARN, Status.SKIP)
#: A family with at most this many members in a group is listed in full.
LISTED = 3
#: Timings are the only part of a message that differs between checks that ended the same way.
_TIMING = re.compile(r"\b\d+(?:\.\d+)? ms\b")
_MORE = re.compile(r"and (\d+) more like these")


def diagnosis_of(result: CheckResult) -> str | None:
    """The check's diagnosis (the cause found by probing), when the runner gives one."""
    return result.diagnosis or None


def normalized(message: str) -> str:
    """``message`` with its timings replaced: ``"401 in 3 ms"`` and ``"401 in 5 ms"`` read the same."""
    return _TIMING.sub("… ms", message)


@dataclass(frozen=True)
class Group:
    """Checks that ended the same way: the same status, message (timings aside) and diagnosis."""

    status: Status
    message: str
    diagnosis: str | None
    checks: tuple[CheckResult, ...]

    @property
    def example(self) -> CheckResult:
        return self.checks[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.checks)

    def headline(self) -> str:
        """``raw-bytes: 2 of 5 bodies ...`` or ``120 checks: answered 401: ...``."""
        who = self.example.id if len(self.checks) == 1 else f"{len(self.checks)} checks"
        return f"{who}: {self.message}"


def group(results: Sequence[CheckResult], statuses: Iterable[Status] = ORDER) -> list[Group]:
    """The results of ``statuses`` grouped, failures first, each group in run order.

    Two checks share a group only when status, message (with its timings normalized) and diagnosis
    are all equal: two different causes never share one line.
    """
    keyed: dict[tuple[Status, str, str | None], list[CheckResult]] = {}
    for result in results:
        key = (result.status, normalized(result.message), diagnosis_of(result))
        keyed.setdefault(key, []).append(result)
    groups = []
    for status in statuses:
        for (kind, message, diagnosis), members in keyed.items():
            if kind is status:
                same = len({m.message for m in members}) == 1
                groups.append(Group(status, members[0].message if same else message, diagnosis, tuple(members)))
    return groups


def family(check_id: str) -> str:
    """``accepts`` for ``accepts/receipt/sms/delivered``, ``rejects`` for ``rejects-unsigned``, else the ID."""
    if "/" in check_id:
        return check_id.split("/", 1)[0]
    for prefix in ("url", "rejects"):
        if check_id.startswith(prefix + "-"):
            return prefix
    return check_id


def family_label(name: str) -> str:
    return f"{name}/*" if name == "accepts" else f"{name}-*"


def _kinds(ids: Sequence[str]) -> str:
    """``receipt 64, inbound 54`` for accepts/* IDs (by their second part), else ``""``."""
    kinds = Counter(check_id.split("/")[1] for check_id in ids if check_id.count("/") >= 2)
    return ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())


def _by_family(ids: Iterable[str]) -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for check_id in ids:
        families.setdefault(family(check_id), []).append(check_id)
    return families


def fold_ids(ids: Sequence[str], every: Sequence[str]) -> str:
    """The IDs of a group in one short line, by family: ``accepts/* (all 118: receipt 64, inbound 54),
    unknown-fields``; a part of a family of many: ``accepts/a, accepts/b and 7 more of accepts/* (118)``."""
    sizes = Counter(family(check_id) for check_id in every)
    parts = []
    for name, members in _by_family(ids).items():
        if len(members) <= LISTED:
            parts += members
            continue
        kinds = _kinds(members)
        if len(members) == sizes[name]:
            parts.append(f"{family_label(name)} (all {len(members)}{': ' + kinds if kinds else ''})")
        else:
            shown = ", ".join(members[:2])
            parts.append(f"{shown} and {len(members) - 2} more of {family_label(name)} ({sizes[name]})")
    return ", ".join(parts)


def passed(results: Sequence[CheckResult]) -> list[tuple[str, str]]:
    """What passed, by family: ``("accepts/*", "118 checks (receipt 64, inbound 54)")``, or a lone
    check's ID and message."""
    sizes = Counter(family(c.id) for c in results)
    by_id = {c.id: c for c in results}
    rows = []
    for name, members in _by_family(c.id for c in results if c.status is Status.PASS).items():
        if len(members) == 1:
            rows.append((members[0], by_id[members[0]].message))
            continue
        count = f"{len(members)} checks" if len(members) == sizes[name] else f"{len(members)} of {sizes[name]} checks"
        kinds = _kinds(members)
        rows.append((family_label(name), count + (f" ({kinds})" if kinds else "")))
    return rows


def first_request(evidence: str) -> list[str]:
    """The evidence lines up to the second request: one example is enough for a group."""
    lines = evidence.split("\n")  # only our own line breaks: a \r or \x85 is shown
    starts = [i for i, line in enumerate(lines) if line.startswith("POST ")]
    if len(starts) < 2:
        return lines
    more = len(starts) - 1
    tail = _MORE.fullmatch(lines[-1])
    if tail:
        more += int(tail.group(1))
    return [*lines[: starts[1]], f"and {more} more like it"]


def text(report: ConformReport, *, signatures_checked: bool | None = None, how: str = "") -> str:
    """The folded verdict as plain text (``str(report)``): the headline, then each failure and warning group.

    ``signatures_checked=False`` adds a line saying so, and ``how`` to give a hub secret."""
    verdict = "holds up" if report.ok else "does not hold up"
    lines = [f"conform {report.url}: {verdict} ({report.summary()})"]
    if signatures_checked is False:
        lines.append("signatures were not checked: no hub secret was given" + (f" ({how})" if how else ""))
    every = [c.id for c in report.checks]
    said: set[str] = set()
    for each in group(report.checks, (Status.FAIL, Status.WARN)):
        lines.append(f"{each.status.upper()} {each.headline()}")
        if each.diagnosis in said:
            lines.append("    diagnosis: the same as above")
        elif each.diagnosis:
            said.add(each.diagnosis)
            lines.append(f"    diagnosis: {each.diagnosis}")
        if len(each.checks) > 1:
            lines.append(f"    checks: {fold_ids(each.ids, every)}")
            lines.append(f"    for example {each.example.id}:")
        lines += ["    " + line for line in first_request(each.example.evidence) if line]
        if each.example.reproduce:
            lines.append(f"    reproduce: {each.example.reproduce}")
    overall = report.diagnosis.line if report.diagnosis is not None else None
    if overall and all(overall != g.diagnosis for g in group(report.checks)):
        lines.append(f"diagnosis: {overall}")
    return "\n".join(lines)
