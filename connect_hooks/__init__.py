"""connect-hooks: play the Webex Connect side of outbound webhooks locally.

This package's public API is what `connect_hooks` itself exports (its `__all__`): import every
name from `connect_hooks`, never from a submodule. Every module below `connect_hooks` is private
by convention: modules may move or change between releases, these names do not.

Send a sample, signed, to a receiver, retries and all (`Clock.fast()` skips Webex Connect's
60-second waits; the records keep its timeline):

```python
import connect_hooks

body = connect_hooks.render_sample("receipt/sms/delivered", seed=7)
notification = connect_hooks.build_notification("receipt/sms/delivered", body, secret="s3cret")
(delivery,) = connect_hooks.deliver([notification], "https://example.test/hooks", clock=connect_hooks.Clock.fast())
assert delivery.outcome == "delivered", delivery
```

In async code, `await connect_hooks.adeliver(...)`. On the receiving side, check a signature over
the raw body bytes:

```python
connect_hooks.verify(body, request.headers["x-hub-signature"], "s3cret")  # -> bool
```

What there is:

- records: `Notification`, `Attempt`, `Delivery`, `Outcome`, `Decision`, `Fault`, `Policy`, `Summary`;
- sending: `build_notification`, `render_sample`, `sample_names`, `deliver`, `adeliver`, `summarize`,
  `Clock` (real, scaled, fast) and `FAST`;
- receiving: `ReceiverApp` (an ASGI app) with `ReceiverSettings`, `Script` and its records `Received`;
  `Listener` with `ListenSettings` (what `connect-hooks listen` runs);
- conformance: `run_conformance`, `ConformSettings`, `ConformReport`, `CheckResult`;
- testing: `WebexConnect` (what the pytest fixture `webex_connect` hands out);
- signatures: `sign`, `verify`;
- errors: `ConnectHooksError` (the base; its message is one line), `BadInput`, `Interrupted`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The one list of the public API: name -> (module, attribute). `__all__` and the imports for type
# checkers below repeat it (tests/test_public_api.py checks all three agree). Names are imported
# on first use, so that `connect-hooks --help` loads none of these modules.
_EXPORTS: dict[str, tuple[str, str]] = {
    # records
    "Notification": ("connect_hooks.sender.delivery", "Notification"),
    "Attempt": ("connect_hooks.sender.delivery", "Attempt"),
    "Delivery": ("connect_hooks.sender.delivery", "Delivery"),
    "Outcome": ("connect_hooks.policy", "Outcome"),
    "Decision": ("connect_hooks.policy", "Decision"),
    "Fault": ("connect_hooks.policy", "Fault"),
    "Policy": ("connect_hooks.policy", "Policy"),
    "Summary": ("connect_hooks.sender.summary", "Summary"),
    # building and sending
    "build_notification": ("connect_hooks.sender.delivery", "build_notification"),
    "render_sample": ("connect_hooks.catalogue.samples", "render"),
    "sample_names": ("connect_hooks.catalogue.samples", "names"),
    "deliver": ("connect_hooks.sender.sending", "deliver"),
    "adeliver": ("connect_hooks.sender.sending", "adeliver"),
    "summarize": ("connect_hooks.sender.summary", "summarize"),
    "Clock": ("connect_hooks.sender.clock", "Clock"),
    "FAST": ("connect_hooks.sender.clock", "FAST"),
    # receiving
    "ReceiverApp": ("connect_hooks.receiver.app", "ReceiverApp"),
    "ReceiverSettings": ("connect_hooks.receiver.app", "ReceiverSettings"),
    "Script": ("connect_hooks.receiver.app", "Script"),
    "Received": ("connect_hooks.receiver.app", "Received"),
    "Listener": ("connect_hooks.receiver.listening", "Listener"),
    "ListenSettings": ("connect_hooks.receiver.listening", "ListenSettings"),
    # conformance
    "run_conformance": ("connect_hooks.conform.conformance", "run_conformance"),
    "ConformSettings": ("connect_hooks.conform.conformance", "ConformSettings"),
    "ConformReport": ("connect_hooks.conform.conformance", "ConformReport"),
    "CheckResult": ("connect_hooks.conform.conformance", "CheckResult"),
    # testing
    "WebexConnect": ("connect_hooks.testing.webex_connect", "WebexConnect"),
    # signatures
    "sign": ("connect_hooks.signing", "sign"),
    "verify": ("connect_hooks.signing", "verify"),
    # errors
    "ConnectHooksError": ("connect_hooks.errors", "ConnectHooksError"),
    "BadInput": ("connect_hooks.errors", "BadInput"),
    "Interrupted": ("connect_hooks.sender.delivery", "Interrupted"),
}

__all__ = [
    "FAST",
    "Attempt",
    "BadInput",
    "CheckResult",
    "Clock",
    "ConformReport",
    "ConformSettings",
    "ConnectHooksError",
    "Decision",
    "Delivery",
    "Fault",
    "Interrupted",
    "ListenSettings",
    "Listener",
    "Notification",
    "Outcome",
    "Policy",
    "Received",
    "ReceiverApp",
    "ReceiverSettings",
    "Script",
    "Summary",
    "WebexConnect",
    "__version__",
    "adeliver",
    "build_notification",
    "deliver",
    "render_sample",
    "run_conformance",
    "sample_names",
    "sign",
    "summarize",
    "verify",
]

if TYPE_CHECKING:
    from connect_hooks.catalogue.samples import names as sample_names
    from connect_hooks.catalogue.samples import render as render_sample
    from connect_hooks.conform.conformance import CheckResult, ConformReport, ConformSettings, run_conformance
    from connect_hooks.errors import BadInput, ConnectHooksError
    from connect_hooks.policy import Decision, Fault, Outcome, Policy
    from connect_hooks.receiver.app import Received, ReceiverApp, ReceiverSettings, Script
    from connect_hooks.receiver.listening import Listener, ListenSettings
    from connect_hooks.sender.clock import FAST, Clock
    from connect_hooks.sender.delivery import Attempt, Delivery, Interrupted, Notification, build_notification
    from connect_hooks.sender.sending import adeliver, deliver
    from connect_hooks.sender.summary import Summary, summarize
    from connect_hooks.signing import sign, verify
    from connect_hooks.testing.webex_connect import WebexConnect


def __getattr__(name: str) -> Any:
    # Imported on every use, never cached here: a module re-imported later (pytester's in-process
    # runs restore sys.modules) is then the one answered, not a stale copy of it.
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'connect_hooks' has no attribute {name!r}") from None
    from importlib import import_module

    return getattr(import_module(module), attribute)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
