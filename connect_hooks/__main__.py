from connect_hooks.cli.main import run

run()
