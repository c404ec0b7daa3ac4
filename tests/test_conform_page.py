"""``conform`` for people fits on one page: what failed the same way once, what passed by family.

Real receivers on 127.0.0.1; ``--verbose`` keeps a row per check, ``--json`` a record per check.
"""

from __future__ import annotations

import io
import json
import re
import socket
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from connect_hooks.catalogue import samples as catalogue
from connect_hooks.cli.commands import conform as conform_command
from connect_hooks.cli.main import main
from connect_hooks.client.transport import make_client
from connect_hooks.conform import grouping
from connect_hooks.conform.conformance import CheckResult, ConformReport, ConformSettings, Status
from tests import conform_receivers as receivers
from tests.conform_receivers import SECRET, served

pytestmark = pytest.mark.e2e

NAMES = catalogue.names()
KINDS = Counter(name.split("/")[0] for name in NAMES)
#: ``receipt 64, inbound 54``, most first, as people read the accepts/* family.
KIND_TEXT = ", ".join(f"{kind} {n}" for kind, n in KINDS.most_common())
PAGE = 80


def conform(*args: str, secret: bool = True) -> tuple[int, str, str]:
    env = {"CONNECT_HOOKS_SECRET": SECRET if secret else None}
    result = CliRunner().invoke(main, ["conform", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


class RefusesEverySignature(receivers.Receiver):
    """Verifies with another secret: every signed notification is refused with 401."""

    def __init__(self) -> None:
        super().__init__(secret="not-the-secret-conform-signs-with")


class TwoCauses(receivers.Receiver):
    """Answers 503 to incoming messages and 500 to receipts: two causes, never one group."""

    async def accept(self, document: Any, headers: dict[str, str]) -> int:
        return 500 if "deliveryInfoNotification" in document else 503


def test_healthy_broken_and_unreachable_runs_each_fit_on_one_page_and_verbose_keeps_a_row_per_check() -> None:
    with served(receivers.Receiver()) as url:
        healthy = conform(url + "/hooks")
        verbose = conform(url + "/hooks", "--verbose")
    with served(RefusesEverySignature()) as url:
        broken = conform(url + "/hooks")
        broken_json = conform(url + "/hooks", "--json")
    with socket.socket() as bound:  # bound, not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        unreachable = conform(f"http://127.0.0.1:{bound.getsockname()[1]}/hooks")
    assert (healthy[0], broken[0], unreachable[0]) == (0, 1, 1)
    for _, out, _ in (healthy, broken, unreachable):
        assert len(out.splitlines()) < PAGE, out
    records = json.loads(broken_json[1])["checks"]
    assert len(records) == len(NAMES) + 14  # --json: still one record per check ID
    assert sum(line.startswith(("  PASS  ", "  SKIP  ")) for line in verbose[1].splitlines()) == len(NAMES) + 14
    assert re.search(rf"\n  PASS  accepts/\* +{len(NAMES)} checks \({KIND_TEXT}\)\n", healthy[1])
    signed = [f"accepts/{name}" for name in NAMES] + ["unknown-fields", "large-body"]
    assert {r["id"] for r in records if r["message"].startswith("answered 401: ")} == set(signed)
    assert f"\nFAIL {len(signed)} checks: answered 401: Webex Connect retries 3 times" in broken[1]
    assert f"  checks: accepts/* (all {len(NAMES)}: {KIND_TEXT}), unknown-fields, large-body\n" in broken[1]
    # the 401s, duplicate-delivery, out-of-order-receipts, concurrent: each says it once
    assert broken[1].count("\nFAIL ") == 4
    assert broken[1].count("\nWARN ") == 1  # raw-bytes: cannot judge when every signature is refused
    assert broken[1].count("  answer: 401 in ") == 5  # one example per group
    # one cause, said in full once: the groups after the first refer to it
    diagnosed = {r["diagnosis"] for r in records if r["diagnosis"]}
    assert len(diagnosed) == 1
    assert broken[1].count(f"diagnosis: {diagnosed.pop()}") == 1
    assert broken[1].count("diagnosis: the same as above") == 4  # duplicate, out-of-order, concurrent, raw-bytes
    assert "not sent: the URL is not reachable (see url-head-200)" in unreachable[1]
    assert unreachable[1].count("not sent") == 1


def test_two_causes_are_two_groups_with_their_own_counts() -> None:
    with served(TwoCauses()) as url:
        code, out, _ = conform(url + "/hooks", "--only", "accepts")
    assert code == 1
    assert f"\nFAIL {KINDS['inbound']} checks: answered 503: " in out
    assert f"\nFAIL {KINDS['receipt']} checks: answered 500: " in out
    assert out.count("\nFAIL ") == 2
    inbound = [f"accepts/{name}" for name in NAMES if name.startswith("inbound/")]
    folded = f"{inbound[0]}, {inbound[1]} and {len(inbound) - 2} more of accepts/* ({len(NAMES)})"
    assert f"\n  checks: {folded}\n" in out


def test_without_a_hub_secret_the_closing_line_says_signatures_were_not_checked() -> None:
    with served(receivers.Receiver()) as url:
        unsigned = conform(url + "/hooks", "--only", "accepts/receipt/sms", secret=False)
        signed = conform(url + "/hooks", "--only", "accepts/receipt/sms")
    hint = (
        "but its signatures were not checked: no hub secret was given (set CONNECT_HOOKS_SECRET or pass --secret-file"
    )
    assert hint in unsigned[1].splitlines()[-1]
    assert "not checked" not in signed[1]


def result(check_id: str, status: Status, message: str, diagnosis: str | None = None) -> CheckResult:
    return CheckResult(check_id, status, message, "why", "", None, 1.0, diagnosis=diagnosis)


def test_groups_never_merge_different_statuses_messages_or_diagnoses_and_ignore_timings() -> None:
    results = [
        result("accepts/receipt/sms/a", Status.FAIL, "answered 401: retried"),
        result("accepts/receipt/sms/b", Status.FAIL, "answered 403: retried"),
        result("accepts/receipt/sms/c", Status.FAIL, "answered 401: retried", diagnosis="re-serialized body"),
        result("accepts/receipt/sms/d", Status.WARN, "answered 401: retried"),
        result("accepts/receipt/sms/e", Status.FAIL, "answered 401: retried"),
        result("unknown-fields", Status.FAIL, "no answer after 10 ms"),
        result("large-body", Status.FAIL, "no answer after 12.5 ms"),
    ]
    groups = grouping.group(results)
    assert [g.ids for g in groups] == [
        ("accepts/receipt/sms/a", "accepts/receipt/sms/e"),
        ("accepts/receipt/sms/b",),
        ("accepts/receipt/sms/c",),
        ("unknown-fields", "large-body"),
        ("accepts/receipt/sms/d",),
    ]
    assert groups[3].message == "no answer after … ms"
    text = str(ConformReport("http://127.0.0.1/hooks", tuple(results), seed=1))
    assert "FAIL accepts/receipt/sms/c: answered 401: retried\n    diagnosis: re-serialized body" in text


def test_on_a_terminal_a_progress_line_replaces_the_rows() -> None:
    screen = io.StringIO()
    out = Console(file=screen, force_terminal=True, width=100, soft_wrap=True, markup=False)
    with served(receivers.Receiver()) as url:
        settings = ConformSettings(url=url + "/hooks", secret=SECRET, only=("rejects",))
        report = conform_command._run(settings, make_client(), None, out=out)
    assert report.passed == (
        "rejects-unsigned",
        "rejects-wrong-secret",
        "rejects-tampered-body",
        "rejects-bad-signature-format",
    )
    assert "4/4" in screen.getvalue()
    assert "rejects-unsigned" not in screen.getvalue()
