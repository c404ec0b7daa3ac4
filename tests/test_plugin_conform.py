"""``webex_connect.conform`` for people: each verdict printed once, reproduce lines a test can run,
``.checks`` as documented."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from connect_hooks.conform.conformance import CheckResult
from connect_hooks.testing.webex_connect import Defaults, WebexConnect

SECRET = "plugin-conform-secret"


class Recorder:
    """An ASGI receiver that keeps every POST's body and signature; 500 for a body with ``newField``,
    200 for anything else (so the rejects-* checks fail, and unknown-fields)."""

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, str | None]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        headers = dict(scope["headers"])
        if scope["method"] == "POST":
            signature = headers.get(b"x-hub-signature")
            self.seen.append((body, None if signature is None else signature.decode()))
        status = 500 if b"newField" in body else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


ONLY = ["accepts/receipt/sms/delivered", "rejects", "unknown-fields", "raw-bytes"]


def test_reproduce_lines_for_an_app_in_process_are_send_calls_that_send_the_same_bytes_again() -> None:
    app = Recorder()
    webex_connect = WebexConnect(Defaults(secret=SECRET))
    result = webex_connect.conform(app=app, path="/hooks", only=ONLY)
    assert result.failed == [
        "rejects-unsigned",
        "rejects-wrong-secret",
        "rejects-tampered-body",
        "rejects-bad-signature-format",
        "unknown-fields",
    ]
    sent = set(app.seen)
    calls = {c.id: c.reproduce for c in result.checks}
    # a pipe, a -H header or a printf has no send() call: no line rather than one that cannot run
    assert [check_id for check_id, call in calls.items() if call is None] == [
        "rejects-tampered-body",
        "rejects-bad-signature-format",
        "raw-bytes",
    ]
    for check_id, call in calls.items():
        if call is None:
            continue
        assert call.startswith("webex_connect.send(") and "testserver" not in call
        app.seen.clear()
        eval(call, {"webex_connect": webex_connect, "app": app})  # the line as a user pastes it in the test
        assert len(app.seen) == 1 and app.seen[0] in sent, check_id  # the same bytes, the same signature
    assert "secret=None" in (calls["rejects-unsigned"] or "")
    assert "reproduce: webex_connect.send(" in str(result)
    explicit = webex_connect.conform(app=app, path="/hooks", only="accepts/receipt/sms/delivered", secret=SECRET)
    (check,) = explicit.checks
    assert check.reproduce is not None and check.reproduce.endswith(", secret=<the secret given to conform>)")


def test_checks_are_check_results_whose_as_dict_is_the_json_record() -> None:
    result = WebexConnect(Defaults(secret=SECRET)).conform(app=Recorder(), only="unknown-fields")
    (check,) = result.checks
    assert isinstance(check, CheckResult)
    assert result.as_dict()["checks"] == [check.as_dict()]
    record = json.loads(json.dumps(check.as_dict()))
    assert record == {key: getattr(check, key) if key != "duration_ms" else record[key] for key in record}


def test_without_a_secret_the_verdict_says_signatures_were_not_checked() -> None:
    result = WebexConnect().conform(app=Recorder(), only="accepts/receipt/sms/delivered")
    assert result.ok
    assert str(result).splitlines()[1] == (
        "signatures were not checked: no hub secret was given "
        "(give secret=, @pytest.mark.webex_connect(secret=...) or the webex_connect_secret fixture)"
    )
    assert "not checked" not in str(WebexConnect(Defaults(secret=SECRET)).conform(app=Recorder(), only="url"))


STRICT_INI = """\
[pytest]
addopts = --strict-markers --strict-config -p no:cacheprovider -p no:hypothesispytest -p no:randomly
filterwarnings = error
"""


def test_a_conform_failure_is_printed_once(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(
        test_once=textwrap.dedent(
            """
            import pytest


            async def refuses(scope, receive, send):
                if scope["type"] == "http":
                    status = 200 if scope["method"] == "HEAD" else 401
                    await send({"type": "http.response.start", "status": status, "headers": []})
                    await send({"type": "http.response.body", "body": b""})


            @pytest.mark.webex_connect(secret="s3cret")
            def test_with_the_verdict_as_message(webex_connect):
                result = webex_connect.conform(app=refuses, only=["accepts/receipt/sms", "unknown-fields"])
                assert result.ok, str(result)


            @pytest.mark.webex_connect(secret="s3cret")
            def test_without_a_message(webex_connect):
                assert webex_connect.conform(app=refuses, only=["accepts/receipt/sms", "unknown-fields"]).ok
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    # the failures as reported (the short summary after them repeats an assertion's message in full on CI)
    out = result.stdout.str().split("short test summary info")[0]
    assert out.count("FAIL 12 checks: answered 401: Webex Connect retries 3 times") == 2  # once per test
    assert out.count("checks: accepts/* (all 11: receipt 11), unknown-fields") == 2
    result.stdout.fnmatch_lines(["ConformResult(does not hold up: *): its verdict is shown above"])
