"""The pytest plugin: the ``webex_connect`` fixture (registered through the ``pytest11`` entry point).

Fixtures only; the work is done by ``connect_hooks.testing.webex_connect``. The hub secret ``send`` signs with
comes, first found wins, from: ``secret=`` in the call, ``@pytest.mark.webex_connect(secret=...)``,
the ``webex_connect_secret`` fixture (override it in ``conftest.py``), whose default reads
``--webex-connect-secret`` and then the ``webex_connect_secret`` ini key. None anywhere: unsigned.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from connect_hooks.testing.webex_connect import WebexConnect

MARKER = "webex_connect"
#: The webex_connect handles of the running test, for assertion messages.
CURRENT = pytest.StashKey[list["WebexConnect"]]()
SETTINGS = frozenset({"secret", "algorithm", "schedule", "retries", "timeout"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("webex_connect", "connect-hooks: Webex Connect deliveries in tests")
    group.addoption(
        "--webex-connect-secret",
        dest="webex_connect_secret",
        metavar="SECRET",
        default=None,
        help="hub secret the webex_connect fixture signs with (default: the webex_connect_secret ini key; none: unsigned)",
    )
    parser.addini(
        "webex_connect_secret",
        "hub secret the webex_connect fixture signs with, unless --webex-connect-secret is given",
        type="string",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(secret=..., algorithm=..., schedule=..., retries=..., timeout=...): "
        "defaults for the webex_connect fixture in this test",
    )


@pytest.fixture
def webex_connect_secret(request: pytest.FixtureRequest) -> str | None:
    """The hub secret ``webex_connect`` signs with by default; None sends unsigned.

    Override this fixture in ``conftest.py`` to fix the secret for a directory of tests.
    """
    option: str | None = request.config.getoption("webex_connect_secret")
    if option is not None:
        return option
    ini: str = request.config.getini("webex_connect_secret")
    return ini or None


@pytest.fixture
def webex_connect(request: pytest.FixtureRequest, webex_connect_secret: str | None) -> Iterator[WebexConnect]:
    """Webex Connect's sending side for this test.

    ``send(target, app=... | url=...) -> Delivery``, ``conform(app=... | url=...) -> ConformResult``,
    and ``deliveries`` / ``conform_results`` (everything this test sent, in order).
    """
    from connect_hooks.errors import BadInput
    from connect_hooks.testing.webex_connect import Defaults, WebexConnect

    settings: dict[str, Any] = {"secret": webex_connect_secret}
    for marker in reversed(list(request.node.iter_markers(MARKER))):  # the closest marker wins
        if marker.args:
            pytest.fail(
                f"@pytest.mark.{MARKER} takes keywords only, like @pytest.mark.{MARKER}(secret='s3cret')", pytrace=False
            )
        unknown = sorted(set(marker.kwargs) - SETTINGS)
        if unknown:
            pytest.fail(
                f"@pytest.mark.{MARKER} does not take {unknown[0]!r}: give secret, algorithm, schedule, retries or timeout",
                pytrace=False,
            )
        settings.update(marker.kwargs)
    try:
        connect = WebexConnect(Defaults().replace(**settings))
    except BadInput as exc:
        pytest.fail(f"webex_connect: {exc}", pytrace=False)
    current = request.config.stash.setdefault(CURRENT, [])
    current.append(connect)
    yield connect
    current.remove(connect)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows what webex_connect sent in it: every delivery, every conform verdict."""
    report = yield
    if report.failed:
        text = story(item.config.stash.get(CURRENT, []), shown=str(report.longrepr or ""))
        if text:
            report.sections.append(("webex_connect", text))
    return report


def story(connects: list[WebexConnect], *, shown: str = "") -> str:
    """Every delivery (one line each), then every conform verdict, unless the failure already shows it
    in full (``assert result.ok, str(result)``): then its one-line repr, so it is read once."""
    lines = [repr(d) for connect in connects for d in connect.deliveries]
    for result in (result for connect in connects for result in connect.conform_results):
        text = str(result)
        if all(line.strip() in shown for line in text.splitlines()):
            lines.append(f"{result!r}: its verdict is shown above")
        else:
            lines.append(text)
    return "\n".join(lines)


def pytest_assertrepr_compare(config: pytest.Config, op: str, left: object, right: object) -> list[str] | None:
    """A failed ``assert delivery.outcome == "delivered"`` lists this test's deliveries, attempt by attempt."""
    from connect_hooks.policy import Outcome

    if op != "==" or not (isinstance(left, Outcome) or isinstance(right, Outcome)):
        return None
    deliveries = [d for connect in config.stash.get(CURRENT, []) for d in connect.deliveries]
    if not deliveries:
        return None
    return [f"{left!r} == {right!r}", "webex_connect.deliveries in this test:", *(f"  {d!r}" for d in deliveries)]
