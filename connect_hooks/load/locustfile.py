"""The locustfile ``connect-hooks load`` hands to Locust: Webex Connect's side as one user class."""

from connect_hooks.load.user import WebexConnectUser

__all__ = ["WebexConnectUser"]
