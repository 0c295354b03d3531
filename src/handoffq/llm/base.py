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
from typing import Any, ClassVar, Protocol, runtime_checkable

from handoffq.core.errors import HandoffqError

__all__ = ["Backend", "BackendStats", "Completion", "LLMBackend", "LLMError", "LockFreePickle", "Messages"]

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


class LockFreePickle:
    """Mixin: pickle without the process-local attributes, recreate them on unpickling.

    Locks, semaphores, clients and connections cannot (or must not) travel to Ray actors or
    other processes. :attr:`_transient` names the attributes left out of the pickle;
    :meth:`_restore` recreates them after unpickling (default: a fresh ``_lock``).
    """

    _transient: ClassVar[tuple[str, ...]] = ("_lock",)

    def __getstate__(self) -> dict[str, Any]:
        """The instance's attributes less the :attr:`_transient` ones."""
        state = dict(self.__dict__)
        for name in self._transient:
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`__getstate__`, then :meth:`_restore` the transient attributes."""
        self.__dict__.update(state)
        self._restore()

    def _restore(self) -> None:
        """Recreate the transient attributes (here: a fresh lock)."""
        self._lock = threading.Lock()


@dataclass
class BackendStats(LockFreePickle):
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


class Backend(LockFreePickle):
    """Base of the concrete backends: :meth:`complete` answers through :meth:`_answer` and
    does the bookkeeping (a call or a cache hit, tokens, cost) in :attr:`stats`.

    Subclasses set ``name``, ``model``, ``stats`` (and ``simulated`` when True) and implement
    :meth:`_answer`; :meth:`_cost` prices a completion (0 by default).
    """

    name: str
    model: str
    simulated: bool = False
    stats: BackendStats

    def complete(
        self,
        messages: Messages,
        params: dict[str, Any] | None = None,
        sample: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> Completion:
        """Answer one chat request (see :meth:`_answer`) and count it in :attr:`stats`."""
        out = self._answer(messages, dict(params or {}), int(sample), meta)
        counter = "cache_hits" if out.cached else "calls"
        self.stats.add(
            **{counter: 1},
            prompt_tokens=out.prompt_tokens,
            completion_tokens=out.completion_tokens,
            cost=self._cost(out),
        )
        return out

    def _answer(
        self, messages: Messages, params: dict[str, Any], sample: int, meta: dict[str, Any] | None
    ) -> Completion:
        """The completion itself (``params`` a fresh dict the subclass may change)."""
        raise NotImplementedError

    def _cost(self, out: Completion) -> float:
        """What ``out`` cost in the currency of the backend's price table (none here: 0)."""
        return 0.0


def count_tokens_rough(text: str) -> int:
    """A rough token count (about 4 characters a token) for backends that report none."""
    return max(1, (len(text) + 3) // 4) if text else 0


def rough_usage(messages: Messages, text: str) -> tuple[int, int]:
    """Rough ``(prompt_tokens, completion_tokens)`` of a request and its reply (no usage given)."""
    return sum(count_tokens_rough(m.get("content", "")) for m in messages), count_tokens_rough(text)
