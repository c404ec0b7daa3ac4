"""The public API: every name users program against, imported from ``connect_hooks`` alone.

The names are checked three ways: they resolve (lazily, and to the object their module holds),
they type-check (mypy strict on a user's script), and they work end to end against a real
receiver on 127.0.0.1. ``import connect_hooks`` alone stays as light as before.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import hmac
import importlib
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import connect_hooks
from tests.servers import ScriptedServer, Stall

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret"
SAMPLE = "receipt/sms/delivered"

# What Webex Connect documents (shared/reference): one attempt, then three retries 60 s apart; 200 delivers.
WAITS = (60.0, 60.0, 60.0)


def hub_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- the names --------------------------------------------------------------------------------


def type_checking_names() -> set[str]:
    """The names ``connect_hooks/__init__.py`` imports for type checkers (its TYPE_CHECKING block)."""
    tree = ast.parse((ROOT / "connect_hooks" / "__init__.py").read_text())
    (block,) = [n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"]
    return {
        alias.asname or alias.name for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }


def test_all_the_export_table_and_the_type_checkers_imports_agree() -> None:
    exports = connect_hooks._EXPORTS
    assert sorted(connect_hooks.__all__) == sorted({"__version__", *exports})
    assert len(connect_hooks.__all__) == len(set(connect_hooks.__all__))
    assert type_checking_names() == set(exports)


@pytest.mark.parametrize("name", sorted(connect_hooks._EXPORTS))
def test_every_public_name_is_the_object_its_module_holds(name: str) -> None:
    module, attribute = connect_hooks._EXPORTS[name]
    assert getattr(connect_hooks, name) is getattr(importlib.import_module(module), attribute)
    assert name in dir(connect_hooks)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'scheduler_internals'"):
        connect_hooks.scheduler_internals  # noqa: B018


IMPORTS_ALONE = """
import json, sys
import connect_hooks
loaded = sorted(sys.modules)
print(json.dumps({
    "heavy": sorted({m.split(".")[0] for m in loaded} & {"httpx", "rich", "click", "uvicorn", "asyncio", "hashlib"}),
    "ours": [m for m in loaded if m.startswith("connect_hooks")],
    "dataclasses": "dataclasses" in sys.modules,
}))
"""


def test_import_connect_hooks_alone_imports_no_subpackage_and_nothing_heavy() -> None:
    done = subprocess.run([sys.executable, "-c", IMPORTS_ALONE], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {"heavy": [], "ours": ["connect_hooks"], "dataclasses": False}


# -- typed ------------------------------------------------------------------------------------

USER_SCRIPT = """
from __future__ import annotations

import httpx

import connect_hooks
from connect_hooks import (
    FAST, Attempt, BadInput, CheckResult, Clock, ConformReport, ConformSettings, ConnectHooksError, Decision,
    Delivery, Fault, Interrupted, Listener, ListenSettings, Notification, Outcome, Policy, Received, ReceiverApp,
    ReceiverSettings, Script, Summary, WebexConnect, adeliver, build_notification, deliver, render_sample,
    run_conformance, sample_names, sign, summarize, verify,
)


def build(secret: str) -> Notification:
    name: str = sample_names()[0]
    body: bytes = render_sample(name, seed=1)
    header: str = sign(body, secret)
    ok: bool = verify(body, header, secret)
    assert ok
    return build_notification(name, body, secret=secret)


def send(url: str) -> Summary:
    clock: Clock = Clock.fast() if FAST > 0 else Clock.real()
    try:
        deliveries: list[Delivery] = deliver([build("s")], url, policy=Policy(timeout=5.0), clock=clock)
    except Interrupted as stop:
        deliveries = list(stop.deliveries)
    except BadInput as exc:
        error: ConnectHooksError = exc
        raise SystemExit(str(error)) from None
    attempts: tuple[Attempt, ...] = deliveries[0].attempts
    decision: Decision = attempts[0].decision
    fault: Fault | None = attempts[0].fault
    outcome: Outcome = deliveries[0].outcome
    print(decision, fault, outcome == "delivered")
    return summarize(deliveries)


async def send_async(url: str, client: httpx.AsyncClient) -> Delivery:
    (delivery,) = await adeliver([build("s")], url, client=client)
    return delivery


async def conform(url: str) -> bool:
    app = ReceiverApp(ReceiverSettings(secret="s", script=Script(codes=(200,))), lambda r: print(r.status))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
        report: ConformReport = await run_conformance(ConformSettings(url=url, secret="s"), client=client)
    first: CheckResult = report.checks[0]
    return report.ok and bool(first.id)


def receive(record: Received) -> int | None:
    return record.status


def listen() -> type[Listener]:
    print(ListenSettings(port=0).port)
    return Listener


def in_tests() -> Delivery:
    return WebexConnect().send("receipt/sms/delivered", url="http://127.0.0.1:1/")


# Wrong uses a broken export would let through: each must be an error.
wrong_clock: Clock = Policy()  # type: ignore[assignment]
wrong_body: bytes = sign(b"", "s")  # type: ignore[assignment]
"""


def test_the_public_names_type_check_in_a_users_script(tmp_path: Path) -> None:
    """mypy --strict on a script that uses every public name from ``connect_hooks``: a name missing
    from the package, untyped (Any) or typed wrongly fails here."""
    api = pytest.importorskip("mypy.api")
    script = tmp_path / "user_script.py"
    # Every name through the package's attribute too: a name mypy cannot see is Any there, an error
    # under --disallow-any-expr (``from connect_hooks import x`` would quietly take __getattr__'s Any).
    every = ", ".join(f"connect_hooks.{name}" for name in sorted(connect_hooks._EXPORTS))
    script.write_text(f"{USER_SCRIPT}\nEVERY_NAME = ({every},)\n")
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--warn-unused-ignores",
            "--disallow-any-expr",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "--config-file",
            "",
            str(script),
        ]
    )
    assert status == 0, stdout + stderr


# -- end to end, on 127.0.0.1 -----------------------------------------------------------------


def test_a_sample_signed_and_delivered_with_the_sync_api() -> None:
    body = connect_hooks.render_sample(SAMPLE, seed=7)
    assert json.loads(body)["deliveryInfoNotification"]["deliveryInfo"]["deliveryStatus"] == "Delivered"
    notification = connect_hooks.build_notification(SAMPLE, body, secret=SECRET)
    with ScriptedServer() as server:
        (delivery,) = connect_hooks.deliver([notification], server.url, clock=connect_hooks.Clock.fast())
    assert isinstance(delivery, connect_hooks.Delivery)
    assert (delivery.outcome, delivery.target, delivery.gtrid) == ("delivered", SAMPLE, notification.gtrid)
    assert [(a.attempt, a.status, a.decision) for a in delivery.attempts] == [(1, 200, "delivered")]
    (post,) = server.posts
    assert post.body == body
    assert post.headers["x-hub-signature"] == hub_signature(body, SECRET)  # derived here, not by the code
    assert connect_hooks.verify(post.body, post.headers["x-hub-signature"], SECRET)
    assert not connect_hooks.verify(post.body, post.headers["x-hub-signature"], "another secret")


def test_retries_follow_webex_connects_timeline_on_a_fast_clock_with_the_async_api() -> None:
    notification = connect_hooks.build_notification(SAMPLE, connect_hooks.render_sample(SAMPLE), secret=SECRET)
    seen: list[connect_hooks.Attempt] = []

    async def main(url: str) -> list[connect_hooks.Delivery]:
        async with httpx.AsyncClient() as client:
            deliveries = await connect_hooks.adeliver(
                [notification], url, client=client, clock=connect_hooks.Clock.fast(), on_attempt=seen.append
            )
            assert not client.is_closed  # the caller's client is left open
        return deliveries

    with ScriptedServer(script=[503, 503, 200]) as server:
        (delivery,) = asyncio.run(main(server.url))
    assert delivery.outcome == connect_hooks.Outcome.DELIVERED
    expected = [(1, 0.0, 503), (2, WAITS[0], 503), (3, WAITS[0] + WAITS[1], 200)]
    assert [(a.attempt, a.scheduled_at, a.status) for a in delivery.attempts] == expected
    assert seen == list(delivery.attempts)
    # every attempt carries the exact same signed bytes
    assert {p.body for p in server.posts} == {notification.body}
    assert all(connect_hooks.verify(p.body, p.headers["x-hub-signature"], SECRET) for p in server.posts)


def test_a_burst_comes_back_in_the_order_given_and_summarizes() -> None:
    names = ["receipt/sms/delivered", "inbound/sms/mo", "receipt/sms/delivered"]
    notifications = [
        connect_hooks.build_notification(n, connect_hooks.render_sample(n, seed=i)) for i, n in enumerate(names)
    ]
    # The first answer is the slowest: the records still come back in the order given.
    with ScriptedServer(script=[Stall(0.3, then=200), 200]) as server:
        deliveries = connect_hooks.deliver(notifications, server.url, clock=connect_hooks.Clock.fast())
    assert [d.gtrid for d in deliveries] == [n.gtrid for n in notifications]
    assert [d.outcome for d in deliveries] == ["delivered"] * 3
    summary = connect_hooks.summarize(deliveries, wall_s=1.0)
    assert isinstance(summary, connect_hooks.Summary)
    assert (summary.notifications, summary.attempts, summary.answers) == (3, 3, {"200": 3})
    assert (summary.outcomes["delivered"], summary.throughput_per_s) == (3, 3.0)


def test_a_no_retry_status_fails_at_once_and_a_given_policy_is_used() -> None:
    notification = connect_hooks.build_notification("x", b"{}")
    with ScriptedServer(script=[404]) as server:
        (failed,) = connect_hooks.deliver([notification], server.url, clock=connect_hooks.Clock.fast())
    assert (failed.outcome, len(failed.attempts)) == ("failed", 1)
    policy = connect_hooks.Policy(timeout=5.0, waits=(1.0,))
    with ScriptedServer(script=[500]) as server:
        (dropped,) = connect_hooks.deliver([notification], server.url, policy=policy, clock=connect_hooks.Clock.fast())
    assert (dropped.outcome, [a.scheduled_at for a in dropped.attempts]) == ("dropped", [0.0, 1.0])


def test_a_cut_burst_raises_interrupted_with_its_records() -> None:
    notification = connect_hooks.build_notification(SAMPLE, connect_hooks.render_sample(SAMPLE))

    async def main(server: ScriptedServer) -> connect_hooks.Interrupted:
        task = asyncio.ensure_future(connect_hooks.adeliver([notification], server.url))
        while not server.posts:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(connect_hooks.Interrupted) as stopped:
            await task
        return stopped.value

    with ScriptedServer(script=[Stall()]) as server:
        stop = asyncio.run(main(server))
    assert isinstance(stop, connect_hooks.ConnectHooksError)
    (record,) = stop.deliveries
    assert (record.gtrid, record.outcome, record.attempts, record.retries_left) == (
        notification.gtrid,
        "interrupted",
        (),
        len(WAITS),
    )


def test_bad_input_is_refused_before_anything_is_sent() -> None:
    notification = connect_hooks.build_notification("x", b"{}")
    with pytest.raises(connect_hooks.BadInput, match="is not an http"):
        connect_hooks.deliver([notification], "ftp://127.0.0.1/hooks")


def test_deliver_in_a_running_loop_says_to_await_adeliver() -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="await adeliver"):
            connect_hooks.deliver([], "http://127.0.0.1:1/")

    asyncio.run(main())


def test_the_sync_api_closes_a_given_client() -> None:
    client = httpx.AsyncClient()
    with ScriptedServer() as server:
        connect_hooks.deliver([connect_hooks.build_notification("x", b"{}")], server.url, client=client)
    assert client.is_closed


def test_the_receiver_app_records_a_delivery_whose_signature_verifies() -> None:
    received: list[connect_hooks.Received] = []
    settings = connect_hooks.ReceiverSettings(secret=SECRET, script=connect_hooks.Script(codes=(503, 200)))
    app = connect_hooks.ReceiverApp(settings, received.append)
    notification = connect_hooks.build_notification(SAMPLE, connect_hooks.render_sample(SAMPLE), secret=SECRET)

    async def main() -> list[connect_hooks.Delivery]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
            return await connect_hooks.adeliver(
                [notification], "http://testserver/hooks", client=client, clock=connect_hooks.Clock.fast()
            )

    (delivery,) = asyncio.run(main())
    assert [a.status for a in delivery.attempts] == [503, 200]
    assert [(r.attempt, r.status, r.signature, r.gtrid) for r in received] == [
        (1, 503, "valid", notification.gtrid),
        (2, 200, "valid", notification.gtrid),
    ]


def test_conformance_through_the_public_names() -> None:
    app = connect_hooks.ReceiverApp(connect_hooks.ReceiverSettings(secret=SECRET))
    settings = connect_hooks.ConformSettings(url="http://testserver/hooks", secret=SECRET, in_process=True)

    async def main() -> connect_hooks.ConformReport:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app)) as client:
            return await connect_hooks.run_conformance(settings, client=client)

    report = asyncio.run(main())
    assert report.ok, str(report)
    assert all(isinstance(c, connect_hooks.CheckResult) for c in report.checks)
    assert "rejects-wrong-secret" in report.passed


def test_webex_connect_delivers_to_a_real_server() -> None:
    connect = connect_hooks.WebexConnect()
    with ScriptedServer() as server:
        delivery = connect.send(SAMPLE, url=server.url, secret=SECRET)
    assert delivery.outcome == "delivered"
    assert connect.deliveries == [delivery]
    (post,) = server.posts
    assert connect_hooks.verify(post.body, post.headers["x-hub-signature"], SECRET)


# -- the examples people copy -----------------------------------------------------------------


def python_block_after(text: str, heading: str) -> str:
    start = text.index(heading)
    block = text.index("```python\n", start) + len("```python\n")
    return text[block : text.index("```", block)]


@pytest.mark.parametrize(
    ("where", "heading"),
    [("README.md", "## As a library"), ("connect_hooks/__init__.py", "Send a sample, signed")],
)
def test_the_library_example_uses_only_public_names_and_runs(where: str, heading: str) -> None:
    code = python_block_after((ROOT / where).read_text(), heading)
    tree = ast.parse(code)
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert [ast.unparse(node) for node in imports] == ["import connect_hooks"]
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "connect_hooks"
    }
    assert used and used <= set(connect_hooks.__all__)
    with ScriptedServer(script=[503, 200]) as server:
        exec(compile(code.replace("https://example.test/hooks", server.url), where, "exec"), {})
    (first, second) = server.posts
    assert first.body == second.body
    assert connect_hooks.verify(second.body, second.headers["x-hub-signature"], "s3cret")
