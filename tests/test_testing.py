"""WebexConnect (what the webex_connect fixture hands out), used directly: targets, settings, app or url."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_hooks import signing
from connect_hooks.catalogue import samples as catalogue
from connect_hooks.errors import BadInput
from connect_hooks.testing.webex_connect import Defaults, WebexConnect, body_of
from tests.conftest import LocalCA

from .servers import ScriptedServer


class Recorder:
    """A bare ASGI app: records each request's path, headers and body; answers from a script (last repeats)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = statuses or (200,)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.requests.append((scope["path"], headers, body))
        status = self.statuses[min(len(self.requests), len(self.statuses)) - 1]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_a_sample_is_rendered_fresh_signed_and_posted_at_the_path() -> None:
    app = Recorder()
    connect = WebexConnect(Defaults(secret="s3cret"))
    delivery = connect.send("receipt/sms/delivered", app=app, path="/webhooks/connect")
    ((path, headers, body),) = app.requests
    assert path == "/webhooks/connect"
    assert json.loads(body)["deliveryInfoNotification"]["deliveryInfo"]["deliveryStatus"] == "Delivered"
    assert signing.verify(body, headers["x-hub-signature"], "s3cret")
    assert headers["x-hub-signature"].startswith("sha256=")
    assert headers["x-wx-gtrid"] == delivery.gtrid
    assert (delivery.url, delivery.target, delivery.algorithm) == (
        "https://testserver/webhooks/connect",
        "receipt/sms/delivered",
        "sha256",
    )
    assert connect.deliveries == [delivery]


def test_set_and_seed_work_as_on_the_command_line() -> None:
    app = Recorder()
    WebexConnect().send(
        "receipt/sms/delivered",
        app=app,
        seed=7,
        set={"deliveryInfoNotification.callbackData": "order-42", "deliveryInfoNotification.deliveryInfo.code": 7001},
    )
    body = app.requests[0][2]
    expected = catalogue.render(
        "receipt/sms/delivered",
        seed=7,
        sets=("deliveryInfoNotification.callbackData=order-42", "deliveryInfoNotification.deliveryInfo.code:=7001"),
    )
    assert body == expected
    assert json.loads(body)["deliveryInfoNotification"]["deliveryInfo"]["code"] == 7001


@pytest.mark.parametrize(
    ("target", "sent", "name"),
    [
        ({"b": [1, 2], "a": "é"}, '{"b":[1,2],"a":"é"}'.encode(), "<dict>"),
        (b'{ "kept" :  "as is" }', b'{ "kept" :  "as is" }', "<bytes>"),
        ('  {"text": 1}', b'  {"text": 1}', "<str>"),
    ],
    ids=["dict-compact", "bytes-exact", "str-exact"],
)
def test_json_targets_are_sent_as_given_or_compact(target: Any, sent: bytes, name: str) -> None:
    app = Recorder()
    delivery = WebexConnect().send(target, app=app)
    assert app.requests[0][2] == sent
    assert delivery.target == name


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        ("receipt/sms/delivred", {}, "no sample named 'receipt/sms/delivred': did you mean receipt/sms/delivered"),
        ("receipt/sms/*", {}, "send delivers one notification: give one sample name, not the glob 'receipt/sms/*'"),
        (b"{not json", {}, "the bytes is not valid JSON"),
        ({"a": 1}, {"set": {"a": 2}}, "set= changes samples only"),
        ({"a": {1, 2}}, {}, "the dict is not JSON"),
        (3.5, {}, "cannot send a float"),
        ({"a": 1}, {"secret": ""}, "the hub secret is empty"),
        ({"a": 1}, {"algorithm": "sha1"}, "unknown algorithm 'sha1'"),
        ({"a": 1}, {"schedule": "often"}, "unknown schedule 'often'"),
        ({"a": 1}, {"retries": -1}, "retries=-1"),
        ({"a": 1}, {"timeout": 0}, "timeout=0"),
        ({"a": 1}, {"path": "hooks"}, "path='hooks' must start with '/'"),
    ],
)
def test_bad_input_is_one_clear_line_and_sends_nothing(target: Any, kwargs: dict[str, Any], message: str) -> None:
    app = Recorder()
    connect = WebexConnect()
    with pytest.raises(BadInput, match="^" + re.escape(message)) as caught:
        connect.send(target, app=app, **kwargs)
    assert "\n" not in str(caught.value)
    assert (app.requests, connect.deliveries) == ([], [])


@pytest.mark.parametrize("kwargs", [{}, {"app": Recorder(), "url": "http://127.0.0.1:9/"}], ids=["neither", "both"])
def test_exactly_one_of_app_or_url(kwargs: dict[str, Any]) -> None:
    with pytest.raises(BadInput, match=r"^give exactly one of app= .* or url="):
        WebexConnect().send({"a": 1}, **kwargs)


def test_call_arguments_beat_the_defaults_and_secret_none_sends_unsigned() -> None:
    app = Recorder(503)
    connect = WebexConnect(Defaults(secret="default", algorithm="sha512", schedule="backoff", retries=1))
    first = connect.send({"a": 1}, app=app)
    second = connect.send({"a": 1}, app=app, secret="override", algorithm="sha256", schedule="fixed", retries=2)
    third = connect.send({"a": 1}, app=app, secret=None)
    signatures = [headers.get("x-hub-signature") for _, headers, _ in app.requests]
    assert signatures[0] == signing.sign(b'{"a":1}', "default", "sha512")
    assert signatures[2] == signing.sign(b'{"a":1}', "override", "sha256")
    assert signatures[5:] == [None] * 2
    assert [a.wait for a in first.attempts] == [30.0, None]  # backoff's first wait, one retry
    assert [a.wait for a in second.attempts] == [60.0, 60.0, None]
    assert (first.algorithm, second.algorithm, third.algorithm) == ("sha512", "sha256", None)
    assert connect.deliveries == [first, second, third]


def test_url_delivers_to_a_live_server_with_the_retry_story_and_no_waiting() -> None:
    with ScriptedServer(script=[503, 200]) as server:
        delivery = WebexConnect(Defaults(secret="s3cret")).send({"x": 1}, url=server.url)
    assert [a.status for a in delivery.attempts] == [503, 200]
    assert delivery.attempts[1].scheduled_at == pytest.approx(60, abs=1)
    (first, second) = server.posts
    assert first.body == second.body == b'{"x":1}'
    assert signing.verify(second.body, second.headers["x-hub-signature"], "s3cret")


def test_https_to_a_live_server_verifies_tls_and_ca_bundle_trusts_a_local_ca(test_ca: LocalCA) -> None:
    connect = WebexConnect()
    with ScriptedServer(tls=test_ca.server_context()) as server:
        untrusted = connect.send({"x": 1}, url=server.url, retries=0)
        trusted = connect.send({"x": 1}, url=server.url, retries=0, ca_bundle=test_ca.ca_path)
        report = connect.conform(url=server.url, only="url-tls", ca_bundle=test_ca.ca_path)
    assert (untrusted.attempts[0].fault, untrusted.outcome) == ("tls-error", "dropped")
    assert (trusted.attempts[0].status, trusted.outcome) == (200, "delivered")
    assert [(c.id, c.status) for c in report.checks] == [("url-tls", "pass")]
    with pytest.raises(BadInput, match=r"^ca_bundle= goes with url="):
        connect.send({"x": 1}, app=Recorder(), ca_bundle=test_ca.ca_path)


def test_path_goes_with_app_only() -> None:
    with pytest.raises(BadInput, match=r"^path= goes with app="):
        WebexConnect().send({"a": 1}, url="http://127.0.0.1:9/hooks", path="/hooks")


def test_send_and_conform_in_a_running_loop_point_to_asend_and_aconform_which_work_there() -> None:
    app = Recorder()
    connect = WebexConnect()

    async def in_an_async_test() -> None:
        with pytest.raises(BadInput, match=r"await webex_connect\.asend"):
            connect.send({"a": 1}, app=app)
        with pytest.raises(BadInput, match=r"await webex_connect\.aconform"):
            connect.conform(app=app)
        with pytest.raises(BadInput, match=r"await webex_connect\.afuzz"):
            connect.fuzz(app=app)
        delivery = await connect.asend({"a": 1}, app=app)
        assert delivery.outcome == "delivered"
        result = await connect.aconform(app=app, only="raw-bytes")
        assert result.failed == []

    asyncio.run(in_an_async_test())
    assert len(app.requests) == 1 + 10  # raw-bytes sends 5 bodies and their 5 compact controls


def test_defaults_refuse_unknown_settings_and_keep_the_secret_out_of_their_repr() -> None:
    with pytest.raises(BadInput, match=r"^unknown setting 'secrt'"):
        Defaults().replace(secrt="x")
    assert "hunter2" not in repr(Defaults(secret="hunter2"))


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_conform_judges_an_app_that_crashes_as_a_500_and_logs_the_crash(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Both crash on a signature that is not hex (ValueError) instead of refusing it with 401.
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        bytes.fromhex(dict(scope["headers"])[b"x-hub-signature"].decode().partition("=")[2])
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        bytes.fromhex(environ["HTTP_X_HUB_SIGNATURE"].partition("=")[2])
        start_response("401 Unauthorized", [])
        return [b""]

    connect = WebexConnect(Defaults(secret="s3cret"))
    result = connect.conform(app=asgi if kind == "asgi" else wsgi, only="rejects-bad-signature-format")
    assert result.warned == ["rejects-bad-signature-format"]
    assert "refused with 500" in result.checks[0].message
    (crash,) = [r for r in caplog.records if r.name == "connect_hooks.testing.inprocess"]
    assert crash.exc_info is not None and crash.exc_info[0] is ValueError
    assert crash.getMessage() == "the app raised instead of answering POST /: answered 500, as a server would"
    assert connect.conform_results == [result]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(document=st.dictionaries(st.text(), JSON_VALUES, max_size=5))
def test_any_dict_is_sent_as_compact_json_of_itself(document: dict[str, Any]) -> None:
    name, body = body_of(document)
    assert name == "<dict>"
    assert json.loads(body) == document
    assert body == catalogue.compact(document)


# pytester's in-process runs (and any tool that snapshots and restores sys.modules) drop every module
# a run imported, while the connect_hooks package, imported before by the pytest11 entry point, keeps
# them as attributes. A later run then mixed stale modules (old httpx) with fresh ones (new httpx):
# TypeError: Invalid "auth" argument: UseClientDefault. Run in a child process: sys.modules stays intact here.
TWO_GENERATIONS = """
import json, sys

import connect_hooks.testing.pytest_plugin  # what pytest's entry point loads before any test runs

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})

saved = dict(sys.modules)
outcomes = []
for generation in range(2):
    from connect_hooks.testing.webex_connect import Defaults, WebexConnect

    connect = WebexConnect(Defaults(secret="s3cret", retries=0))
    outcomes.append(str(connect.send({"a": 1}, app=app).outcome))
    outcomes.append(str(connect.conform(app=app, only="url-head-200").ok))
    sys.modules.clear()
    sys.modules.update(saved)  # as pytester does after each in-process run
print(json.dumps(outcomes))
"""


def test_a_second_import_generation_of_the_engine_does_not_mix_with_the_first() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", TWO_GENERATIONS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == ["delivered", "True", "delivered", "True"]
