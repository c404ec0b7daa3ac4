"""The end of a distributed run: the master stops its workers' users and waits for their last stats before it quits.

Left to itself, a headless Locust master tells its workers to quit and waits half a second for their final
reports; what a busy worker reports later is lost, and the CSV then counts fewer POSTs than the receiver saw.
Here the master first asks each worker to stop its users (retries still waiting end as interrupted, attempts in
flight finish), to report, and to say so; only then does Locust's own quit go on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

STOP = "connect_hooks_stop"
STOPPED = "connect_hooks_stopped"
REFUSED = "connect_hooks_refused"  # a worker will not send (its hub secret is not the master's): why
SLACK = 5.0  # seconds beyond the stop timeout a master waits for its workers' last reports

logger = logging.getLogger(__name__)


def install(environment: Environment, **kwargs: Any) -> None:
    """Locust's ``init`` event: the master's and the workers' halves of the handshake."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        stopped: set[str] = set()
        runner.register_message(STOPPED, lambda environment, msg, **kw: stopped.add(msg.node_id))
        runner.register_message(REFUSED, lambda environment, msg, **kw: _refused(msg.node_id, msg.data["why"]))
        environment.events.test_stopping.add_listener(lambda environment, **kw: _stop_workers(runner, stopped))  # type: ignore[no-untyped-call]
    elif isinstance(runner, WorkerRunner):
        runner.register_message(STOP, lambda environment, msg, **kw: _stop(runner))


_said: set[tuple[str, str]] = set()


def _refused(worker: str, why: str) -> None:
    """On the master, once per worker: why that worker's users send nothing."""
    if (worker, why) not in _said:
        _said.add((worker, why))
        logger.error("worker %s sends nothing: %s", worker, why)


def refuse(environment: Environment, why: str) -> None:
    """A worker's user will not send: say why where the run is watched (the master), and here."""
    runner = environment.runner
    logger.error("%s", why)
    if isinstance(runner, WorkerRunner):
        runner.send_message(REFUSED, {"why": why})


def _stop_workers(runner: MasterRunner, stopped: set[str]) -> None:
    workers = {worker.id for worker in runner.clients.all}
    stopped.clear()
    runner.send_message(STOP)
    deadline = time.monotonic() + (runner.environment.stop_timeout or 0.0) + SLACK
    while not workers <= stopped and time.monotonic() < deadline:
        gevent.sleep(0.05)
    if not workers <= stopped:
        logger.warning("%d worker(s) did not report their last stats in time", len(workers - stopped))


def _stop(runner: WorkerRunner) -> None:
    runner.stop()  # each user's on_stop: waiting retries end as interrupted, attempts in flight finish
    runner._send_stats()  # the last stats, before the answer (one ordered channel to the master)
    runner.send_message(STOPPED)
