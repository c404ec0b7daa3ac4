"""``send`` as one core function: settings in, notifications prepared, deliveries out.

Everything the user gave is checked in ``prepare`` before anything is sent: a bad target, URL,
header or secret sends nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from connect_hooks import __version__, catalogue, signing
from connect_hooks.delivery import Attempt, Delivery, Interrupted, Notification, Now, Sleep, deliver
from connect_hooks.errors import BadInput, ConnectHooksError, ExitCode
from connect_hooks.inputs import read_input
from connect_hooks.logfile import NdjsonLog
from connect_hooks.policy import Outcome, Policy
from connect_hooks.urls import TargetURL, parse_send_url

USER_AGENT = f"connect-hooks/{__version__}"


@dataclass(frozen=True)
class SendSettings:
    """Everything ``send`` needs, parsed and checked by the CLI (or built by a library user)."""

    url: str
    targets: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)
    algorithm: str = "sha256"
    signature_style: str = "prefixed"
    headers: tuple[tuple[str, str], ...] = ()
    policy: Policy = field(default_factory=Policy)
    allow_http: bool = False
    seed: int | None = None
    sets: tuple[str, ...] = ()


def parse_header_option(text: str) -> tuple[str, str]:
    """``'Name: value'`` -> (name, value); bad input otherwise."""
    name, sep, value = text.partition(":")
    name = name.strip()
    if not sep or not name or any(c in name for c in " \t\r\n") or any(c in value for c in "\r\n"):
        raise BadInput(f"--header {text!r} is not 'Name: value': write it like --header 'Authorization: Bearer abc'")
    return name, value.strip()


def load_payload(target: str, stdin: Callable[[], bytes]) -> bytes:
    """The exact bytes of a JSON file or stdin, checked to parse as JSON."""
    body = read_input(target, stdin, missing="is neither a file nor a sample name: run 'connect-hooks samples list'")
    where = "stdin" if target == "-" else repr(target)
    if not body.strip():
        raise BadInput(f"{where} is empty: a notification needs a JSON body")
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{where} is not valid JSON ({exc}): fix the file or pick a sample") from None
    return body


def bodies(settings: SendSettings, stdin: Callable[[], bytes]) -> list[tuple[str, bytes]]:
    """(target name, body bytes) for every notification the targets stand for, in order."""
    out: list[tuple[str, bytes]] = []
    for target in settings.targets:
        if target == "-" or Path(target).exists() or target.endswith(".json"):
            if settings.sets:
                where = "stdin" if target == "-" else repr(target)
                raise BadInput(f"--set changes samples only: {where} is sent byte for byte, so edit it instead")
            out.append((target, load_payload(target, stdin)))
            continue
        for name in catalogue.match(target):
            out.append((name, catalogue.render(name, seed=settings.seed, sets=settings.sets)))
    return out


def make_notification(
    target: str,
    body: bytes,
    settings: SendSettings,
    gtrid: str | None = None,
) -> Notification:
    gtrid = gtrid or str(uuid.uuid4())
    headers: dict[str, tuple[str, str]] = {}

    def put(name: str, value: str) -> None:
        headers[name.lower()] = (name, value)

    put("Content-Type", "application/json")
    put("User-Agent", USER_AGENT)
    put("x-wx-gtrid", gtrid)
    if settings.secret is not None:
        put(signing.HEADER, signing.sign(body, settings.secret, settings.algorithm, settings.signature_style))
    for name, value in settings.headers:
        put(name, value)  # the user's headers win: that is how Authorization (or a forgery) gets in
    return Notification(
        target=target,
        body=body,
        gtrid=gtrid,
        headers=tuple(headers.values()),
        algorithm=settings.algorithm if settings.secret is not None else None,
    )


def prepare(settings: SendSettings, stdin: Callable[[], bytes]) -> tuple[TargetURL, list[Notification]]:
    """Check everything and build the notifications; raises BadInput before anything is sent."""
    if settings.secret is not None and settings.secret == "":
        raise BadInput("the hub secret is empty: give a non-empty --secret, CONNECT_HOOKS_SECRET or --secret-file")
    if settings.algorithm not in signing.ALGORITHMS:
        raise BadInput(f"unknown algorithm {settings.algorithm!r}: use {' or '.join(signing.ALGORITHMS)}")
    target = parse_send_url(settings.url, allow_http=settings.allow_http)
    notifications = [make_notification(name, body, settings) for name, body in bodies(settings, stdin)]
    return target, notifications


class SendInterrupted(ConnectHooksError):
    """Ctrl-C during a send: carries every notification's record, finished or not."""

    exit_code = ExitCode.INTERRUPTED

    def __init__(self, deliveries: list[Delivery]) -> None:
        super().__init__("interrupted")
        self.deliveries = deliveries


async def send_all(
    notifications: Sequence[Notification],
    url: str,
    policy: Policy,
    *,
    client: httpx.AsyncClient,
    sleep: Sleep,
    now: Now,
    on_attempt: Callable[[Attempt], None] | None = None,
    on_finish: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Deliver each notification in turn, each with its own retry story.

    On cancellation every unfinished notification gets an ``interrupted`` record (and
    ``on_finish`` is called for it) before ``SendInterrupted`` is raised.
    """
    done: list[Delivery] = []
    for index, notification in enumerate(notifications):
        try:
            delivery = await deliver(
                notification, url, policy, client=client, sleep=sleep, now=now, on_attempt=on_attempt
            )
        except Interrupted as stop:
            done.append(stop.delivery)
            if on_finish is not None:
                on_finish(stop.delivery)
            for rest in notifications[index + 1 :]:
                record = Delivery.of(rest, url, Outcome.INTERRUPTED, retries_left=policy.retries)
                done.append(record)
                if on_finish is not None:
                    on_finish(record)
            raise SendInterrupted(done) from None
        done.append(delivery)
        if on_finish is not None:
            on_finish(delivery)
    return done


class SendLog:
    """The NDJSON story of a send (``--log``): each notification before anything is sent, then
    each attempt as it happens, then one outcome per notification. Replay reads the same records."""

    def __init__(self, log: NdjsonLog, url: str, notifications: Sequence[Notification]) -> None:
        self.log = log
        self.url = url
        self.targets = {n.gtrid: n.target for n in notifications}
        for notification in notifications:
            log.write({"type": "notification", "url": url, **notification.as_dict()})

    def attempt(self, attempt: Attempt) -> None:
        target = self.targets[attempt.gtrid]
        self.log.write(
            {"type": "attempt", "url": self.url, "target": target, "gtrid": attempt.gtrid, **attempt.as_dict()}
        )

    def outcome(self, delivery: Delivery) -> None:
        self.log.write({"type": "outcome", **delivery.as_dict()})
