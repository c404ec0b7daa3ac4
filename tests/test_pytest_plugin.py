"""The pytest plugin, tested the way pytest plugins are: pytester runs user-like test files.

The inner runs are as strict as this project's own (warnings are errors, strict markers and
config) and load the plugin only through its ``pytest11`` entry point, as a user's pytest does.
"""

from __future__ import annotations

import textwrap

import pytest

# The inner runs keep their file order (-p no:randomly): the expected output lists their failures in order.
STRICT_INI = """\
[pytest]
addopts = --strict-markers --strict-config -p no:cacheprovider -p no:hypothesispytest -p no:randomly
filterwarnings = error
"""

# Receivers as their authors write them: HEAD answers 200 (Webex Connect's test call when the
# URL is saved); a POST is verified with connect_hooks.verify (401 when it fails), kept, and
# answered with the next status of the script (the last one repeats). ``reserialize`` makes the
# classic mistake: verifying json.dumps(json.loads(body)) instead of the bytes received.
FRAMEWORK_RECEIVERS = """
import json

import pytest
from fastapi import FastAPI, Request, Response
from flask import Flask, request as flask_request

from connect_hooks import verify

SECRET = "conftest-secret"


def signed_bytes(body, reserialize):
    if reserialize:
        return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    return body


def fastapi_receiver(*statuses, reserialize=False):
    app = FastAPI()
    accepted = []

    @app.head("/webhooks/connect")
    async def saved() -> Response:
        return Response(status_code=200)

    @app.post("/webhooks/connect")
    async def receive(request: Request) -> Response:
        body = await request.body()
        if not verify(signed_bytes(body, reserialize), request.headers.get("x-hub-signature"), SECRET):
            return Response(status_code=401)
        accepted.append(json.loads(body))
        return Response(status_code=statuses[min(len(accepted), len(statuses)) - 1])

    return app, accepted


def flask_receiver(*statuses, reserialize=False):
    app = Flask(__name__)
    accepted = []

    @app.route("/webhooks/connect", methods=["HEAD", "POST"])
    def receive():
        if flask_request.method == "HEAD":
            return ""
        body = flask_request.get_data()
        if not verify(signed_bytes(body, reserialize), flask_request.headers.get("x-hub-signature"), SECRET):
            return "", 401
        accepted.append(json.loads(body))
        return "", statuses[min(len(accepted), len(statuses)) - 1]

    return app, accepted


@pytest.fixture(params=[fastapi_receiver, flask_receiver], ids=["fastapi", "flask"])
def receiver(request):
    return request.param
"""

CONFTEST_SECRET = """
import pytest

@pytest.fixture
def webex_connect_secret():
    return "conftest-secret"
"""


def test_fastapi_and_flask_receivers_get_deliveries_retries_with_no_real_waiting_and_conform(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makeconftest(CONFTEST_SECRET)
    pytester.makepyfile(
        test_receivers=FRAMEWORK_RECEIVERS
        + """
import asyncio


def test_a_verifying_receiver_gets_the_signed_receipt(webex_connect, receiver):
    app, accepted = receiver(200)
    delivery = webex_connect.send("receipt/sms/delivered", app=app, path="/webhooks/connect")
    assert delivery.outcome == "delivered"
    assert [a.status for a in delivery.attempts] == [200]
    assert accepted[0]["deliveryInfoNotification"]["deliveryInfo"]["deliveryStatus"] == "Delivered"
    assert webex_connect.deliveries == [delivery]


def test_503_twice_then_200_is_three_attempts_at_t0_t60_t120(webex_connect, receiver, monkeypatch):
    real_sleep = asyncio.sleep

    async def no_long_sleep(seconds, *args, **kwargs):
        assert seconds < 1, f"really waited {seconds} s"
        return await real_sleep(seconds, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", no_long_sleep)
    app, accepted = receiver(503, 503, 200)
    delivery = webex_connect.send({"transid": "t-1"}, app=app, path="/webhooks/connect")
    assert [a.status for a in delivery.attempts] == [503, 503, 200]
    assert [a.decision for a in delivery.attempts] == ["retry", "retry", "delivered"]
    assert [a.scheduled_at for a in delivery.attempts] == pytest.approx([0, 60, 120], abs=1)
    assert {a.gtrid for a in delivery.attempts} == {delivery.gtrid}
    assert accepted == [{"transid": "t-1"}] * 3


def test_a_receiver_that_verifies_the_bytes_it_got_passes_conform(webex_connect, receiver):
    app, _ = receiver(200)
    result = webex_connect.conform(app=app, path="/webhooks/connect")
    assert result.ok, str(result)
    assert {"url-head-200", "raw-bytes", "rejects-unsigned", "duplicate-delivery"} <= {c.id for c in result.checks}


def test_a_receiver_that_re_serializes_fails_conform_on_raw_bytes(webex_connect, receiver):
    app, _ = receiver(200, reserialize=True)
    result = webex_connect.conform(app=app, path="/webhooks/connect")
    assert result.failed == ["raw-bytes"]
    assert "verify the raw bytes received" in str(result)
    assert webex_connect.conform_results == [result]
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=8)


def test_django_receivers_wsgi_and_asgi_get_deliveries_and_retries(pytester: pytest.Pytester) -> None:
    # Django is configured once per process: this run gets its own.
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(
        test_django_receiver="""
import json

import django
import pytest
from django.conf import settings

settings.configure(
    ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"], SECRET_KEY="not-the-hub-secret", USE_TZ=True
)
django.setup()

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from connect_hooks import verify

SECRET = "django-secret"
accepted = []
script = []


@csrf_exempt
def receive(request):
    if request.method == "HEAD":
        return HttpResponse()
    if not verify(request.body, request.headers.get("x-hub-signature"), SECRET):
        return HttpResponse(status=401)
    accepted.append(json.loads(request.body))
    return HttpResponse(status=script.pop(0) if script else 200)


@csrf_exempt
def receive_reserialized(request):
    if request.method == "HEAD":
        return HttpResponse()
    again = json.dumps(json.loads(request.body), separators=(",", ":"), ensure_ascii=False).encode()
    return HttpResponse(status=200 if verify(again, request.headers.get("x-hub-signature"), SECRET) else 401)


urlpatterns = [path("webhooks/connect", receive), path("webhooks/reserialized", receive_reserialized)]


@pytest.fixture(params=[get_wsgi_application, get_asgi_application], ids=["wsgi", "asgi"])
def app(request):
    accepted.clear()
    return request.param()


@pytest.mark.webex_connect(secret=SECRET)
def test_a_verifying_receiver_gets_the_signed_receipt(webex_connect, app):
    delivery = webex_connect.send("receipt/whatsapp/read", app=app, path="/webhooks/connect")
    assert (delivery.outcome, [a.status for a in delivery.attempts]) == ("delivered", [200])
    assert accepted[0]["deliveryInfoNotification"]["deliveryInfo"]["deliveryStatus"] == "Read"


@pytest.mark.webex_connect(secret=SECRET)
def test_503_twice_then_200_is_three_attempts_at_t0_t60_t120(webex_connect, app):
    script[:] = [503, 503, 200]
    delivery = webex_connect.send({"n": 1}, app=app, path="/webhooks/connect")
    assert [(a.status, a.decision) for a in delivery.attempts] == [(503, "retry"), (503, "retry"), (200, "delivered")]
    assert [a.scheduled_at for a in delivery.attempts] == pytest.approx([0, 60, 120], abs=1)
    assert len(accepted) == 3


def test_unsigned_is_refused(webex_connect, app):
    delivery = webex_connect.send({"n": 1}, app=app, path="/webhooks/connect", retries=0)
    assert [a.status for a in delivery.attempts] == [401]
    assert accepted == []


@pytest.mark.webex_connect(secret=SECRET)
def test_conform_passes_the_receiver_and_fails_the_re_serializing_one_on_raw_bytes(webex_connect, app):
    good = webex_connect.conform(app=app, path="/webhooks/connect")
    assert good.ok, str(good)
    bad = webex_connect.conform(app=app, path="/webhooks/reserialized")
    assert bad.failed == ["raw-bytes"]
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=8)


def test_failures_show_the_outcome_every_attempt_and_the_conform_verdict(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makeconftest(CONFTEST_SECRET)
    pytester.makepyfile(
        test_story=FRAMEWORK_RECEIVERS
        + """

def test_delivered(webex_connect):
    app, _ = fastapi_receiver(503, 503, 503, 404)
    delivery = webex_connect.send("receipt/sms/delivered", app=app, path="/webhooks/connect")
    assert delivery.outcome == "delivered"


def test_conform(webex_connect):
    app, _ = flask_receiver(200, reserialize=True)
    assert webex_connect.conform(app=app, path="/webhooks/connect").ok
"""
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    story = (
        "Delivery(failed: receipt/sms/delivered to https://testserver/webhooks/connect; "
        "#1 T+0s 503 -> retry, #2 T+60*s 503 -> retry, #3 T+120*s 503 -> retry, #4 T+180*s 404 -> failed)"
    )
    result.stdout.fnmatch_lines(
        [
            "E       AssertionError: assert <Outcome.FAILED: 'failed'> == 'delivered'",
            "E         webex_connect.deliveries in this test:",
            f"E           {story}",
            "*- webex_connect -*",
            story,
            "E       AssertionError: assert False",
            "E        +  where False = ConformResult(does not hold up: * passed, 1 failed, * skipped; failed: raw-bytes).ok",
            "*- webex_connect -*",
            "conform https://testserver/webhooks/connect: does not hold up (*)",
            "FAIL raw-bytes: * verify the raw bytes received, never a re-serialized body",
        ]
    )


RECORDING_TEST = '''
import pytest

from connect_hooks import sign


class Recorder:
    """A bare ASGI receiver that keeps each request's headers and answers 200."""

    def __init__(self):
        self.headers = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        self.headers.append({{k.decode(): v.decode() for k, v in scope["headers"]}})
        await send({{"type": "http.response.start", "status": 200, "headers": []}})
        await send({{"type": "http.response.body", "body": b""}})


{marker}
def test_signs_with_the_expected_secret(webex_connect):
    app = Recorder()
    delivery = webex_connect.send({{"a": 1}}, app=app{call})
    expected = {expected!r}
    assert app.headers[0].get("x-hub-signature") == (sign(b'{{"a":1}}', expected) if expected else None)
    assert delivery.algorithm == ("sha256" if expected else None)
'''


@pytest.mark.parametrize(
    ("ini", "option", "conftest", "marker", "call", "expected"),
    [
        (None, None, False, None, None, None),
        ("from-ini", None, False, None, None, "from-ini"),
        ("from-ini", "from-option", False, None, None, "from-option"),
        ("from-ini", "from-option", True, None, None, "conftest-secret"),
        (None, "from-option", True, "from-marker", None, "from-marker"),
        (None, None, False, "from-marker", "from-call", "from-call"),
        ("from-ini", None, False, None, "None", None),
    ],
    ids=[
        "none-unsigned",
        "ini",
        "option-beats-ini",
        "conftest-fixture-beats-option",
        "marker-beats-fixture",
        "call-beats-marker",
        "call-None-unsigned",
    ],
)
def test_the_secret_comes_from_call_marker_fixture_option_ini_in_that_order(
    pytester: pytest.Pytester,
    ini: str | None,
    option: str | None,
    conftest: bool,
    marker: str | None,
    call: str | None,
    expected: str | None,
) -> None:
    pytester.makeini(STRICT_INI + (f"webex_connect_secret = {ini}\n" if ini else ""))
    if conftest:
        pytester.makeconftest(CONFTEST_SECRET)
    call_text = "" if call is None else (", secret=None" if call == "None" else f", secret={call!r}")
    pytester.makepyfile(
        test_secret=RECORDING_TEST.format(
            marker=f"@pytest.mark.webex_connect(secret={marker!r})" if marker else "",
            call=call_text,
            expected=expected,
        )
    )
    result = pytester.runpytest(*([f"--webex-connect-secret={option}"] if option else []))
    result.assert_outcomes(passed=1)


def test_a_marker_sets_the_policy_and_a_wrong_marker_is_one_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(
        test_marker=textwrap.dedent(
            """
            import pytest


            async def unavailable(scope, receive, send):
                if scope["type"] == "http":
                    await send({"type": "http.response.start", "status": 503, "headers": []})
                    await send({"type": "http.response.body", "body": b""})


            @pytest.mark.webex_connect(schedule="backoff", retries=2)
            def test_backoff(webex_connect):
                delivery = webex_connect.send({"a": 1}, app=unavailable)
                assert [a.scheduled_at for a in delivery.attempts] == pytest.approx([0, 30, 90], abs=1)
                assert delivery.outcome == "dropped"


            @pytest.mark.webex_connect(secrt="typo")
            def test_typo(webex_connect):
                pass


            @pytest.mark.webex_connect(schedule="often")
            def test_bad_value(webex_connect):
                pass
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_typo _*",
            "@pytest.mark.webex_connect does not take 'secrt': give secret, algorithm, schedule, retries or timeout",
            "*_ ERROR at setup of test_bad_value _*",
            "webex_connect: unknown schedule 'often': use backoff or fixed",
        ]
    )


def test_the_closest_marker_wins_function_over_class_over_module(pytester: pytest.Pytester) -> None:
    """Markers at three levels with different values: each setting comes from the closest level giving it."""
    pytester.makeini(STRICT_INI)
    pytester.makepyfile(
        test_levels=textwrap.dedent(
            """
            import pytest

            from connect_hooks import sign

            pytestmark = pytest.mark.webex_connect(secret="module", retries=4, schedule="fixed")


            class Unavailable:
                def __init__(self):
                    self.signatures = []

                async def __call__(self, scope, receive, send):
                    if scope["type"] != "http":
                        return
                    self.signatures.append(dict(scope["headers"]).get(b"x-hub-signature", b"").decode())
                    await send({"type": "http.response.start", "status": 503, "headers": []})
                    await send({"type": "http.response.body", "body": b""})


            def story(webex_connect):
                app = Unavailable()
                delivery = webex_connect.send({"a": 1}, app=app)
                secrets = {s for s in ("module", "class", "function") if app.signatures[0] == sign(b'{"a":1}', s)}
                return len(delivery.attempts), secrets


            def test_module_level(webex_connect):
                assert story(webex_connect) == (5, {"module"})


            @pytest.mark.webex_connect(secret="class", retries=2)
            class TestClassLevel:
                def test_class_level(self, webex_connect):
                    assert story(webex_connect) == (3, {"class"})

                @pytest.mark.webex_connect(retries=0)
                def test_function_level(self, webex_connect):
                    assert story(webex_connect) == (1, {"class"})

                @pytest.mark.webex_connect(secret="function")
                def test_function_secret(self, webex_connect):
                    assert story(webex_connect) == (3, {"function"})
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=4)


def test_the_secret_appears_nowhere_in_the_output_of_failing_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini(STRICT_INI + "webex_connect_secret = never-print-me-42\n")
    pytester.makepyfile(
        test_leak=textwrap.dedent(
            """
            async def refuses(scope, receive, send):
                if scope["type"] == "http":
                    await send({"type": "http.response.start", "status": 401, "headers": []})
                    await send({"type": "http.response.body", "body": b""})


            def test_send(webex_connect):
                delivery = webex_connect.send("receipt/sms/delivered", app=refuses, retries=1)
                assert delivery.outcome == "delivered", delivery


            def test_conform(webex_connect):
                result = webex_connect.conform(app=refuses, only=["accepts", "rejects"])
                assert result.ok, str(result)
            """
        )
    )
    result = pytester.runpytest("-vv", "--showlocals", "-rA")
    result.assert_outcomes(failed=2)
    assert "Delivery(dropped: receipt/sms/delivered" in result.stdout.str()  # the failures were shown in full
    assert "never-print-me-42" not in result.stdout.str() + result.stderr.str()
