"""One exception base, and the exit codes every command shares.

Core modules raise these; only ``cli.py`` turns them into exit codes and stderr lines.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED = 1  # a delivery or a check failed
    BAD_INPUT = 2
    INTERRUPTED = 130


class ConnectHooksError(Exception):
    """Base of every error connect-hooks reports to its user.

    The message is one line saying what is wrong and how to fix it.
    """

    exit_code: ExitCode = ExitCode.FAILED


class BadInput(ConnectHooksError):
    """The user gave something we cannot use: nothing was sent."""

    exit_code = ExitCode.BAD_INPUT
