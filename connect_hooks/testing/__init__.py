"""Testing a receiver from Python: WebexConnect, the pytest plugin, in-process ASGI/WSGI apps."""
