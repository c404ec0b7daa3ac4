"""``replay``'s core: logs written by the real ``send --log`` and ``listen --log`` writers, read back."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from connect_hooks import signing
from connect_hooks.catalogue import samples as catalogue
from connect_hooks.errors import BadInput
from connect_hooks.logfile import NdjsonLog
from connect_hooks.policy import Outcome
from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings, Script
from connect_hooks.sender.delivery import Delivery
from connect_hooks.sender.replay import (
    Filters,
    ReplaySettings,
    header_problem,
    header_value,
    parse_outcomes,
    parse_since,
    parse_statuses,
    prepare_replay,
    read_log,
)
from connect_hooks.sender.sending import SendLog, SendSettings, make_notification
from connect_hooks.sender.sending import run as run_send
from tests.support import run

SECRET = "old-hub-secret"
NEW_SECRET = "rotated-hub-secret"
URL = "https://hooks.example.test/wxc"


def no_stdin() -> bytes:
    raise AssertionError("stdin read")


def write_send_log(
    path: Path, outcomes: dict[str, Outcome | None], urls: dict[str, str] | None = None
) -> dict[str, bytes]:
    """A send log as ``send --log`` writes it: one notification per sample, then its outcome (or none)."""
    settings = SendSettings(url=URL, targets=(), secret=SECRET, headers=(("Authorization", "Bearer leaked"),))
    notifications = [
        make_notification(name, catalogue.render(name, seed=index), settings) for index, name in enumerate(outcomes)
    ]
    with NdjsonLog(path) as log:
        story = SendLog(log, URL)
        for notification, outcome in zip(notifications, outcomes.values(), strict=True):
            story.url = (urls or {}).get(notification.target, URL)
            story.notification(notification)
            if outcome is not None:
                story.outcome(Delivery.of(notification, story.url, outcome))
    return {n.target: n.body for n in notifications}


def write_listen_log(
    path: Path, posts: list[tuple[str, bytes]], script: tuple[int, ...], max_body: int = 1024 * 1024
) -> list[Received]:
    """A listen log as ``listen --log`` writes it, from the real receiver app in-process."""
    records: list[Received] = []
    log = NdjsonLog(path)

    def observe(record: Received) -> None:
        records.append(record)
        log.write({"type": "request", **record.as_dict()})

    app = ReceiverApp(ReceiverSettings(secret=SECRET, script=Script(script), max_body=max_body), observe)

    async def deliver() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://r.test") as client:
            await client.head("/hooks")
            for gtrid, body in posts:
                headers = {
                    "content-type": "application/json",
                    "x-wx-gtrid": gtrid,
                    "x-hub-signature": signing.sign(body, SECRET),
                    "authorization": "Basic c2VjcmV0",
                    "x-api-key": "k3y",
                    "cookie": "session=abc",
                }
                await client.post("/hooks", content=body, headers=headers)

    run(deliver())
    log.close()
    return records


def test_send_log_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    bodies = write_send_log(
        path,
        {"receipt/sms/delivered": Outcome.DELIVERED, "inbound/sms/mo": Outcome.DROPPED, "receipt/sms/failed": None},
    )
    recorded = json.loads(path.read_text().splitlines()[0])
    plan = prepare_replay(ReplaySettings(log=str(path)), no_stdin)
    assert plan.problems == ()
    assert [p.notification.target for p in plan.planned] == list(bodies)
    assert [p.recorded.outcome for p in plan.planned] == ["delivered", "dropped", "interrupted"]
    first = plan.planned[0]
    assert first.url == URL
    assert first.notification.body == bodies["receipt/sms/delivered"]
    assert first.notification.gtrid == recorded["gtrid"]
    headers = dict(first.notification.headers)
    original = dict(recorded["headers"])
    assert headers["x-wx-gtrid"] == original["x-wx-gtrid"] == recorded["gtrid"]
    assert headers["x-hub-signature"] == original["x-hub-signature"]
    assert signing.verify(first.notification.body, headers["x-hub-signature"], SECRET)
    assert "Authorization" in original and "Authorization" not in headers  # never re-sent from a log
    assert first.notification.algorithm == "sha256"


def test_new_gtrid_and_resign(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    write_send_log(path, {"receipt/sms/delivered": Outcome.DELIVERED})
    old = prepare_replay(ReplaySettings(log=str(path)), no_stdin).planned[0].notification
    settings = ReplaySettings(log=str(path), new_gtrid=True, resign=True, secret=NEW_SECRET, algorithm="sha512")
    new = prepare_replay(settings, no_stdin).planned[0].notification
    assert new.body == old.body
    assert new.gtrid != old.gtrid
    assert header_value(new.headers, "x-wx-gtrid") == new.gtrid
    signature = header_value(new.headers, "x-hub-signature")
    assert signature is not None and signature.startswith("sha512=")
    assert signing.verify(new.body, signature, NEW_SECRET)
    assert not signing.verify(new.body, signature, SECRET)
    assert new.algorithm == "sha512"


def test_resign_without_a_secret_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    write_send_log(path, {"inbound/sms/mo": Outcome.FAILED})
    with pytest.raises(BadInput, match="--resign signs again with the current hub secret"):
        prepare_replay(ReplaySettings(log=str(path), resign=True), no_stdin)


def test_filters_select_exactly(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    write_send_log(
        path,
        {
            "receipt/sms/delivered": Outcome.DELIVERED,
            "receipt/sms/failed": Outcome.FAILED,
            "inbound/sms/mo": Outcome.DROPPED,
            "receipt/whatsapp/read": Outcome.DROPPED,
        },
    )
    everything = prepare_replay(ReplaySettings(log=str(path)), no_stdin).planned
    gtrid_of = {p.notification.target: p.notification.gtrid for p in everything}

    def chosen(filters: Filters) -> list[str]:
        plan = prepare_replay(ReplaySettings(log=str(path), filters=filters), no_stdin)
        return [p.notification.target for p in plan.planned]

    assert chosen(Filters(outcomes=("dropped", "failed"))) == [
        "receipt/sms/failed",
        "inbound/sms/mo",
        "receipt/whatsapp/read",
    ]
    assert chosen(Filters(targets=("receipt/sms/*",))) == ["receipt/sms/delivered", "receipt/sms/failed"]
    assert chosen(Filters(outcomes=("dropped",), targets=("receipt/*",))) == ["receipt/whatsapp/read"]
    assert chosen(Filters(gtrids=(gtrid_of["inbound/sms/mo"],))) == ["inbound/sms/mo"]
    assert chosen(Filters(since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))) == []
    assert len(chosen(Filters(since=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))) == 4


def test_listen_log_one_notification_per_gtrid_judged_by_its_last_answer(tmp_path: Path) -> None:
    path = tmp_path / "listen.ndjson"
    first = catalogue.render("receipt/sms/delivered", seed=1)
    second = catalogue.render("inbound/sms/mo", seed=2)
    records = write_listen_log(path, [("g-1", first), ("g-2", second), ("g-1", first)], script=(503, 200))
    assert [r.status for r in records if r.method == "POST"] == [503, 503, 200]

    with pytest.raises(BadInput, match="records no URL to send to: give the URL"):
        prepare_replay(ReplaySettings(log=str(path)), no_stdin)
    plan = prepare_replay(ReplaySettings(log=str(path), url="http://127.0.0.1:9/x"), no_stdin)
    assert [(p.notification.gtrid, p.recorded.status) for p in plan.planned] == [("g-2", 503), ("g-1", 200)]
    assert plan.planned[1].notification.body == first
    assert plan.planned[0].notification.target.lower() == "inbound/sms/mo"
    headers = dict(plan.planned[1].notification.headers)
    assert headers["x-hub-signature"] == signing.sign(first, SECRET)
    assert not {"host", "content-length", "authorization", "accept-encoding", "x-api-key", "cookie"} & set(headers)
    assert "accept-encoding" in records[1].as_dict()["headers"]  # recorded, yet not replayed
    assert plan.planned[0].note is not None and "loopback" in plan.planned[0].note

    by_status = prepare_replay(
        ReplaySettings(log=str(path), url="http://127.0.0.1:9/x", filters=Filters(statuses=(503,))), no_stdin
    )
    assert [p.notification.gtrid for p in by_status.planned] == ["g-2"]


def test_filters_of_the_other_kind_of_log_are_bad_input(tmp_path: Path) -> None:
    send_log = tmp_path / "send.ndjson"
    write_send_log(send_log, {"inbound/sms/mo": Outcome.DELIVERED})
    with pytest.raises(BadInput, match="--status applies to 'listen --log' files"):
        prepare_replay(ReplaySettings(log=str(send_log), filters=Filters(statuses=(500,))), no_stdin)
    listen_log = tmp_path / "listen.ndjson"
    write_listen_log(listen_log, [("g-1", b"{}")], script=(200,))
    with pytest.raises(BadInput, match="--outcome applies to 'send --log' files"):
        prepare_replay(
            ReplaySettings(log=str(listen_log), url="https://x.test/", filters=Filters(outcomes=("failed",))), no_stdin
        )


def test_foreign_and_torn_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    write_send_log(path, {"inbound/sms/mo": Outcome.DELIVERED, "receipt/sms/delivered": Outcome.DELIVERED})
    lines = path.read_text().splitlines()
    # notification, outcome, notification, outcome: the second notification survives only torn, at the end
    torn = lines[2][: len(lines[2]) // 2]
    path.write_text("\n".join([lines[0], '{"hello": "world"}', "", "not json", lines[1], lines[3], torn]))
    plan = prepare_replay(ReplaySettings(log=str(path)), no_stdin)
    assert [p.notification.target for p in plan.planned] == ["inbound/sms/mo"]
    source = str(path)
    assert plan.problems == (
        f"{source}:2: not a record of 'send --log' or 'listen --log'; skipped",
        f"{source}:4: not a JSON record; skipped",
        f"{source}:{len(lines) + 3}: a truncated last line; skipped",
    )


def test_a_log_with_nothing_to_replay_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "junk.ndjson"
    path.write_text('{"a": 1}\nnope\n')
    first = "line 1: not a record of 'send --log' or 'listen --log'"
    with pytest.raises(BadInput, match=rf"holds no notification to replay \(2 lines skipped; the first, {first}\)"):
        read_log(str(path), no_stdin)
    with pytest.raises(BadInput, match="does not exist: give a file written by 'send --log' or 'listen --log'"):
        read_log(str(tmp_path / "missing.ndjson"), no_stdin)


def test_stdin_and_an_explicit_url_override(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    write_send_log(path, {"inbound/sms/mo": Outcome.DELIVERED})
    plan = prepare_replay(ReplaySettings(log="-", url="https://other.test/h"), path.read_bytes)
    assert [p.url for p in plan.planned] == ["https://other.test/h"]
    assert plan.log.source == "stdin"


def test_option_parsers() -> None:
    assert parse_outcomes("failed, dropped") == ("failed", "dropped")
    assert parse_statuses("500,503") == (500, 503)
    assert parse_since("2026-11-30T09:00:00Z") == dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    for parser, text, message in [
        (parse_outcomes, "lost", "--outcome 'lost': use one or more of delivered,failed,dropped,interrupted"),
        (parse_statuses, "5xx", "--status '5xx': '5xx' is not an HTTP status"),
        (parse_statuses, "99", "--status '99': '99' is not an HTTP status"),
        (parse_since, "yesterday", "--since 'yesterday' is not an ISO time"),
    ]:
        with pytest.raises(BadInput) as caught:
            parser(text)
        assert str(caught.value).startswith(message)


def test_a_request_whose_body_the_receiver_did_not_keep_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "listen.ndjson"
    small, big = b'{"n": 1}', b'{"pad": "' + b"x" * 100 + b'"}'
    records = write_listen_log(path, [("g-1", small), ("g-2", big)], script=(200,), max_body=64)
    assert [r.status for r in records if r.method == "POST"] == [200, 413]
    plan = prepare_replay(ReplaySettings(log=str(path), url="https://x.test/"), no_stdin)
    assert [p.notification.body for p in plan.planned] == [small]
    assert plan.problems == (f"{path}:3: the receiver did not record this request's whole body; skipped",)


def test_a_log_appended_to_by_a_later_run_tells_the_later_story(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    write_send_log(path, {"inbound/sms/mo": Outcome.FAILED})
    notification_line = path.read_text().splitlines()[0]
    with path.open("a") as log:  # an exact replay logged to the same file, killed before its outcome
        log.write(notification_line + "\n")
    plan = prepare_replay(ReplaySettings(log=str(path)), no_stdin)
    assert [(p.recorded.line, p.recorded.outcome) for p in plan.planned] == [(3, "interrupted")]


OTHER_URL = "https://other.example.test/wxc"


def two_url_log(path: Path) -> None:
    write_send_log(
        path,
        {"receipt/sms/delivered": Outcome.FAILED, "inbound/sms/mo": Outcome.FAILED, "receipt/sms/failed": None},
        urls={"inbound/sms/mo": OTHER_URL},
    )


def test_sending_run_runs_a_replay_one_url_after_another(tmp_path: Path) -> None:
    path, out = tmp_path / "send.ndjson", tmp_path / "replayed.ndjson"
    two_url_log(path)
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("x-wx-gtrid")))
        return httpx.Response(200)

    plan = prepare_replay(ReplaySettings(log=str(path), fast=True, log_path=str(out)), no_stdin)
    gtrid = {p.notification.target: p.notification.gtrid for p in plan.planned}
    result = run_send(plan, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    assert seen == [
        (URL, gtrid["receipt/sms/delivered"]),
        (URL, gtrid["receipt/sms/failed"]),
        (OTHER_URL, gtrid["inbound/sms/mo"]),
    ]
    assert result.all_delivered and result.summary.notifications == 3
    assert [(d.target, d.url) for d in result.deliveries] == [
        ("receipt/sms/delivered", URL),
        ("receipt/sms/failed", URL),
        ("inbound/sms/mo", OTHER_URL),
    ]
    written = [json.loads(line) for line in out.read_text().splitlines()]
    stories = [(r["type"], r["url"]) for r in written if r["type"] in ("notification", "attempt", "outcome")]
    assert [url for _, url in stories] == [URL] * 6 + [OTHER_URL] * 3  # the first group ends before the next
    kinds = ("notification", "attempt", "outcome")
    assert Counter(stories) == {**{(k, URL): 2 for k in kinds}, **{(k, OTHER_URL): 1 for k in kinds}}
    assert [r["type"] for r in written].count("summary") == 1


def test_an_interrupted_replay_counts_the_groups_it_never_reached(tmp_path: Path) -> None:
    path, out = tmp_path / "send.ndjson", tmp_path / "replayed.ndjson"
    two_url_log(path)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        os.kill(os.getpid(), signal.SIGTERM)  # as a stopped CI job would: run ends it like Ctrl-C
        return httpx.Response(503)

    plan = prepare_replay(ReplaySettings(log=str(path), fast=True, concurrency=1, log_path=str(out)), no_stdin)
    result = run_send(plan, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    assert result.interrupted
    assert OTHER_URL not in seen
    # The one sent ends interrupted, on record; the two never started are counted, not recorded.
    sent = len(result.deliveries)
    assert sent in (1, 2)  # the signal lands while the first attempt is in flight or just after it
    assert [(d.url, str(d.outcome)) for d in result.deliveries] == [(URL, "interrupted")] * sent
    assert (result.summary.notifications, result.summary.never_started) == (sent, 3 - sent)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r.get("url") != OTHER_URL for r in written)
    assert written[-1]["never_started"] == 3 - sent
    replayed_again = prepare_replay(ReplaySettings(log=str(out), filters=Filters(outcomes=("interrupted",))), no_stdin)
    assert len(replayed_again.planned) == sent


# Flat values, cheap to draw (a recursive strategy made the health check fail now and then on a busy
# machine), with the strings that once ended in a traceback: non-ASCII, beyond Latin-1, a lone surrogate.
TEXT = st.text(max_size=8) | st.sampled_from(["café", "€", "\ud800", "a\r\nb", " x", "g-1"])
SCALAR = st.none() | st.booleans() | st.integers() | TEXT
PAIRS = st.lists(st.tuples(TEXT, TEXT).map(list), max_size=3)
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=3), PAIRS, st.dictionaries(TEXT, TEXT, max_size=3))
FIELDS = st.sampled_from(["type", "gtrid", "headers", "body", "body_base64", "method", "status", "size", "time", "url"])
KINDS = st.sampled_from(["notification", "outcome", "request", "POST", "failed"])
RECORD = st.dictionaries(FIELDS, VALUE | KINDS, max_size=8)
NOTIFICATION = st.fixed_dictionaries({"type": st.just("notification"), "gtrid": TEXT, "headers": PAIRS, "body": TEXT})
REQUEST = st.fixed_dictionaries(
    {"type": st.just("request"), "method": st.just("POST"), "headers": PAIRS.map(dict), "body": TEXT},
    optional={"gtrid": TEXT, "status": st.just(200)},
)
LINE = st.one_of(st.binary(max_size=40), (RECORD | NOTIFICATION | REQUEST).map(lambda r: json.dumps(r).encode()))


# deadline=None: every example reads a log through a temporary file (stdin is spooled to disk), whose
# time on this shared machine varies far more than the parsing does.
@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINE, max_size=6), newline_at_end=st.booleans())
def test_any_file_is_read_or_refused_as_bad_input(lines: list[bytes], newline_at_end: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if newline_at_end else b"")
    settings = ReplaySettings(log="-", url="https://x.test/")
    try:
        plan = prepare_replay(settings, lambda: data)
    except BadInput as refused:
        assert "holds no notification to replay" in str(refused)
        return
    log = plan.log
    assert log.count >= 1
    numbers = [entry.line for entry in log.selected] + [problem.line for problem in log.problems]
    assert len(numbers) == len(set(numbers))  # each line counted once: replayed, folded into a story, or reported
    event(f"{len(plan.planned)} replayed, {len(log.problems)} skipped")
    planned = plan.planned  # every selected line is rebuilt and can go on the wire
    assert [p.recorded.line for p in planned] == [entry.line for entry in log.selected]
    assert plan.late == []
    for item in planned:
        for name, value in item.notification.headers:
            assert header_problem(name, value) is None
            name.encode("ascii"), value.encode("latin-1")  # what delivery sends


def test_the_log_is_read_as_it_is_sent_not_before(tmp_path: Path) -> None:
    """A replay streams its log: when the first notification goes out, the reader is a few lines in.

    The receiver cuts the log to nothing at the first request: a replay that had read the whole log
    (or built every notification) before sending would still send them all. A streaming one sends
    what it had read, and reports every other line as gone, counted, none lost.
    """
    path, lines = tmp_path / "send.ndjson", 2000
    settings = SendSettings(url=URL, targets=(), secret=SECRET)
    body = catalogue.render("receipt/sms/delivered", seed=1)
    with NdjsonLog(path) as log:
        story = SendLog(log, URL)
        for _ in range(lines):
            story.notification(make_notification("receipt/sms/delivered", body, settings))
    cut: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if not cut:
            cut.append(path.stat().st_size)
            path.write_bytes(b"")
        return httpx.Response(200)

    plan = prepare_replay(ReplaySettings(log=str(path), fast=True, concurrency=1), no_stdin)
    assert plan.total == lines
    result = run_send(plan, client=httpx.AsyncClient(transport=httpx.MockTransport(handler)), keep=False)
    sent = result.summary.notifications
    assert 1 <= sent < 50  # what the reader had buffered when the first request went out
    assert [problem.line for problem in plan.late] == list(range(sent + 1, lines + 1))
    whys = Counter(problem.why for problem in plan.late)
    assert whys["the line changed while the replay ran"] <= 1  # the one the cut tore in the reader's buffer
    assert whys["the line is gone: the log was cut while the replay ran"] >= lines - sent - 1


def test_a_send_log_line_with_a_lone_surrogate_is_sent_from_its_raw_form_or_skipped(tmp_path: Path) -> None:
    path = tmp_path / "send.ndjson"
    write_send_log(path, {"inbound/sms/mo": Outcome.FAILED})
    record = json.loads(path.read_text().splitlines()[0])
    raw = b'{"text": "\xed\xa0\x80"}'  # not UTF-8: what a log keeps as body_base64
    lines = [
        json.dumps({**record, "gtrid": "g-lone", "body": "\ud800"}),
        json.dumps({**record, "gtrid": "g-raw", "body": "\ud800", "body_base64": base64.b64encode(raw).decode()}),
        json.dumps({"type": "other", "body": "\ud800"}),  # not ours, whatever its body
    ]
    with path.open("a") as log:
        log.write("".join(line + "\n" for line in lines))
    plan = prepare_replay(ReplaySettings(log=str(path)), no_stdin)
    assert [(p.recorded.line, p.notification.gtrid) for p in plan.planned] == [(1, record["gtrid"]), (4, "g-raw")]
    assert plan.planned[1].notification.body == raw
    assert plan.problems == (
        f"{path}:3: its body holds a lone surrogate ('\\ud800'), which stands for no bytes: "
        "give the exact bytes as body_base64; skipped",
        f"{path}:5: not a record of 'send --log' or 'listen --log'; skipped",
    )
