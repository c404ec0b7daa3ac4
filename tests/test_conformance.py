"""The conformance core: checks as data, the runner, the report, through injected clients.

In-process runs go through ``httpx.ASGITransport`` (as the pytest plugin does); the judges of
time and faults use ``httpx.MockTransport`` and an injected clock. The CLI and the flawed
receivers over real sockets are in ``test_cli_conform.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_hooks import signing
from connect_hooks.catalogue import samples as catalogue
from connect_hooks.catalogue import stories
from connect_hooks.conform.conformance import (
    ORDER_STORY,
    RAW_BODIES,
    WRONG_SECRET,
    ConformReport,
    ConformSettings,
    Status,
    check_ids,
    percentile,
    probe_sample,
    run_conformance,
    run_sync,
)
from connect_hooks.errors import BadInput
from connect_hooks.receiver.app import ReceiverApp, ReceiverSettings
from tests import conform_receivers as receivers
from tests.support import run

SECRET = receivers.SECRET
IN_PROCESS = "http://testserver/hooks"
PROBE = probe_sample()  # the sample most probes are made from


def in_process(app: Any, **options: Any) -> ConformReport:
    settings = ConformSettings(url=IN_PROCESS, secret=SECRET, in_process=True, **options)
    return run_sync(settings, client_factory=lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app)))


def mocked(
    handler: Callable[[httpx.Request], httpx.Response], url: str, now: Any = None, **options: Any
) -> ConformReport:
    async def main() -> ConformReport:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            settings = ConformSettings(url=url, **options)
            if now is None:
                return await run_conformance(settings, client=client)
            return await run_conformance(settings, client=client, now=now)

    return run(main())


def test_the_project_receiver_passes_every_check_in_process() -> None:
    seen: list[str] = []
    app = ReceiverApp(ReceiverSettings(secret=SECRET), lambda r: seen.append(r.method))
    report = in_process(app)
    assert report.ok
    assert report.failed == report.warned == ()
    assert report.skipped == ("url-https", "url-tls")
    assert {c.message for c in report.checks if c.status is Status.SKIP} == {
        "in-process app: no network, so no scheme or certificate to judge"
    }
    accepts = [c.id for c in report.checks if c.id.startswith("accepts/")]
    assert accepts == [f"accepts/{name}" for name in catalogue.names()]
    # HEAD once; a POST per sample, 4 forgeries, 10 raw bodies, 2 duplicates, a story's 3 receipts, 1, 1 and 25 at once.
    assert seen.count("HEAD") == 1
    receipts = len(stories.get(ORDER_STORY).steps)
    assert seen.count("POST") == len(catalogue.names()) + 4 + 2 * len(RAW_BODIES) + 2 + receipts + 1 + 1 + 25
    assert report.checks[-1].id == "latency"


def test_as_dict_is_the_json_shape_and_str_is_a_verdict() -> None:
    report = in_process(receivers.AcceptsUnsigned(), only=("rejects", "url-head-200"))
    document = report.as_dict()
    assert list(document) == [
        "url",
        "passed",
        "failed",
        "warned",
        "skipped",
        "signatures_checked",
        "diagnosis",
        "checks",
    ]
    assert (document["signatures_checked"], document["diagnosis"]) == (True, None)
    assert document["url"] == IN_PROCESS
    assert document["failed"] == ["rejects-unsigned"]
    assert document["passed"] == [
        "url-head-200",
        "rejects-wrong-secret",
        "rejects-tampered-body",
        "rejects-bad-signature-format",
    ]
    failed = next(c for c in document["checks"] if c["id"] == "rejects-unsigned")
    assert set(failed) == {"id", "status", "message", "why", "evidence", "reproduce", "duration_ms", "diagnosis"}
    assert failed["diagnosis"] is None  # it refused nothing: nothing to diagnose
    assert failed["status"] == "fail"
    assert failed["reproduce"].startswith(f"env -u CONNECT_HOOKS_SECRET connect-hooks send {PROBE} ")
    assert "\n  x-hub-signature:" not in failed["evidence"]  # it was sent without one
    assert "answer: 200 in" in failed["evidence"]
    json.dumps(document)  # serialisable as it is
    text = str(report)
    assert text.splitlines()[0] == f"conform {IN_PROCESS}: does not hold up (4 passed, 1 failed)"
    assert "FAIL rejects-unsigned: answered 200 to a notification without x-hub-signature" in text
    assert "    reproduce: env -u CONNECT_HOOKS_SECRET connect-hooks send" in text
    assert SECRET not in text + json.dumps(document)


def test_reserializing_receiver_fails_raw_bytes_only_in_process() -> None:
    report = in_process(receivers.VerifiesReserialized())
    assert report.failed == ("raw-bytes",)
    raw = next(c for c in report.checks if c.id == "raw-bytes")
    # Python's json keeps key order: only the unusual-key-order body survives this re-serializer.
    assert raw.message.startswith(f"{len(RAW_BODIES) - 1} of {len(RAW_BODIES)} bodies refused as written; ")
    assert "the one with escaped slashes got 401 in " in raw.message
    assert raw.message.endswith("its compact form got 200: verify the raw bytes received, never a re-serialized body")
    assert raw.reproduce is not None and raw.reproduce.startswith("printf '%s' '{")


def test_without_a_secret_signatures_are_not_checked_and_the_verdict_says_how_to_give_one() -> None:
    report = run_sync(
        ConformSettings(url=IN_PROCESS, in_process=True, only=("rejects", f"accepts/{PROBE}")),
        client_factory=lambda: httpx.AsyncClient(transport=httpx.ASGITransport(ReceiverApp(ReceiverSettings()))),
    )
    assert report.ok and report.passed == (f"accepts/{PROBE}",)
    assert report.signatures_checked is False and report.as_dict()["signatures_checked"] is False
    (warning,) = [c for c in report.checks if c.status is Status.WARN]
    assert warning.id == "rejects-unsigned"
    assert warning.message.startswith("signatures not checked: no hub secret was given")
    assert report.skipped == ("rejects-wrong-secret", "rejects-tampered-body", "rejects-bad-signature-format")
    for check in report.checks[1:]:
        assert "CONNECT_HOOKS_SECRET or use --secret-file" in check.message
        assert "--secret " not in check.message  # the option the README warns against


def test_probes_are_what_their_ids_say() -> None:
    """What each rejects-* probe sends, as the receiver sees it."""
    received: list[tuple[bytes, dict[str, str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append((request.content, dict(request.headers)))
        return httpx.Response(401)

    report = mocked(handler, "https://example.test/hooks", secret=SECRET, only=("rejects",), seed=7)
    assert len(report.passed) == 4
    unsigned, wrong, tampered, garbage = received
    assert signing.HEADER not in unsigned[1]
    assert unsigned[0] == catalogue.render(PROBE, seed=7)
    assert wrong[1][signing.HEADER] == signing.sign(wrong[0], WRONG_SECRET)
    original = catalogue.render(PROBE, seed=7)
    assert tampered[1][signing.HEADER] == signing.sign(original, SECRET)
    assert len(tampered[0]) == len(original)
    assert sum(a != b for a, b in zip(tampered[0], original, strict=True)) == 1
    assert garbage[1][signing.HEADER] == "sha256=this-is-not-a-hex-digest!"
    assert len({h["x-wx-gtrid"] for _, h in received}) == 4


def test_concurrent_sends_25_different_notifications_and_its_line_sends_the_same() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200)

    report = mocked(handler, "https://example.test/hooks", only=("concurrent",), seed=100)
    assert report.passed == ("concurrent",)
    assert len(set(bodies)) == 25
    line = report.checks[0].reproduce
    assert line is not None
    # Run the line with a connect-hooks that prints its arguments instead of sending.
    shown = subprocess.run(
        ["bash", "-c", 'connect-hooks() { echo "$@"; }; ' + line], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    seeds = sorted(int(args.split("--seed ")[1]) for args in shown)
    assert seeds == list(range(101, 126))
    assert all(args.startswith(f"send {PROBE} https://example.test/hooks --retries 0") for args in shown)
    assert sorted(bodies) == sorted(catalogue.render(PROBE, seed=seed) for seed in seeds)


def test_plain_http_to_another_host_fails_url_https_and_loopback_skips_it() -> None:
    ok = lambda request: httpx.Response(200)  # noqa: E731
    remote = mocked(ok, "http://example.test/hooks", only=("url",))
    assert [(c.id, c.status) for c in remote.checks] == [
        ("url-https", Status.FAIL),
        ("url-tls", Status.SKIP),
        ("url-head-200", Status.PASS),
    ]
    assert remote.checks[0].message == "plain http: Webex Connect only calls https:// URLs"
    local = mocked(ok, "http://127.0.0.1:9/hooks", only=("url",))
    assert local.checks[0].status is Status.SKIP
    assert local.checks[0].message.startswith("plain http on loopback")


def test_latency_fails_on_a_deadline_and_reports_percentiles() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get(signing.HEADER) is None:
            raise httpx.ReadTimeout("stalled", request=request)
        return httpx.Response(200 if signing.verify(request.content, request.headers[signing.HEADER], SECRET) else 401)

    report = mocked(handler, "https://example.test/hooks", secret=SECRET, only=("rejects", "latency"))
    assert report.failed == ("latency",)
    latency = report.checks[-1]
    assert latency.message.startswith("1 attempt(s) hit the 10 s deadline (rejects-unsigned); p50 ")
    assert "over 4 answers" in latency.message


def test_latency_warns_when_p95_is_over_half_the_deadline() -> None:
    ticks = itertools.count()

    def clock() -> float:  # every attempt takes 6 s of the 10 s deadline
        return next(ticks) * 6.0

    report = mocked(
        lambda request: httpx.Response(200),
        "https://example.test/hooks",
        now=clock,
        only=(f"accepts/{PROBE}", "latency"),
    )
    assert report.ok
    assert report.warned == ("latency",)
    assert report.checks[-1].message.startswith(
        "p50 6000 ms, p95 6000 ms, max 6000 ms over 1 answers: p95 is over half"
    )


@pytest.mark.parametrize(
    ("every", "status"), [(10, Status.WARN), (40, Status.PASS)], ids=["1-in-10-slow", "1-in-40-slow"]
)
def test_latency_judges_the_95th_percentile_not_the_median_nor_the_slowest(every: int, status: Status) -> None:
    """Every ``every``-th answer takes 6 s (over half the 10 s deadline), the others 100 ms.

    1 in 10 slow: the median is fast but more than 5 % are slow, so p95 is slow: warn.
    1 in 40 slow: fewer than 5 % are slow, so p95 is fast; only the slowest is slow: pass.
    """
    clock = [0.0]
    took: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            took.append(6.0 if (len(took) + 1) % every == 0 else 0.1)
            clock[0] += took[-1]
        return httpx.Response(200)

    report = mocked(handler, "https://example.test/hooks", now=lambda: clock[0], only=("accepts", "latency"))
    slow_share = took.count(6.0) / len(took)
    assert (slow_share > 0.05) is (status is Status.WARN)  # the premise: p95 lands on a slow answer or not
    latency = report.checks[-1]
    assert (latency.id, latency.status) == ("latency", status)
    p95 = "6000" if status is Status.WARN else "100"
    assert latency.message.startswith(f"p50 100 ms, p95 {p95} ms, max 6000 ms over {len(took)} answers")


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(20, 0, -1)]  # 20 down to 1: unsorted on purpose
    assert [percentile(values, f) for f in (0.05, 0.5, 0.95, 1.0)] == [1.0, 10.0, 19.0, 20.0]
    assert percentile([7.0], 0.95) == 7.0


@pytest.mark.parametrize(("seconds", "status"), [(5.0, Status.PASS), (5.001, Status.WARN)])
def test_latency_warns_only_over_half_the_deadline(seconds: float, status: Status) -> None:
    clock = [0.0]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            clock[0] += seconds
        return httpx.Response(200)

    report = mocked(handler, "https://example.test/hooks", now=lambda: clock[0], only=(f"accepts/{PROBE}", "latency"))
    assert (report.checks[-1].id, report.checks[-1].status) == ("latency", status)


def test_latency_skips_when_nothing_was_sent() -> None:
    report = mocked(lambda request: httpx.Response(200), "https://example.test/hooks", only=("url", "latency"))
    latency = report.checks[-1]
    assert (latency.id, latency.status, latency.message) == (
        "latency",
        Status.SKIP,
        "no notification was sent: nothing to judge",
    )


def test_accepts_explains_the_policy_for_each_answer() -> None:
    statuses = iter([201, 202, 500, 404, 300])

    report = mocked(
        lambda request: httpx.Response(next(statuses)),
        "https://example.test/hooks",
        only=[f"accepts/{n}" for n in catalogue.names()[:5]],
    )
    messages = [c.message for c in report.checks]
    assert messages == [
        "answered 201, not 200: Webex Connect counts only 200 as delivered, so it retries 3 times and then drops the notification",
        "answered 202: that stops Webex Connect's retries, but only 200 is delivered: the notification is lost",
        "answered 500: Webex Connect retries 3 times, then drops the notification",
        "answered 404, on the no-retry list: Webex Connect gives up at once and the notification is lost",
        "answered 300, on the no-retry list: Webex Connect gives up at once and the notification is lost",
    ]


def signed_receiver(*, malformed: int, failing_post: int | None = None) -> Callable[[httpx.Request], httpx.Response]:
    """200 to a valid signature, 401 to a wrong one, ``malformed`` to an unparsable one; the
    ``failing_post``-th correctly signed POST (counting from 1) gets 503."""
    good = [0]

    def handler(request: httpx.Request) -> httpx.Response:
        header = request.headers.get(signing.HEADER)
        if request.method != "POST":
            return httpx.Response(200)
        if header is not None and signing.parse_header(header) is None:
            return httpx.Response(malformed)
        if not signing.verify(request.content, header, SECRET):
            return httpx.Response(401)
        good[0] += 1
        return httpx.Response(503 if good[0] == failing_post else 200)

    return handler


def test_verdicts_say_how_many_were_delivered_and_a_crash_on_a_malformed_signature_warns() -> None:
    only = ("url-https", f"accepts/{PROBE}", "concurrent", "rejects-bad-signature-format")
    report = mocked(signed_receiver(malformed=500), "https://example.test/hooks", secret=SECRET, only=only)
    verdicts = {c.id: (c.status, c.message) for c in report.checks}
    assert verdicts["url-https"] == (Status.PASS, "the URL is https")
    assert verdicts[f"accepts/{PROBE}"][0] is Status.PASS
    assert re.fullmatch(r"200 in \d+ ms", verdicts[f"accepts/{PROBE}"][1])
    assert verdicts["concurrent"] == (Status.PASS, "all 25 got 200")
    assert verdicts["rejects-bad-signature-format"] == (
        Status.WARN,
        "refused with 500: a malformed signature is bad input, answer 401 or 403, not a server error",
    )
    assert report.warned == ("rejects-bad-signature-format",)


def test_one_of_many_not_delivered_fails_naming_which_and_a_clean_refusal_passes() -> None:
    only = ("concurrent", "rejects-bad-signature-format")
    report = mocked(
        signed_receiver(malformed=401, failing_post=3), "https://example.test/hooks", secret=SECRET, only=only
    )
    by_id = {c.id: c for c in report.checks}
    concurrent, bad_format = by_id["concurrent"], by_id["rejects-bad-signature-format"]
    assert report.failed == ("concurrent",)
    assert concurrent.status is Status.FAIL
    assert re.fullmatch(
        r"1 of 25 not delivered; \d+ of 25: answered 503: Webex Connect retries 3 times, then drops the notification",
        concurrent.message,
    )
    assert bad_format.status is Status.PASS
    assert re.fullmatch(r"refused: 401 in \d+ ms", bad_format.message)


def test_selection_by_id_family_and_channel() -> None:
    base = ConformSettings(url=IN_PROCESS)
    assert check_ids(ConformSettings(url=IN_PROCESS, only=("rejects",))) == (
        "rejects-unsigned",
        "rejects-wrong-secret",
        "rejects-tampered-body",
        "rejects-bad-signature-format",
    )
    assert check_ids(ConformSettings(url=IN_PROCESS, only=("url",))) == ("url-https", "url-tls", "url-head-200")
    sms = [n for n in catalogue.names() if n.split("/")[1] == "sms"]
    assert check_ids(ConformSettings(url=IN_PROCESS, only=("accepts",), channels=("sms",))) == tuple(
        f"accepts/{n}" for n in sms
    )
    everything = check_ids(base)
    skipped = check_ids(ConformSettings(url=IN_PROCESS, skip=("accepts", "latency")))
    assert skipped == tuple(i for i in everything if not i.startswith("accepts/") and i != "latency")
    assert check_ids(ConformSettings(url=IN_PROCESS, only=("accepts/receipt/sms",))) == tuple(
        f"accepts/{n}" for n in sms if n.startswith("receipt/")
    )
    for name in catalogue.names():  # a full ID is that check only, even when another ID extends it
        assert check_ids(ConformSettings(url=IN_PROCESS, only=(f"accepts/{name}",))) == (f"accepts/{name}",)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"only": ("accept",)}, "--only 'accept' is not a check ID or family"),
        ({"skip": ("latencyy",)}, "--skip 'latencyy' is not a check ID or family"),
        ({"channels": ("pigeon",)}, "--channel 'pigeon' is not a channel of the catalogue: use apple, email"),
        ({"only": ("accepts",), "skip": ("accepts",)}, "leave no check to run"),
    ],
)
def test_bad_selection_is_bad_input(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(BadInput) as caught:
        check_ids(ConformSettings(url=IN_PROCESS, **options))
    assert fragment in str(caught.value)


ID_TEXT = st.text(alphabet="acdeiklnoprstuwxy-/", max_size=30) | st.sampled_from(
    check_ids(ConformSettings(url=IN_PROCESS))
)


@given(only=st.lists(ID_TEXT, max_size=3), skip=st.lists(ID_TEXT, max_size=3))
def test_any_selection_is_bad_input_or_exactly_the_matching_checks(only: list[str], skip: list[str]) -> None:
    settings = ConformSettings(url=IN_PROCESS, only=tuple(only), skip=tuple(skip))
    every = check_ids(ConformSettings(url=IN_PROCESS))

    def matches(check_id: str, token: str) -> bool:
        return (
            check_id == token
            or check_id.startswith(token + "/")
            or ("/" not in token and check_id.startswith(token + "-"))
        )

    try:
        chosen = check_ids(settings)
    except BadInput as exc:
        unknown = [t for t in only + skip if not any(matches(i, t) for i in every)]
        assert unknown or "leave no check to run" in str(exc)
        return
    assert chosen == tuple(
        i for i in every if (not only or any(matches(i, t) for t in only)) and not any(matches(i, t) for t in skip)
    )


def test_refusals_seen_at_once_are_diagnosed_once() -> None:
    """Checks running together that all see a refusal share one diagnosis: its probes go out once."""
    from connect_hooks.conform.conformance import Answer, Run, sample_probe

    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get(signing.HEADER))
        return httpx.Response(401)

    async def main() -> Run:
        run = Run(ConformSettings(url="https://example.test/hooks", secret=SECRET), seed=3)
        refused = [[Answer("a", p, 401, None, None, 1.0) for p in sample_probe(PROBE, run)] for _ in range(3)]
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            await asyncio.gather(*(run.diagnoser.after(run, answers, client) for answers in refused))
        return run

    run_ = run(main())
    diagnosis = run_.diagnoser.result
    assert diagnosis is not None and diagnosis.cause is None
    assert len(seen) == len(diagnosis.probes) == len(set(seen))  # each probe once, each signed differently
