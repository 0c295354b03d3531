"""Starting tasks: a signed first handoff to a pipeline's entry agent.

A task enters a pipeline as hop 0 with no ``reply_to`` (nobody chose its first agent). The
submitter is a peer like any other: it shares a key with the entry agent, which must list it
among the services it accepts handoffs from (``--accept-from client``).
"""

from __future__ import annotations

from typing import Any

from handoffq.services.delivery import OutMessage, RetryPolicy, Sender
from handoffq.services.protocol import MODES, handoff_id
from handoffq.services.security import KeyRing

__all__ = ["TaskClient", "first_handoff"]


def first_handoff(entry: str, url: str, task: str, artifact: Any, mode: str = "train") -> OutMessage:
    """The hop-0 handoff of ``task`` to agent ``entry`` at ``url``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    hid = handoff_id(task, 0)
    fields = {"task": task, "handoff": hid, "hop": 0, "mode": mode, "reply_to": None, "artifact": artifact}
    return OutMessage(f"handoff:{hid}", "handoff", entry, url, fields)


class TaskClient:
    """Submits tasks as peer ``name`` (at least once: retried until the entry agent accepts)."""

    def __init__(self, keys: KeyRing, http: Any, name: str = "client", forward: str = "http",
                 retry: RetryPolicy | None = None, max_in_flight: int = 64) -> None:
        self.sender = Sender(name, keys, http, forward=forward, retry=retry, max_in_flight=max_in_flight)

    async def submit(self, entry: str, url: str, task: str, artifact: Any, mode: str = "train") -> bool:
        """Hand ``artifact`` to ``entry`` as task ``task``; True once accepted (or already accepted)."""
        return await self.sender.deliver(first_handoff(entry, url, task, artifact, mode))
