import asyncio
import json
import ssl

import httpx
import pytest
from click.testing import CliRunner

from connect_hooks.cli.main import main
from connect_hooks.explain import explain
from connect_hooks.policy import Fault, Outcome, Policy
from connect_hooks.sender.clock import Clock
from connect_hooks.sender.delivery import Delivery, Notification
from connect_hooks.sender.scheduler import deliver_one


def policy(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["policy", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_for_several_inputs() -> None:
    code, out, _ = policy("200", "503", "404", "timeout", "--json")
    assert code == 0
    items = {item["input"]: item for item in json.loads(out)}
    assert items["200"]["delivered"] is True
    assert items["200"]["outcome"] == "delivered"
    assert items["503"]["retried"] is True
    assert items["503"]["outcome"] == "dropped"
    assert [step["at"] for step in items["503"]["timeline"]] == [0, 60, 120, 180]
    assert items["404"]["retried"] is False
    assert items["404"]["outcome"] == "failed"
    assert [step["at"] for step in items["timeout"]["timeline"]] == [0, 70, 140, 210]


def test_people_read_the_timeline_and_caveats() -> None:
    code, out, _ = policy("503", "201", "429", "301")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "503: dropped — retried at T+60s, T+120s, T+180s, then dropped"
    assert "  ! 201 is not 200: Webex Connect counts only 200 as delivered, and retries 201" in lines
    assert "  ! 429 is retried on the fixed schedule; Retry-After is not honoured" in lines
    assert "  ! redirects are never followed: point Webex Connect at the final URL" in lines


def test_policy_options_change_the_timeline() -> None:
    _, out, _ = policy("500", "--schedule", "backoff", "--json")
    assert json.loads(out)[0]["summary"] == "retried at T+30s, T+90s, T+210s, then dropped"
    _, out, _ = policy("500", "--retries", "0", "--json")
    assert json.loads(out)[0]["retried"] is False


@pytest.mark.parametrize("bad", ["99", "600", "abc", "0", "20x", ""])
def test_bad_input_exits_2_with_one_line(bad: str) -> None:
    code, out, err = policy(bad)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "give a status code from 100 to 599" in err


STATUSES = range(100, 600)


def fault_error(fault: Fault) -> Exception:
    """What the transport raises for ``fault`` (a fresh exception each time)."""
    if fault is Fault.TIMEOUT:
        return httpx.ReadTimeout("no answer")
    if fault is Fault.CONNECTION_ERROR:
        return httpx.ConnectError("[Errno 111] Connection refused")
    if fault is Fault.TLS_ERROR:
        error = httpx.ConnectError("handshake")
        error.__cause__ = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        return error
    return httpx.RemoteProtocolError("Server disconnected without sending a response.")


async def engine_stories(answers: list[int | Fault], policy: Policy) -> dict[int | Fault, Delivery]:
    """What the delivery engine does when every attempt gets the same answer: MockTransport and a fake clock.

    A timeout costs the attempt its whole deadline, as a real one does; anything else costs no time.
    """
    clock = 0.0
    answer: int | Fault = 200

    async def sleep(seconds: float) -> None:
        nonlocal clock
        clock += seconds

    def now() -> float:
        return clock

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal clock
        if isinstance(answer, Fault):
            clock += policy.timeout if answer is Fault.TIMEOUT else 0.0
            raise fault_error(answer)
        return httpx.Response(answer)

    notification = Notification(target="-", body=b"{}", gtrid="g", headers=(("Content-Type", "application/json"),))
    stories: dict[int | Fault, Delivery] = {}
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), trust_env=False) as client:
        for answer in answers:
            clock = 0.0
            stories[answer] = await deliver_one(
                notification, "https://r.test/", policy, client=client, clock=Clock(sleep=sleep, now=now)
            )
    return stories


def disagreements(answer: int | Fault, policy: Policy, delivery: Delivery) -> list[str]:
    said = explain(str(answer), policy)
    found = [(a.attempt, a.scheduled_at, a.decision) for a in delivery.attempts]
    told = [(step.attempt, step.at, step.decision) for step in said.steps]
    problems = []
    if isinstance(answer, Fault) and {a.fault for a in delivery.attempts} != {answer}:
        problems.append(f"{answer}: the engine saw {[a.fault for a in delivery.attempts]} (the story is wrong)")
    if said.outcome is not delivery.outcome:
        problems.append(f"{answer}: policy says {said.outcome}, the engine ends {delivery.outcome}")
    if told != found:
        problems.append(f"{answer}: policy's timeline {told}, the engine's {found}")
    if said.delivered is not (delivery.outcome is Outcome.DELIVERED) or said.retried is not (len(found) > 1):
        problems.append(f"{answer}: delivered={said.delivered} retried={said.retried}, the engine made {found}")
    return problems


def test_the_explainer_agrees_with_the_delivery_engine_on_every_status_and_fault() -> None:
    """Every status from 100 to 599 and every fault, under the documented policy and another one."""
    policies = (Policy(), Policy.build(schedule="backoff", retries=2, timeout=4))

    problems: list[str] = []
    for policy in policies:
        stories = asyncio.run(engine_stories([*STATUSES, *Fault], policy))
        for answer, delivery in stories.items():
            problems += [f"under {policy}: {problem}" for problem in disagreements(answer, policy, delivery)]
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems)
