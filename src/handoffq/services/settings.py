"""How one service runs, and the small pieces its core shares: settings, peers, answers.

:class:`ServiceSettings` holds every ``serve-agent`` option the running service reads (see
``handoffq serve-agent --help``); :data:`STATUS` maps each rejection reason to its HTTP status.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["STATUS", "Ack", "Lru", "Peer", "ServiceSettings", "ServiceStopped"]

Ack = tuple[int, dict[str, Any]]
"""An HTTP status and the JSON object answered."""

STATUS = {
    "oversize": 413,
    "bad_json": 400,
    "schema": 400,
    "extra_field": 400,
    "missing_field": 400,
    "wrong_kind": 400,
    "unknown_peer": 401,
    "bad_signature": 401,
    "stale": 401,
    "future": 401,
    "replay": 401,
    "wrong_recipient": 403,
    "not_allowed": 403,
    "wrong_sender": 403,
    "unknown_handoff": 409,
    "conflict": 409,
    "out_of_range": 400,
    "no_reply_address": 403,
    "busy": 503,
    "starting": 503,
}


class ServiceStopped(RuntimeError):
    """The service stopped itself (a journal write failed); see :attr:`AgentService.fatal`."""


@dataclass(frozen=True, slots=True)
class Peer:
    """A service this one talks to (a successor, the judge, or a predecessor it replies to):
    its name (the ``to`` of envelopes) and base URL."""

    name: str
    url: str


@dataclass
class ServiceSettings:
    """How one service runs (every field is a ``serve-agent`` option; see its ``--help``)."""

    name: str
    url: str
    role: str = "agent"
    peers: dict[str, Peer] = field(default_factory=dict)
    accept_from: frozenset[str] = frozenset()
    mode: str = "train"
    cost_weight: float = 1.0
    max_handoffs: int = 20
    penalty: float = -1.0
    inbox_size: int = 1024
    outbox_size: int = 4096
    concurrency: int = 64
    work_threads: int = 8
    max_artifact_bytes: int = 1 << 20
    max_reply_bytes: int = 2048
    window_s: float = 30.0
    checkpoint_every: int = 5000
    checkpoint_interval_s: float = 10.0
    fsync: bool = False
    forward: str = "http"
    decision_ttl_s: float = 600.0
    max_magnitude: float = 1e9
    reply_quota: int = 0
    dedupe_size: int = 200_000
    audit_path: Path | None = None
    outcomes_path: Path | None = None

    def __post_init__(self) -> None:
        if self.role not in ("agent", "judge"):
            raise ValueError(f"role must be 'agent' or 'judge', got {self.role!r}")
        if self.mode not in ("train", "serve", "frozen"):
            raise ValueError(f"mode must be train, serve or frozen, got {self.mode!r}")
        for name in ("inbox_size", "outbox_size", "concurrency", "max_handoffs", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < float(self.max_magnitude) < float("inf"):
            raise ValueError(f"max-magnitude must be a positive finite number, got {self.max_magnitude}")

    @property
    def replies_per_peer(self) -> int:
        """Replies owed to one predecessor at most (``reply_quota``, or half the outbox)."""
        return int(self.reply_quota) if self.reply_quota > 0 else max(1, self.outbox_size // 2)


class Lru:
    """A bounded map of recent ids to a value (their sender), oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self.items: OrderedDict[str, str | None] = OrderedDict()

    def add(self, item: str, value: str | None = None) -> None:
        """Remember ``item`` (with ``value``), forgetting the oldest beyond the size."""
        self.items[item] = value
        self.items.move_to_end(item)
        while len(self.items) > self.size:
            self.items.popitem(last=False)

    def get(self, item: str) -> str | None:
        """The value remembered with ``item`` (None if none, or forgotten)."""
        return self.items.get(item)

    def __contains__(self, item: object) -> bool:
        return item in self.items
