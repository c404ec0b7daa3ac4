"""Deliver to an app inside this process: ASGI or WSGI, no server, no socket, and no waiting.

``app_client(app)`` hands out the ``httpx.AsyncClient`` the engine takes, on httpx's ASGI
transport (with the app's lifespan started before and stopped after) or on a WSGI transport
that answers in the caller's thread, as Flask's and Django's test clients do.
The plugin runs the engine on a fast ``Clock``, so a whole retry story runs at once and its
records carry the simulated timeline (T+0, T+60, T+120).

Limits of the whole-attempt deadline in process:
- an ASGI app is cancelled at the deadline at its next ``await``; code that blocks the event
  loop is only judged once it yields;
- a WSGI app runs to its end in the caller's thread (same thread, same database connection as
  the test): an answer that comes later than the deadline counts as a timeout, but an app that
  never answers hangs the caller, as it would with the framework's own test client.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from connect_hooks.errors import BadInput

logger = logging.getLogger(__name__)

#: The host an in-process app is called on (the name Starlette's, Flask's and Django's test
#: clients use), over https like every Webex Connect call.
BASE_URL = "https://testserver"


class AppError(Exception):
    """The app raised instead of answering: carries the app's own exception, to be re-raised."""

    def __init__(self, original: Exception) -> None:
        super().__init__(f"the app raised {type(original).__name__}: {original}")
        self.original = original


def _call_target(app: Any) -> Any:
    """The function that runs when ``app(...)`` is called: the app itself or its ``__call__``."""
    if inspect.isfunction(app) or inspect.ismethod(app):
        return app
    return app.__call__


def is_asgi(app: Any) -> bool:
    """True for an ASGI app ``(scope, receive, send)``, False for a WSGI app ``(environ, start_response)``.

    A coroutine function (or an object whose ``__call__`` is one) is ASGI; otherwise the number
    of positional parameters decides. Anything else is bad input.
    """
    if not callable(app):
        raise BadInput(f"app={app!r} is not callable: give an ASGI or a WSGI application")
    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(_call_target(app)):
        return True
    try:
        parameters = inspect.signature(app).parameters.values()
    except (TypeError, ValueError):
        parameters = None
    if parameters is not None:
        positional = [
            p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
        if len(positional) == 3:
            return True
        if len(positional) == 2:
            return False
    raise BadInput(
        f"app={app!r} is neither ASGI (async, scope, receive, send) nor WSGI (environ, start_response): "
        "give the application object itself (e.g. FastAPI(), Flask(__name__), get_wsgi_application())"
    )


def _raising_asgi(app: Any) -> Any:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            raise AppError(exc) from exc

    return wrapped


def _logging_asgi(app: Any) -> Any:
    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            log_crash(scope.get("method", "?"), scope.get("path", "?"))
            raise  # httpx's ASGI transport answers 500 for it, as a server would

    return wrapped


def log_crash(method: str, path: str) -> None:
    """The app's exception, on the log (pytest shows it under "Captured log") with its traceback."""
    logger.exception("the app raised instead of answering %s %s: answered 500, as a server would", method, path)


class InlineWSGITransport(httpx.AsyncBaseTransport):
    """httpx's WSGI transport, called in the caller's thread, with the attempt's deadline judged afterwards.

    A WSGI call cannot be interrupted: an answer (body included) that took longer than
    ``deadline`` seconds is reported as a timeout once the app returns.
    """

    def __init__(
        self,
        app: Any,
        *,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
        raise_app_exceptions: bool = True,
    ) -> None:
        self._wsgi = httpx.WSGITransport(app=app)
        self._deadline = deadline
        self._clock = clock
        self._raise = raise_app_exceptions

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        started = self._clock()
        try:
            answer = self._wsgi.handle_request(request)
            try:
                body = answer.read()
            finally:
                answer.close()
        except Exception as exc:
            if self._raise:
                raise AppError(exc) from exc
            log_crash(request.method, request.url.path)
            answer, body = httpx.Response(500), b""
        if self._clock() - started > self._deadline:
            raise httpx.ReadTimeout(f"the app answered after {self._deadline:g} s", request=request)
        return httpx.Response(answer.status_code, headers=answer.headers.raw, content=body, request=request)


class LifespanFailed(Exception):
    """The app reported ``lifespan.startup.failed`` (or a failed shutdown) without raising."""


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[Any]:
    """Run ``app``'s ASGI lifespan around the block, the way uvicorn's default ("auto") mode does.

    Yields the app to serve requests with: it hands each request a copy of the lifespan's
    ``state``. An app without lifespan support (it raises before its first ``receive()`` or
    returns before startup completes, as Django's ASGI handler does) is served as it is. A
    startup or shutdown that fails raises: the app's own exception when it raised one.
    """
    run = _Lifespan(app)
    run.task = asyncio.create_task(run.run())
    await run.inbox.put({"type": "lifespan.startup"})
    await run.started.wait()
    if not run.complete:
        await run.stop()
        if run.failed is None and (run.error is None or not run.received):
            yield app  # no lifespan support: serve it as is
            return
        raise run.error or LifespanFailed(run.failed)

    async def with_state(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "state": dict(run.state)}, receive, send)

    try:
        yield with_state
    except BaseException:
        await run.stop()
        raise
    await run.inbox.put({"type": "lifespan.shutdown"})
    await run.stopped.wait()
    await run.stop()
    if run.error is not None or run.failed is not None:
        raise run.error or LifespanFailed(run.failed)


class _Lifespan:
    """One ASGI lifespan conversation: the app's ``receive``/``send``, and what it said."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.started = asyncio.Event()
        self.stopped = asyncio.Event()
        self.received = False  # the app asked for a message: it speaks lifespan
        self.complete = False  # startup completed
        self.failed: str | None = None  # what a startup/shutdown.failed message said
        self.error: Exception | None = None  # what the app raised
        self.task: asyncio.Task[None] | None = None

    async def receive(self) -> dict[str, Any]:
        self.received = True
        return await self.inbox.get()

    async def send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self.complete = True
            self.started.set()
        elif kind in ("lifespan.startup.failed", "lifespan.shutdown.failed"):
            self.failed = f"{kind}: {message.get('message', '')}"
            self.started.set()
            self.stopped.set()
        elif kind == "lifespan.shutdown.complete":
            self.stopped.set()

    async def run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self.receive, self.send)
        except Exception as exc:
            self.error = exc
        finally:
            self.started.set()
            self.stopped.set()

    async def stop(self) -> None:
        """Cancel the app's lifespan task if it still runs, and wait for it."""
        assert self.task is not None
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@asynccontextmanager
async def app_client(
    app: Any, *, deadline: float, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """An AsyncClient whose requests ``app`` answers in process (ASGI or WSGI, told apart by ``is_asgi``).

    An exception the app raises (rather than answering 500) comes out as ``AppError``, as a
    framework's test client raises it; with ``raise_app_exceptions=False`` it is logged and
    answered 500, as a server would.
    """
    transport: httpx.AsyncBaseTransport
    async with AsyncExitStack() as stack:
        if is_asgi(app):
            served = await stack.enter_async_context(lifespan(app))
            if raise_app_exceptions:
                transport = httpx.ASGITransport(app=_raising_asgi(served))
            else:
                transport = httpx.ASGITransport(app=_logging_asgi(served), raise_app_exceptions=False)
        else:
            transport = InlineWSGITransport(app, deadline=deadline, raise_app_exceptions=raise_app_exceptions)
        client = httpx.AsyncClient(transport=transport, follow_redirects=False, timeout=None, trust_env=False)
        yield await stack.enter_async_context(client)
