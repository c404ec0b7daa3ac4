"""Wait until a URL answers HEAD with 200 (``connect-hooks wait``): the CI step between starting an
app in the background and testing it. Each poll is one ``attempt_once``; the pauses between polls
grow from 50 ms to 1 s, so a fast app is seen at once and a slow one is not hammered."""

from __future__ import annotations

import asyncio
import http
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from connect_hooks.client.attempt import Exchange, attempt_once

FIRST_PAUSE = 0.05
MAX_PAUSE = 1.0
#: Deadline of one HEAD: a stalled connection does not eat the wait. When less time is left, the
#: HEAD gets that, but never under ``MIN_ATTEMPT``: a last try cut at a few milliseconds would report
#: its own deadline instead of the answer (the wait overruns by that much at most, and only for a
#: server that does not answer).
ATTEMPT_TIMEOUT = 5.0
MIN_ATTEMPT = 1.0


@dataclass(frozen=True)
class Waited:
    """How a wait ended: ready or not, after how many HEADs and seconds, and what the last one saw."""

    ready: bool
    attempts: int
    seconds: float
    last: str  # "200 OK", "503 Service Unavailable", "cannot connect: connection refused", ...


def seen(exchange: Exchange) -> str:
    """What one HEAD got, in words."""
    if exchange.status is None:
        return exchange.error or "no answer"
    try:
        phrase = http.HTTPStatus(exchange.status).phrase
    except ValueError:
        phrase = ""
    text = f"{exchange.status} {phrase}".strip()
    location = exchange.headers.get("location") if exchange.headers is not None else None
    if 300 <= exchange.status < 400 and location:
        text += f" (redirect to {location}: redirects are not followed, give that URL)"
    return text


async def wait_ready(
    url: str,
    *,
    client: httpx.AsyncClient,
    timeout: float,
    now: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Waited:
    """HEAD ``url`` until it answers 200 or ``timeout`` seconds have passed."""
    start = now()
    pause = FIRST_PAUSE
    attempts = 0
    while True:
        left = timeout - (now() - start)
        exchange = await attempt_once(
            client, client.build_request("HEAD", url), max(min(ATTEMPT_TIMEOUT, left), MIN_ATTEMPT)
        )
        attempts += 1
        if exchange.status == 200:
            return Waited(True, attempts, now() - start, seen(exchange))
        left = timeout - (now() - start)
        if left <= 0:
            return Waited(False, attempts, now() - start, seen(exchange))
        await sleep(min(pause, left))
        pause = min(pause * 2, MAX_PAUSE)
