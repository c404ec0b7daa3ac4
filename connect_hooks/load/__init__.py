"""Load at scale on Locust (the optional extra ``connect-hooks[load]``): a Locust user that plays Webex Connect.

Importing this package imports no Locust; ``connect_hooks.load.user.WebexConnectUser`` does (and gevent's patching).
"""

from __future__ import annotations
