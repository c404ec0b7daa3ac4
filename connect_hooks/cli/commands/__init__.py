"""One module per command. ``cli.py`` registers them lazily, so a command's imports are paid only
when that command runs (``connect-hooks --help`` imports none of them)."""
