"""The receiving side: the ASGI receiver, its authorization, the server, listener, relay, inspector and local TLS."""
