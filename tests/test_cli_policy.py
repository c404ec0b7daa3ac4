import json

import pytest
from click.testing import CliRunner

from connect_hooks.cli import main
from connect_hooks.explain import explain


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


@pytest.mark.parametrize("status", range(100, 600))
def test_explain_agrees_with_the_engine_rules(status: int) -> None:
    item = explain(str(status))
    assert item.delivered is (status == 200)
    assert item.retried is (item.outcome.value == "dropped")
    assert len(item.steps) in (1, 4)


def test_every_fault_is_explained() -> None:
    for fault in ("timeout", "connection-error", "tls-error", "protocol-error"):
        assert explain(fault).outcome.value == "dropped"
