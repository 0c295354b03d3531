"""What a service owes its peers: messages by id, counted by kind and by reply recipient.

The counts let the service apply back-pressure on forward handoffs only (a successor that is
down stops new work: the pipeline cannot go on anyway) while replies are bounded per
predecessor (a predecessor that is down or gone must not stop the service: its replies are
dropped past a quota, and given up after the retry limit).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from handoffq.services.delivery import OutMessage

__all__ = ["Outbox"]


class Outbox:
    """Messages owed, by id (``mid``), with running counts."""

    def __init__(self) -> None:
        self.messages: dict[str, OutMessage] = {}
        self.forwards = 0
        self.replies: Counter[str] = Counter()

    def add(self, msg: OutMessage) -> None:
        """Owe ``msg`` (a message already owed is kept once)."""
        if msg.mid in self.messages:
            return
        self.messages[msg.mid] = msg
        if msg.kind == "reply":
            self.replies[msg.recipient] += 1
        else:
            self.forwards += 1

    def pop(self, mid: str) -> OutMessage | None:
        """No longer owe message ``mid``; the message, or None if it was not owed."""
        msg = self.messages.pop(mid, None)
        if msg is not None:
            if msg.kind == "reply":
                self.replies[msg.recipient] -= 1
                if self.replies[msg.recipient] <= 0:
                    del self.replies[msg.recipient]
            else:
                self.forwards -= 1
        return msg

    def values(self) -> list[OutMessage]:
        """Every message owed (a copy)."""
        return list(self.messages.values())

    def __len__(self) -> int:
        return len(self.messages)

    def __contains__(self, mid: object) -> bool:
        return mid in self.messages

    def __iter__(self) -> Iterator[str]:
        return iter(self.messages)
