"""The receiver's live line: the cheap ANSI rendering says exactly what the Rich one says."""

from __future__ import annotations

import datetime as dt

from connect_hooks.cli.liveview import received_ansi, received_line
from connect_hooks.receiver.app import Classification, Received, Signature

TIME = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


def record(status: int | None, signature: Signature = Signature.VALID) -> Received:
    return Received(
        time=TIME,
        method="POST",
        path="/hooks",
        headers=(),
        body=b"{}",
        size=2,
        gtrid="6a1f0c2e-1111",
        attempt=2,
        classification=Classification("receipt", "SMS", "Delivered"),
        signature=signature,
        algorithm="sha256",
        status=status,
        reason="scripted: delivery 2 gets 503",
    )


def test_the_plain_line_is_the_rich_line_and_colour_only_adds_escapes() -> None:
    for rec in (record(503), record(200), record(None, Signature.MISMATCH)):
        plain = received_ansi(rec, color=False)
        assert plain == received_line(rec).plain
        colored = received_ansi(rec, color=True)
        assert colored != plain
        assert colored.replace("\x1b[0m", "").replace("\x1b[2m", "").replace("\x1b[36m", "").count("\x1b[") >= 1
    assert "6a1f0c2e  #2  receipt SMS Delivered" in received_ansi(record(503), color=False)
    assert received_ansi(record(503), color=False).endswith(
        "signature valid (sha256)  → 503  scripted: delivery 2 gets 503"
    )


def test_a_relayed_request_shows_both_hops_even_when_all_went_well() -> None:
    from dataclasses import replace

    from connect_hooks.receiver.relay import Hop

    hop = Hop("http://127.0.0.1:3000/app", 200, (), b"", 12.3)
    relayed = replace(
        record(200), forward=hop, reason="relayed to http://127.0.0.1:3000/app: the app answered 200 in 12 ms"
    )
    assert received_ansi(relayed, color=False).endswith(
        "→ 200  relayed to http://127.0.0.1:3000/app: the app answered 200 in 12 ms"
    )
    assert received_ansi(record(200), color=False).endswith("→ 200")  # not relayed: no reason on a 200
