"""The outbox counts what is owed by kind and by reply recipient, exactly as messages come and go."""

from __future__ import annotations

from handoffq.services.delivery import OutMessage
from handoffq.services.outbox import Outbox


def _msg(mid: str, kind: str, to: str) -> OutMessage:
    return OutMessage(mid, kind, to, f"http://{to}", {})


def test_counts_follow_adds_and_pops():
    box = Outbox()
    for m in (_msg("r1", "reply", "a"), _msg("r2", "reply", "a"), _msg("r3", "reply", "b"), _msg("h1", "handoff", "c")):
        box.add(m)
    box.add(_msg("r1", "reply", "a"))  # owed once, however often it is added
    assert len(box) == 4 and box.forwards == 1 and dict(box.replies) == {"a": 2, "b": 1}
    assert box.pop("r1").mid == "r1" and box.pop("r1") is None
    box.pop("h1")
    box.pop("r3")
    assert box.forwards == 0 and dict(box.replies) == {"a": 1} and list(box) == ["r2"] and "r2" in box
