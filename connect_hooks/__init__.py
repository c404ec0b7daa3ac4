"""connect-hooks: play the Webex Connect side of outbound webhooks locally.

The library API for receivers is two functions::

    from connect_hooks import sign, verify

    verify(body, request.headers["x-hub-signature"], secret)  # -> bool
"""

from connect_hooks.signing import sign, verify

__version__ = "0.1.0"

__all__ = ["__version__", "sign", "verify"]
