"""The LLM backend protocol shared by every backend, and its usage accounting.

A backend answers one chat request at a time::

    backend.complete(messages, params={"temperature": 0.0, "max_tokens": 256}, sample=0,
                     meta={...}) -> Completion

``messages`` are OpenAI-style ``{"role": ..., "content": ...}`` dicts; ``sample`` is the
sample index (requests that differ only in it are distinct samples, which is what the cache
keys on); ``meta`` is side information about the request that real backends ignore (the
simulated backend reads the role, the question and the answer state from it). Backends must
be thread-safe: the workflow may run several episodes concurrently.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from handoffq.core.errors import HandoffqError

__all__ = ["BackendStats", "Completion", "LLMBackend", "LLMError", "Messages"]

Messages = list[dict[str, str]]


class LLMError(HandoffqError, RuntimeError):
    """A backend failed for good (after its retries) or is misconfigured (names the problem)."""


@dataclass(frozen=True)
class Completion:
    """One model reply: its text and token counts (``cached``: served from the cache)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False


@dataclass
class BackendStats:
    """Counts of a backend's work (thread-safe increments through :meth:`add`).

    ``calls``: requests answered by the model itself; ``cache_hits``: requests served from
    the cache; ``retries``: failed attempts that were retried; ``cost``: in the currency of
    the price table (0 when none is given).
    """

    calls: int = 0
    cache_hits: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **deltas: float) -> None:
        """Add to counters atomically, e.g. ``stats.add(calls=1, prompt_tokens=12)``."""
        with self._lock:
            for k, v in deltas.items():
                setattr(self, k, getattr(self, k) + v)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the counters without the lock (see :meth:`__setstate__`)."""
        state = dict(self.__dict__)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore the counters with a fresh lock."""
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def as_dict(self) -> dict[str, float]:
        """Plain dict of the counters."""
        return {
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": self.cost,
        }


@runtime_checkable
class LLMBackend(Protocol):
    """What the workflow needs from an LLM.

    Attributes:
        name: backend kind (``"openai"``, ``"llamacpp"``, ``"simulated"``); part of cache keys.
        model: model identifier; part of cache keys.
        simulated: True for a stand-in model (outputs fed by it say so).
        stats: usage counters.
    """

    name: str
    model: str
    simulated: bool
    stats: BackendStats

    def complete(
        self,
        messages: Messages,
        params: dict[str, Any] | None = None,
        sample: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> Completion:
        """Answer one chat request."""


def count_tokens_rough(text: str) -> int:
    """A rough token count (about 4 characters a token) for backends that report none."""
    return max(1, (len(text) + 3) // 4) if text else 0
