from typing import TypedDict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect_hooks.policy import (
    NO_RETRY_STATUSES,
    SCHEDULES,
    Decision,
    Fault,
    Policy,
    decide,
    is_retryable,
)

# Copied by hand from the Webex Connect documentation, independent of the module under test.
DOCUMENTED_NO_RETRY = [
    202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308,
    400, 402, 404, 405, 406, 407, 408, 409, 410, 411, 414, 415, 416, 418, 505,
]  # fmt: skip


def test_every_status_against_the_documented_table() -> None:
    """Each status 100-599: the decision with retries left, and with none. Every difference is shown."""
    expected = {
        status: (Decision.DELIVERED, Decision.DELIVERED)
        if status == 200
        else (Decision.FAILED, Decision.FAILED)
        if status in DOCUMENTED_NO_RETRY
        else (Decision.RETRY, Decision.DROPPED)
        for status in range(100, 600)
    }
    decided = {status: (decide(status, retries_left=3), decide(status, retries_left=0)) for status in range(100, 600)}
    assert {s: f"{decided[s]} instead of {expected[s]}" for s in decided if decided[s] != expected[s]} == {}


def test_statuses_users_trip_on_are_retryable() -> None:
    assert [s for s in (201, 401, 403, 412, 413, 422, 429, 500, 502, 503, 504) if not is_retryable(s)] == []


def test_no_retry_set_is_exactly_the_documented_one() -> None:
    assert sorted(NO_RETRY_STATUSES) == DOCUMENTED_NO_RETRY


def test_every_fault_is_retried_then_dropped() -> None:
    decided = {fault: (decide(fault, retries_left=1), decide(fault, retries_left=0)) for fault in Fault}
    assert decided == {fault: (Decision.RETRY, Decision.DROPPED) for fault in Fault}


def test_defaults_are_webex_connects() -> None:
    policy = Policy()
    assert policy.timeout == 10
    assert policy.waits == (60.0, 60.0, 60.0)
    assert policy.retries == 3
    assert policy.max_attempts == 4


class BuildOptions(TypedDict, total=False):
    """``Policy.build``'s knobs, as the CLI passes them."""

    schedule: str
    retries: int
    interval: float


@pytest.mark.parametrize(
    ("kwargs", "waits"),
    [
        ({}, (60, 60, 60)),
        ({"schedule": "backoff"}, (30, 60, 120)),
        ({"retries": 1}, (60,)),
        ({"retries": 0}, ()),
        ({"retries": 5}, (60, 60, 60, 60, 60)),
        ({"schedule": "backoff", "retries": 4}, (30, 60, 120, 120)),
        ({"interval": 2}, (2, 2, 2)),
        ({"schedule": "backoff", "interval": 5, "retries": 2}, (5, 5)),
    ],
)
def test_policy_build(kwargs: BuildOptions, waits: tuple[float, ...]) -> None:
    assert Policy.build(**kwargs).waits == waits


def test_schedules_are_named() -> None:
    assert set(SCHEDULES) == {"fixed", "backoff"}


@given(
    result=st.one_of(st.integers(min_value=100, max_value=599), st.sampled_from(list(Fault))),
    retries_left=st.integers(min_value=0, max_value=10),
)
def test_every_answer_maps_to_exactly_one_decision(result: int | Fault, retries_left: int) -> None:
    decision = decide(result, retries_left)
    matches = [
        decision is Decision.DELIVERED and result == 200,
        decision is Decision.FAILED and not is_retryable(result),
        decision is Decision.RETRY and is_retryable(result) and retries_left > 0,
        decision is Decision.DROPPED and is_retryable(result) and retries_left == 0,
    ]
    assert matches.count(True) == 1
