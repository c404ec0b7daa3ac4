"""Webex Connect inside your tests: deliver a notification to your app and get its record back.

``WebexConnect`` is what the pytest fixture ``webex_connect`` hands out (see
``connect_hooks.testing.pytest_plugin``); it works without pytest too::

    connect = WebexConnect(Defaults(secret="s3cret"))
    delivery = connect.send("receipt/sms/delivered", app=app, path="/hooks")
    assert delivery.outcome == "delivered", delivery

Every notification goes through the engine (``scheduler.deliver_one``, a burst of one) under the
policy, on a fast clock: retries happen at once and the records carry the simulated timeline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from connect_hooks.errors import BadInput
from connect_hooks.policy import DEFAULT_RETRIES, DEFAULT_TIMEOUT, SCHEDULES

if TYPE_CHECKING:
    import httpx

    from connect_hooks.conform.conformance import CheckResult, ConformReport
    from connect_hooks.conform.fuzz import FuzzReport
    from connect_hooks.policy import Policy
    from connect_hooks.sender.delivery import Delivery


class _Unset(enum.Enum):
    UNSET = "UNSET"


#: "Not given": the default comes from ``Defaults`` (``secret=None`` means unsigned).
UNSET = _Unset.UNSET

Target = str | bytes | Mapping[str, Any] | Sequence[Any]
#: The catalogue's stories (a test keeps this in step with it): ``send`` given one returns every step's record.
StoryName = Literal[
    "story/email/bounced",
    "story/email/clicked",
    "story/rcs/failed",
    "story/rcs/read",
    "story/sms/clicked",
    "story/sms/conversation",
    "story/sms/delivered",
    "story/sms/undelivered",
    "story/voice/answered",
    "story/voice/rejected",
    "story/whatsapp/conversation",
    "story/whatsapp/delivered",
    "story/whatsapp/failed",
    "story/whatsapp/read",
]


@dataclass(frozen=True)
class Defaults:
    """What ``send`` uses when a call does not say: from the fixture, the option, the ini file or a marker."""

    secret: str | None = field(default=None, repr=False)  # None: unsigned
    algorithm: str = "sha256"
    schedule: str = "fixed"
    retries: int = DEFAULT_RETRIES
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        check_settings(self.secret, self.algorithm, self.schedule, self.retries, self.timeout)

    def replace(self, **changes: Any) -> Defaults:
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise BadInput(f"unknown setting {unknown[0]!r}: give secret, algorithm, schedule, retries or timeout")
        return dataclasses.replace(self, **changes)


def check_settings(secret: object, algorithm: object, schedule: object, retries: object, timeout: object) -> None:
    """Bad input (one line saying what to give instead) for any value ``send`` cannot use."""
    from connect_hooks import signing

    signing.check_settings(secret, algorithm, fix_empty="give a non-empty secret, or None to send unsigned")
    if schedule not in SCHEDULES:
        raise BadInput(f"unknown schedule {schedule!r}: use {' or '.join(sorted(SCHEDULES))}")
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise BadInput(f"retries={retries!r} is not a whole number of retries: give 0 or more")
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not timeout > 0:
        raise BadInput(f"timeout={timeout!r} is not a number of seconds above 0: give e.g. 10.0")


def set_texts(sets: Mapping[str, Any] | Sequence[str] | None) -> tuple[str, ...]:
    """``{"a.b": "x", "a.c": 7}`` or ``["a.b=x", "a.c:=7"]`` -> the ``--set`` texts the catalogue takes."""
    if sets is None:
        return ()
    if isinstance(sets, Mapping):
        return tuple(
            f"{path}={value}" if isinstance(value, str) else f"{path}:={json.dumps(value)}"
            for path, value in sets.items()
        )
    if isinstance(sets, str):
        return (sets,)
    return tuple(sets)


def body_of(target: object, *, sets: tuple[str, ...] = (), seed: int | None = None) -> tuple[str, bytes]:
    """(the record's target name, the exact bytes to POST) for a sample name, JSON text or bytes, or a dict."""
    # Submodules are imported by their full name, never as ``from connect_hooks import x``: that reads
    # the package's attribute, which outlives a sys.modules restore (pytester's in-process runs) and
    # would mix a stale engine (its own httpx) with fresh modules.
    from connect_hooks.catalogue.samples import compact, get, is_glob, render

    if isinstance(target, str) and not target.lstrip().startswith(("{", "[")):
        if is_glob(target):
            raise BadInput(f"send delivers one notification: give one sample name, not the glob {target!r}")
        get(target)  # bad input naming the closest samples when there is no such one
        return target, render(target, seed=seed, sets=sets)
    if sets:
        raise BadInput("set= changes samples only: a JSON body is sent as given, so change it instead")
    if isinstance(target, Mapping | list | tuple):
        try:
            return f"<{type(target).__name__}>", compact(target)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"the {type(target).__name__} is not JSON ({exc}): give JSON values only") from None
    if isinstance(target, str | bytes):
        body = target.encode("utf-8") if isinstance(target, str) else target
        try:
            json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"the {type(target).__name__} is not valid JSON ({exc}): give a JSON document") from None
        return f"<{type(target).__name__}>", body
    raise BadInput(f"cannot send a {type(target).__name__}: give a sample name, JSON as str or bytes, or a dict")


@dataclass(frozen=True)
class ConformResult:
    """What ``conform`` returns: the conformance report, with a one-line repr for assertion messages.

    ``str()`` is the report's readable verdict: checks that failed the same way as one group, with one
    example's evidence and reproduce line (for an app in process, the ``webex_connect.send`` call).
    """

    report: ConformReport
    signatures_checked: bool = True  # False: no hub secret, so the rejects-* checks were skipped

    @property
    def ok(self) -> bool:
        return self.report.ok

    @property
    def failed(self) -> list[str]:
        return list(self.report.failed)

    @property
    def warned(self) -> list[str]:
        return list(self.report.warned)

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        return self.report.checks

    def as_dict(self) -> dict[str, Any]:
        return self.report.as_dict()

    def __str__(self) -> str:
        from connect_hooks.conform.grouping import text

        how = "give secret=, @pytest.mark.webex_connect(secret=...) or the webex_connect_secret fixture"
        return text(self.report, signatures_checked=self.signatures_checked, how=how)

    def __repr__(self) -> str:
        verdict = "holds up" if self.ok else "does not hold up"
        from connect_hooks.conform.grouping import fold_ids

        every = [c.id for c in self.report.checks]
        failed = f"; failed: {fold_ids(self.failed, every)}" if self.failed else ""
        return f"ConformResult({verdict}: {self.report.summary()}{failed})"


class WebexConnect:
    """Webex Connect's sending side for one test: ``send`` notifications, read ``deliveries``."""

    def __init__(self, defaults: Defaults | None = None) -> None:
        self.defaults = defaults or Defaults()
        #: Every notification's record, in the order sent.
        self.deliveries: list[Delivery] = []
        #: Every conform run's result, in order.
        self.conform_results: list[ConformResult] = []

    def __repr__(self) -> str:
        return f"<WebexConnect: {len(self.deliveries)} deliveries, {len(self.conform_results)} conform runs>"

    @overload
    def send(  # type: ignore[overload-overlap]  # a story's name is a str too: the narrower one wins
        self,
        target: StoryName,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        set: Mapping[str, Any] | Sequence[str] | None = None,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        schedule: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        out_of_order: bool = False,
    ) -> tuple[Delivery, ...]: ...

    @overload
    def send(
        self,
        target: Target,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        set: Mapping[str, Any] | Sequence[str] | None = None,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        schedule: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        out_of_order: bool = False,
    ) -> Delivery: ...

    def send(
        self,
        target: Target,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        set: Mapping[str, Any] | Sequence[str] | None = None,  # the name of the CLI's --set
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        schedule: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        out_of_order: bool = False,
    ) -> Delivery | tuple[Delivery, ...]:
        """Deliver one notification to ``app`` (in process, at ``path``) or to ``url``, retries and all.

        ``target`` is a sample name (rendered fresh, ``set=`` and ``seed=`` as in ``send --set``
        and ``--seed``), JSON text or bytes (sent byte for byte), or a dict (sent as compact JSON).
        ``ca_bundle=`` (with ``url=``) also trusts the CA certificates of a PEM file, such as the
        one ``listen --tls`` prints. Returns the same ``Delivery`` record ``send --json`` prints;
        it is also appended to ``deliveries``. A story (``"story/whatsapp/read"``) delivers every step
        (at its offset, in the story's order or ``out_of_order=True`` last first) and returns their
        records in the story's order. Call it from a synchronous test; in an async test ``await asend(...)``.
        """
        _no_running_loop("send")
        return asyncio.run(
            self.asend(
                target,
                app=app,
                url=url,
                path=path,
                set=set,
                seed=seed,
                headers=headers,
                ca_bundle=ca_bundle,
                secret=secret,
                algorithm=algorithm,
                schedule=schedule,
                retries=retries,
                timeout=timeout,
                out_of_order=out_of_order,
            )
        )

    @overload
    async def asend(  # type: ignore[overload-overlap]  # a story's name is a str too: the narrower one wins
        self,
        target: StoryName,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        set: Mapping[str, Any] | Sequence[str] | None = None,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        schedule: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        out_of_order: bool = False,
    ) -> tuple[Delivery, ...]: ...

    @overload
    async def asend(
        self,
        target: Target,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        set: Mapping[str, Any] | Sequence[str] | None = None,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        schedule: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        out_of_order: bool = False,
    ) -> Delivery: ...

    async def asend(
        self,
        target: Target,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        set: Mapping[str, Any] | Sequence[str] | None = None,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        schedule: str | None = None,
        retries: int | None = None,
        timeout: float | None = None,
        out_of_order: bool = False,
    ) -> Delivery | tuple[Delivery, ...]:
        """``send`` for async tests: the same, awaited on the running event loop."""
        from connect_hooks.policy import Policy
        from connect_hooks.sender.clock import Clock
        from connect_hooks.sender.delivery import Interrupted, build_notification
        from connect_hooks.sender.scheduler import deliver_one
        from connect_hooks.testing.inprocess import AppError

        given = {"algorithm": algorithm, "schedule": schedule, "retries": retries, "timeout": timeout}
        chosen = self.defaults.replace(
            **{k: v for k, v in given.items() if v is not None}, **({} if secret is UNSET else {"secret": secret})
        )
        policy = Policy.build(schedule=chosen.schedule, retries=chosen.retries, timeout=chosen.timeout)
        if isinstance(target, str) and target.startswith("story/"):
            if set:
                raise BadInput("set= changes samples only: a story's steps carry their own values")
            place = (app, url, path, ca_bundle)
            return await self._astory(
                target, place, chosen, policy, seed=seed, out_of_order=out_of_order, headers=headers
            )
        name, body = body_of(target, sets=set_texts(set), seed=seed)
        notification = build_notification(
            name, body, secret=chosen.secret, algorithm=chosen.algorithm, headers=tuple((headers or {}).items())
        )
        delivery: Delivery | None = None
        crash: Exception | None = None
        async with _client_for(app, url, path, ca_bundle, deadline=chosen.timeout) as (client, where):
            try:
                delivery = await deliver_one(notification, where, policy, client=client, clock=Clock.fast())
            except AppError as exc:
                crash = exc.original  # raised below, once the app's lifespan has shut down
            except Interrupted as stop:
                self.deliveries.append(stop.delivery)
                raise KeyboardInterrupt from None
        if crash is not None:
            raise crash
        assert delivery is not None
        self.deliveries.append(delivery)
        return delivery

    async def _astory(
        self,
        name: str,
        where: tuple[Any, str | None, str | None, str | Path | None],
        chosen: Defaults,
        policy: Policy,
        *,
        seed: int | None,
        out_of_order: bool,
        headers: Mapping[str, str] | None,
    ) -> tuple[Delivery, ...]:
        """Every step of story ``name``, each its own notification at its offset, on the engine."""
        from connect_hooks.catalogue import stories
        from connect_hooks.sender.clock import Clock
        from connect_hooks.sender.delivery import Interrupted, build_notification
        from connect_hooks.sender.scheduler import At, deliver_all
        from connect_hooks.testing.inprocess import AppError

        steps = stories.render(name, seed=seed)
        offsets = stories.get(name).offsets(out_of_order=out_of_order)
        notifications = [
            build_notification(
                step.sample,
                step.body,
                secret=chosen.secret,
                algorithm=chosen.algorithm,
                headers=tuple((headers or {}).items()),
            )
            for step in steps
        ]
        order = sorted(range(len(steps)), key=lambda number: offsets[number])
        ended: dict[str, Delivery] = {}
        async with _client_for(*where, deadline=chosen.timeout) as (client, url):
            try:
                items = [At(offsets[number], notifications[number]) for number in order]
                await deliver_all(items, url, policy, client=client, clock=Clock.fast(), on_finish=self._ended(ended))
            except AppError as exc:
                raise exc.original from None
            except Interrupted:  # its records went to deliveries as they were cut, as send's do
                raise KeyboardInterrupt from None
        return tuple(ended[n.gtrid] for n in notifications)

    def _ended(self, ended: dict[str, Delivery]) -> Callable[[Delivery], None]:
        def record(delivery: Delivery) -> None:
            ended[delivery.gtrid] = delivery
            self.deliveries.append(delivery)

        return record

    def conform(
        self,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        only: str | Sequence[str] | None = None,
        skip: str | Sequence[str] | None = None,
        channels: str | Sequence[str] | None = None,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        timeout: float | None = None,
    ) -> ConformResult:
        """Run ``conform``'s checks against ``app`` (in process, at ``path``) or ``url``.

        ``only``/``skip`` take check IDs or families (``"raw-bytes"``, ``"rejects"``, ...). Returns
        a ``ConformResult``: ``.ok``, ``.failed`` (check IDs), ``.checks`` (a ``CheckResult`` per
        check: the fields of a ``conform --json`` record as attributes, ``as_dict()`` the record
        itself) and ``str()``, the readable verdict.
        It is also appended to ``conform_results``. An exception in the app is logged and
        answered 500, as a server would, so the checks judge it. In an async test,
        ``await aconform(...)``.
        """
        _no_running_loop("conform")
        return asyncio.run(
            self.aconform(
                app=app,
                url=url,
                path=path,
                only=only,
                skip=skip,
                channels=channels,
                seed=seed,
                headers=headers,
                ca_bundle=ca_bundle,
                secret=secret,
                algorithm=algorithm,
                timeout=timeout,
            )
        )

    async def aconform(
        self,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        only: str | Sequence[str] | None = None,
        skip: str | Sequence[str] | None = None,
        channels: str | Sequence[str] | None = None,
        seed: int | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        timeout: float | None = None,
    ) -> ConformResult:
        """``conform`` for async tests: the same, awaited on the running event loop."""
        from connect_hooks.conform.conformance import ConformSettings, run_conformance

        given = {"algorithm": algorithm, "timeout": timeout}
        chosen = self.defaults.replace(
            **{k: v for k, v in given.items() if v is not None}, **({} if secret is UNSET else {"secret": secret})
        )
        async with _client_for(app, url, path, ca_bundle, deadline=chosen.timeout, raise_app_exceptions=False) as (
            client,
            where,
        ):
            settings = ConformSettings(
                url=where,
                secret=chosen.secret,
                algorithm=chosen.algorithm,
                headers=tuple((k, v) for k, v in (headers or {}).items()),
                timeout=chosen.timeout,
                only=_names(only),
                skip=_names(skip),
                channels=_names(channels),
                seed=seed,
                in_process=app is not None,
                ca_bundle=None if ca_bundle is None else str(ca_bundle),
            )
            report = await run_conformance(settings, client=client)
        if app is not None:  # https://testserver is not a place a command line can reach: the call instead
            explicit = secret is not UNSET and secret is not None
            calls = {c.id: _in_test(c.reproduce, where, path or "/", explicit) for c in report.checks}
            report = dataclasses.replace(
                report, checks=tuple(dataclasses.replace(c, reproduce=calls[c.id]) for c in report.checks)
            )
        result = ConformResult(report, signatures_checked=chosen.secret is not None)
        self.conform_results.append(result)
        return result

    def fuzz(
        self,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        examples: int = 200,
        seed: int | None = None,
        channels: str | Sequence[str] | None = None,
        out: str | Path | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        timeout: float | None = None,
    ) -> FuzzReport:
        """Fuzz ``app`` (in process, at ``path``) or ``url`` as ``connect-hooks fuzz`` does: ``examples``
        bodies generated from the schemas, each sent once; anything but 200 is a finding (shrunk).
        Returns the report: ``.ok``, ``.findings`` (each with ``.body``, the bytes that failed) and
        ``str()``. ``out=`` also writes each finding's body to that directory. An exception in the
        app is logged and answered 500, as a server would. Needs the ``fuzz`` extra. In an async
        test, ``await afuzz(...)``."""
        _no_running_loop("fuzz")
        return asyncio.run(
            self.afuzz(
                app=app,
                url=url,
                path=path,
                examples=examples,
                seed=seed,
                channels=channels,
                out=out,
                headers=headers,
                ca_bundle=ca_bundle,
                secret=secret,
                algorithm=algorithm,
                timeout=timeout,
            )
        )

    async def afuzz(
        self,
        *,
        app: Any = None,
        url: str | None = None,
        path: str | None = None,
        examples: int = 200,
        seed: int | None = None,
        channels: str | Sequence[str] | None = None,
        out: str | Path | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | Path | None = None,
        secret: str | _Unset | None = UNSET,
        algorithm: str | None = None,
        timeout: float | None = None,
    ) -> FuzzReport:
        """``fuzz`` for async tests: the same, awaited on the running event loop."""
        from connect_hooks.conform.fuzz import FuzzSettings, run_fuzz

        given = {"algorithm": algorithm, "timeout": timeout}
        chosen = self.defaults.replace(
            **{k: v for k, v in given.items() if v is not None}, **({} if secret is UNSET else {"secret": secret})
        )
        async with _client_for(app, url, path, ca_bundle, deadline=chosen.timeout, raise_app_exceptions=False) as (
            client,
            where,
        ):
            settings = FuzzSettings(
                url=where,
                examples=examples,
                seed=seed,
                channels=_names(channels),
                out_dir=None if out is None else str(out),
                secret=chosen.secret,
                algorithm=chosen.algorithm,
                headers=tuple((headers or {}).items()),
                timeout=chosen.timeout,
                in_process=app is not None,
                ca_bundle=None if ca_bundle is None else str(ca_bundle),
            )
            return await run_fuzz(settings, client=client)


#: ``connect-hooks send`` options a reproduce line may carry, and the keyword of ``send`` each one is.
_SEND_KEYWORDS = {"--retries": "retries", "--seed": "seed", "--algorithm": "algorithm", "--timeout": "timeout"}


def _in_test(line: str | None, url: str, path: str, explicit_secret: bool) -> str | None:
    """A reproduce line of ``conform`` as the ``webex_connect.send`` call that sends the same bytes to
    the app in process, or None when it is not one sample sent once with options ``send`` takes."""
    import shlex

    words = shlex.split(line) if line and "|" not in line and "$" not in line else []
    unsigned = words[:3] == ["env", "-u", "CONNECT_HOOKS_SECRET"]
    words = words[3:] if unsigned else words
    if len(words) < 4 or words[:2] != ["connect-hooks", "send"] or words[3] != url:
        return None
    arguments = [json.dumps(words[2]), "app=app", f"path={json.dumps(path)}"]
    sets: list[str] = []
    secret = "None" if unsigned else ("<the secret given to conform>" if explicit_secret else "")
    options = words[4:]
    for name, value in zip(options[::2], options[1::2], strict=False):
        if name == "--set":
            sets.append(value)
        elif name == "--secret":
            secret = json.dumps(value)  # only conform's own wrong secret, public on purpose
        elif name in ("--retries", "--seed", "--timeout"):
            arguments.append(f"{_SEND_KEYWORDS[name]}={value}")
        elif name == "--algorithm":
            arguments.append(f"algorithm={json.dumps(value)}")
        else:
            return None
    if len(options) % 2:
        return None
    arguments += [f"set={json.dumps(sets)}"] if sets else []
    arguments += [f"secret={secret}"] if secret else []
    return f"webex_connect.send({', '.join(arguments)})"


def _no_running_loop(method: str) -> None:
    """Bad input when a synchronous method is called inside a running event loop (an async test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise BadInput(f"{method}() runs its own event loop: in an async test, use 'await webex_connect.a{method}(...)'")


def _names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@asynccontextmanager
async def _client_for(
    app: Any,
    url: str | None,
    path: str | None,
    ca_bundle: str | Path | None,
    *,
    deadline: float,
    raise_app_exceptions: bool = True,
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The client and the full URL for exactly one of ``app`` (plus ``path``) or ``url``."""
    from connect_hooks.client.transport import make_client
    from connect_hooks.testing.inprocess import BASE_URL, app_client
    from connect_hooks.urls import parse_send_url

    if (app is None) == (url is None):
        raise BadInput("give exactly one of app= (an ASGI or WSGI app, called in process) or url= (a live server)")
    if url is not None:
        if path is not None:
            raise BadInput("path= goes with app=: with url=, put the path in the URL")
        target = parse_send_url(url, allow_http=True)
        async with make_client(ca_bundle=ca_bundle) as client:
            yield client, target.url
        return
    if ca_bundle is not None:
        raise BadInput("ca_bundle= goes with url=: an app is called in process, without TLS")
    path = path or "/"
    if not path.startswith("/"):
        raise BadInput(f"path={path!r} must start with '/': give it like '/webhooks/connect'")
    async with app_client(app, deadline=deadline, raise_app_exceptions=raise_app_exceptions) as client:
        yield client, BASE_URL + path
