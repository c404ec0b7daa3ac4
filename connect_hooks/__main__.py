from connect_hooks.cli import run

run()
