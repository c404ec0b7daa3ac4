"""NDJSON logs: one JSON object per line, appended and flushed as things happen."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from connect_hooks.errors import BadInput


class NdjsonLog:
    """An append-only NDJSON file; each record is flushed at once so nothing is lost on a crash."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file: IO[str] | None = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise BadInput(
                f"cannot write log file {str(path)!r}: {exc.strerror or exc}; pick a writable path"
            ) from None

    def write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            return
        self._file.write(ndjson_line(record))
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> NdjsonLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def discard_output(stream: IO[str]) -> None:
    """After a broken pipe (the reader, ``| head`` say, went away): point ``stream``'s file at /dev/null,
    so later writes and the interpreter's last flush succeed and say nothing."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def ndjson_line(record: dict[str, Any]) -> str:
    """One log line: the record, stamped with the time now unless it has its own, and a newline."""
    when = record["time"] if "time" in record else iso_milliseconds(dt.datetime.now(dt.UTC))
    return json_text({"time": when, **record}) + "\n"


#: ".000" to ".999"
_MILLISECONDS = tuple(f".{n:03d}" for n in range(1000))
_last_second: tuple[tuple[object, ...], str, str] = ((), "", "")


def iso_milliseconds(when: dt.datetime) -> str:
    """``when.isoformat(timespec="milliseconds")``, a quarter of the cost: records of one second share the rest.

    A receiver stamps every record; ``isoformat`` with a time zone costs as much as the rest of the record.
    """
    global _last_second
    second = (when.second, when.minute, when.hour, when.day, when.month, when.year, when.tzinfo, when.fold)
    if _last_second[0] != second:
        text = when.replace(microsecond=0).isoformat()  # 'YYYY-MM-DDTHH:MM:SS' and the offset, if any
        _last_second = (second, text[:19], text[19:])
    return _last_second[1] + _MILLISECONDS[when.microsecond // 1000] + _last_second[2]


def json_text(record: Mapping[str, Any]) -> str:
    """A record as one line of compact JSON, non-ASCII text as is: what --json, --log and the inspector write.

    orjson writes it (a receiver writes one per request; the standard library takes ten times as
    long). What orjson refuses, a lone surrogate or an integer past 64 bits, the standard library
    writes instead, with \\u escapes, so the line is still valid UTF-8 JSON.
    """
    import orjson  # here, not at the top: commands that write no records start without it

    try:
        return orjson.dumps(record).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(record, separators=(",", ":"))


def body_fields(body: bytes) -> dict[str, str | None]:
    """A body in a JSON record: as text when it is UTF-8, else ``body: null`` and ``body_base64``."""
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body": None, "body_base64": base64.b64encode(body).decode("ascii")}
