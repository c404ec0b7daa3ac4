"""``WebexConnectUser``: a Locust user that plays Webex Connect against the host under test.

Each task renders a fresh sample (or a story, whose steps are due at their offsets), signs it with the hub secret
and POSTs it with Webex Connect's headers; every notification then follows the policy (10 s deadline, retries
only for the statuses that retry, 60 s apart divided by the speed) in greenlets of its own, so a notification
waiting for a retry never holds up the user's next one. Locust's stats name each POST by its sample; each
notification's outcome is an ``OUTCOME`` entry (delivered, failed, dropped, interrupted) of its own.
"""

from __future__ import annotations

import json
import os
import random
import ssl
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.pool import Group
from locust import events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC, StatsError

from connect_hooks.catalogue import samples, stories
from connect_hooks.client.hubsecret import fingerprint
from connect_hooks.load import distributed, launch
from connect_hooks.policy import DEFAULT_TIMEOUT, Decision, Fault, Outcome, Policy, decide
from connect_hooks.sender.delivery import USER_AGENT, Notification, build_notification

#: The request type of the outcome entries in Locust's stats (one per notification).
OUTCOME = "OUTCOME"


class NotDelivered(Exception):
    """How a notification that was not delivered ended, as Locust's failure report shows it."""


def _options(parser: Any, **kwargs: Any) -> None:
    """The settings ``connect-hooks load`` passes in the environment; Locust hands them to every worker."""
    parser.add_argument("--connect-hooks-targets", env_var=launch.TARGETS_ENV, default="", help="JSON list of names")
    parser.add_argument("--connect-hooks-speed", env_var=launch.SPEED_ENV, default="1", help="Divide every wait")
    parser.add_argument("--connect-hooks-fingerprint", env_var=launch.FINGERPRINT_ENV, default=None, help="Secret tag")


def _exit_code(environment: Environment, **kwargs: Any) -> None:
    """0 when notifications were delivered and none failed or was dropped (retries cut short by the end
    of the run are not failures); else 1. A non-200 attempt that a retry delivered is not a failure."""
    if isinstance(environment.runner, WorkerRunner) or environment.runner is None:
        return
    entries = environment.runner.stats.entries
    ended = {str(o): entries[(str(o), OUTCOME)].num_requests for o in Outcome if (str(o), OUTCOME) in entries}
    bad = ended.get("failed", 0) + ended.get("dropped", 0) + len(environment.runner.exceptions)
    environment.process_exit_code = 1 if bad or not ended.get("delivered") else 0
    if getattr(environment.parsed_options, "csv_prefix", None):
        # Locust writes its CSV every CSV_STATS_INTERVAL_SEC and only closes it on the way out: wait for one
        # more write, so the files hold the final counts (the last retries, the workers' last reports).
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.25)


events.init_command_line_parser.add_listener(_options)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_exit_code)  # type: ignore[no-untyped-call]
events.init.add_listener(distributed.install)  # type: ignore[no-untyped-call]


class WebexConnectUser(FastHttpUser):
    """Sends Webex Connect's signed notifications to the host, with its retry policy.

    Settings come from ``connect-hooks load`` (its ``--target``, ``--speed``; the secret from
    ``CONNECT_HOOKS_SECRET``). In a locustfile of your own, set ``targets`` (names or globs), ``speed``
    and ``policy`` on a subclass; ``CONNECT_HOOKS_SECRET`` is still where the secret comes from.
    """

    targets: tuple[str, ...] = ()
    speed: float | None = None
    policy: Policy = Policy()
    network_timeout = DEFAULT_TIMEOUT
    connection_timeout = DEFAULT_TIMEOUT

    def on_start(self) -> None:
        options = self.environment.parsed_options
        given = json.loads(getattr(options, "connect_hooks_targets", "") or "[]")
        self._names: tuple[str, ...] = launch.expand(self.targets) if self.targets else tuple(given)
        self._speed = self.speed or float(getattr(options, "connect_hooks_speed", "1") or 1)
        self._secret = os.environ.get(launch.SECRET_ENV) or None
        self._agent = f"{USER_AGENT} (load; worker {getattr(self.environment.runner, 'worker_index', 0)})"
        self._waiting: dict[object, tuple[gevent.Greenlet, Notification | None, float, int]] = {}
        self._group = Group()
        self._stopping = False
        self._check_secret(getattr(options, "connect_hooks_fingerprint", None))
        if not self._names:
            self._names = launch.expand(["receipt/sms/delivered"])

    def _check_secret(self, expected: str | None) -> None:
        mine = fingerprint(self._secret) if self._secret is not None else ""
        if expected is not None and expected != mine:
            want = f"fingerprint {expected}" if expected else "no secret"
            have = f"fingerprint {mine}" if mine else "none"
            why = f"this worker's hub secret ({have}) differs from the master's ({want}): give it the master's CONNECT_HOOKS_SECRET"
            distributed.refuse(self.environment, why)
            raise StopUser()

    @task
    def notify(self) -> None:
        """One message: a sample now, or a story's steps each at its offset."""
        name = random.choice(self._names)
        if not stories.is_story(name):
            self._begin(name, samples.render(name))
            return
        for step in stories.render(name):
            if step.at <= 0:
                self._begin(step.sample, step.body)
            else:
                self._later(step.at / self._speed, None, self._begin, step.sample, step.body)

    def _begin(self, sample: str, body: bytes) -> None:
        headers = (("User-Agent", self._agent),)
        notification = build_notification(sample, body, secret=self._secret, headers=headers)
        self._attempt(notification, 1, time.perf_counter())

    def _attempt(self, notification: Notification, number: int, started: float) -> None:
        """Attempt ``number``, then a retry in its own greenlet, or the outcome."""
        result = self._post(notification)
        decision = decide(result, self.policy.max_attempts - number)
        if decision is Decision.RETRY and not self._stopping:
            wait = self.policy.waits[number - 1] / self._speed
            self._later(wait, (notification, started, number), self._attempt, notification, number + 1, started)
        elif decision is Decision.RETRY:
            self._outcome(notification, Outcome.INTERRUPTED, started, f"{_said(result)} after {number} attempts")
        else:
            self._outcome(notification, Outcome(str(decision)), started, f"{_said(result)} after {number} attempts")

    def _post(self, notification: Notification) -> int | Fault:
        """One POST named by its sample; a success in Locust's stats only when answered 200."""
        timer = gevent.Timeout(self.policy.timeout)
        timer.start()
        try:
            response = self.client.request(
                "POST",
                self.host or "",
                name=notification.target,
                data=notification.body,  # type: ignore[arg-type]  # bytes go out as they are
                headers=dict(notification.headers),
                allow_redirects=False,
                catch_response=True,
            )
        except gevent.Timeout as exc:
            if exc is not timer:
                raise
            return self._timed_out(notification)
        finally:
            timer.close()
        with response as answer:
            result = _result(answer.status_code, answer.request_meta.get("exception"))
            if result == 200:
                answer.success()
            else:
                answer.failure(_said(result))
        return result

    def _timed_out(self, notification: Notification) -> Fault:
        error = TimeoutError(f"no answer within {self.policy.timeout:g} s")
        elapsed = self.policy.timeout * 1000
        self.environment.events.request.fire(
            request_type="POST", name=notification.target, response_time=elapsed, response_length=0, exception=error
        )
        return Fault.TIMEOUT

    def _outcome(self, notification: Notification, outcome: Outcome, started: float, how: str) -> None:
        """The notification's ending as an ``OUTCOME`` entry: in the report and the CSV, yet outside the
        Aggregated row, which counts POSTs only (an outcome is not a request). Failed and dropped ones are
        failures, with their reason in the failures report."""
        stats = self.environment.stats
        entry = stats.get(str(outcome), OUTCOME)
        entry.log((time.perf_counter() - started) * 1000, 0)
        if outcome in (Outcome.FAILED, Outcome.DROPPED):
            error = NotDelivered(f"{notification.target}: {how}")
            entry.log_error(error)
            key = StatsError.create_key(OUTCOME, str(outcome), error)
            stats.errors.setdefault(key, StatsError(OUTCOME, str(outcome), error)).occurred()

    def _later(
        self, seconds: float, retry: tuple[Notification, float, int] | None, run: Callable[..., None], *args: Any
    ) -> None:
        """``run(*args)`` in a greenlet of its own after ``seconds``; a retry is remembered until it starts."""
        key = object()

        def due() -> None:
            self._waiting.pop(key, None)
            run(*args)

        greenlet = gevent.spawn_later(seconds, due)
        self._group.add(greenlet)
        notification, started, number = retry if retry is not None else (None, 0.0, 0)
        self._waiting[key] = (greenlet, notification, started, number)

    def on_stop(self) -> None:
        """Retries still waiting end as interrupted; attempts in flight finish (and are counted)."""
        self._stopping = True
        for greenlet, notification, started, number in list(self._waiting.values()):
            greenlet.kill(block=False)
            if notification is not None:
                self._outcome(notification, Outcome.INTERRUPTED, started, f"stopped after {number} attempts")
        self._waiting.clear()
        self._group.join(timeout=self.policy.timeout)


def _result(status: int | None, error: BaseException | None) -> int | Fault:
    """Webex Connect's view of an answer: its status, or the fault that kept it from coming."""
    if status:
        return status
    if isinstance(error, TimeoutError):
        return Fault.TIMEOUT
    if isinstance(error, ssl.SSLError):
        return Fault.TLS_ERROR
    return Fault.CONNECTION_ERROR


def _said(result: int | Fault) -> str:
    return f"status {result}" if isinstance(result, int) else str(result)
