"""In-process delivery: ASGI or WSGI told apart, the ASGI lifespan, the WSGI deadline, the app's exceptions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connect_hooks.errors import BadInput
from connect_hooks.testing import inprocess
from connect_hooks.testing.webex_connect import WebexConnect

from .support import run


async def asgi_function(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


class AsgiObject:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await asgi_function(scope, receive, send)


def wsgi_function(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [])
    return [b""]


class WsgiObject:
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return wsgi_function(environ, start_response)


@pytest.mark.parametrize(
    ("make", "asgi"),
    [
        (lambda: asgi_function, True),
        (AsgiObject, True),
        (FastAPI, True),
        (lambda: wsgi_function, False),
        (WsgiObject, False),
        (lambda: Flask("x"), False),
    ],
    ids=["asgi-function", "asgi-object", "fastapi", "wsgi-function", "wsgi-object", "flask"],
)
def test_asgi_and_wsgi_apps_are_told_apart(make: Callable[[], Any], asgi: bool) -> None:
    assert inprocess.is_asgi(make()) is asgi


@pytest.mark.parametrize("app", [lambda request: None, 42], ids=["one-parameter", "not-callable"])
def test_neither_asgi_nor_wsgi_is_bad_input(app: Any) -> None:
    with pytest.raises(BadInput, match=r"ASGI|callable"):
        inprocess.is_asgi(app)


def test_the_lifespan_starts_before_the_request_hands_its_state_over_and_stops_after() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
        events.append("startup")
        yield {"db": "opened at startup"}
        events.append("shutdown")

    async def hooks(request: Request) -> Response:
        events.append(request.state.db)
        return Response(status_code=200)

    app = Starlette(routes=[Route("/hooks", hooks, methods=["POST"])], lifespan=lifespan)
    delivery = WebexConnect().send({"a": 1}, app=app, path="/hooks")
    assert delivery.outcome == "delivered"
    assert events == ["startup", "opened at startup", "shutdown"]


@pytest.mark.parametrize("refusal", ["raises", "returns"])
def test_an_app_without_lifespan_support_is_served_as_it_is(refusal: str) -> None:
    # Django's ASGI handler raises on a lifespan scope; hand-written apps often just return.
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if refusal == "raises":
                raise ValueError("only http")
            return
        await asgi_function(scope, receive, send)

    assert WebexConnect().send({"a": 1}, app=app).outcome == "delivered"


def test_a_failed_startup_raises_the_apps_own_exception_and_sends_nothing() -> None:
    posts: list[str] = []

    def connect_to_the_database() -> None:
        raise RuntimeError("database unreachable")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        connect_to_the_database()
        yield

    async def hooks(request: Request) -> Response:
        posts.append("post")
        return Response(status_code=200)

    app = Starlette(routes=[Route("/", hooks, methods=["POST"])], lifespan=lifespan)
    connect = WebexConnect()
    with pytest.raises(RuntimeError, match="database unreachable"):
        connect.send({"a": 1}, app=app)
    assert posts == []


def test_a_startup_reported_failed_without_raising_is_an_error_not_a_hang() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})
        await receive()  # waits for a shutdown that never comes

    with pytest.raises(inprocess.LifespanFailed, match=r"^lifespan\.startup\.failed: no database$"):
        WebexConnect().send({"a": 1}, app=app)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_an_exception_in_the_app_is_raised_as_is_like_a_test_client_does(kind: str) -> None:
    class Bug(Exception):
        pass

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise Bug("in the handler")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise Bug("in the handler")

    # An OSError would be taken for a connection fault by the engine if it were not wrapped.
    with pytest.raises(Bug, match="in the handler"):
        WebexConnect().send({"a": 1}, app=asgi if kind == "asgi" else wsgi)


class SteppedClock:
    """A clock the app moves forward, standing in for a slow app without any waiting."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(("took", "timed_out"), [(10.5, True), (9.5, False)])
def test_a_wsgi_answer_later_than_the_deadline_counts_as_a_timeout(took: float, timed_out: bool) -> None:
    clock = SteppedClock()

    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        clock.t += took
        start_response("200 OK", [])
        return [b"ok"]

    async def go() -> httpx.Response | BaseException:
        transport = inprocess.InlineWSGITransport(slow, deadline=10.0, clock=clock)
        async with httpx.AsyncClient(transport=transport) as client:
            try:
                return await client.post("https://testserver/", content=b"{}")
            except httpx.ReadTimeout as exc:
                return exc

    answer = run(go())
    if timed_out:
        assert isinstance(answer, httpx.ReadTimeout)
    else:
        assert isinstance(answer, httpx.Response)
        assert (answer.status_code, answer.content) == (200, b"ok")


def test_a_stalled_asgi_app_is_cut_at_the_deadline_and_retried() -> None:
    calls: list[int] = []

    async def stalls_then_answers(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        calls.append(1)
        if len(calls) == 1:
            await asyncio.Event().wait()  # never answers
        await asgi_function(scope, receive, send)

    delivery = WebexConnect().send({"a": 1}, app=stalls_then_answers, timeout=0.05)
    assert [(a.fault, a.status) for a in delivery.attempts] == [("timeout", None), (None, 200)]
    assert delivery.outcome == "delivered"


def test_a_retry_story_runs_at_once_on_the_fast_clock_with_webex_connects_timeline() -> None:
    async def always_busy(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    loop_time: list[float] = []

    async def story() -> Any:
        loop = asyncio.get_running_loop()
        began = loop.time()
        delivery = await WebexConnect().asend({"a": 1}, app=always_busy)
        loop_time.append(loop.time() - began)
        return delivery

    delivery = run(story())
    assert [a.scheduled_at for a in delivery.attempts] == [0, 60, 120, 180]
    assert delivery.outcome == "dropped"
    assert loop_time[0] < 60  # the three 60 s waits were skipped, not slept
