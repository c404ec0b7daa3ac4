"""connect-hooks: play the Webex Connect side of outbound webhooks locally.

The library API for receivers is two functions::

    from connect_hooks import sign, verify

    verify(body, request.headers["x-hub-signature"], secret)  # -> bool
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "sign", "verify"]

if TYPE_CHECKING:
    from connect_hooks.signing import sign, verify


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that `connect-hooks --help` does not pay for hashlib and hmac.
    if name in ("sign", "verify"):
        from connect_hooks import signing

        return getattr(signing, name)
    raise AttributeError(f"module 'connect_hooks' has no attribute {name!r}")
