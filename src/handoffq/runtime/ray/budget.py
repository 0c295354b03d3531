"""Budget arithmetic of the distributed runner (pure functions, testable without Ray)."""

from __future__ import annotations

import math

__all__ = ["MIN_CHUNK", "chunk_size", "episode_seed_base", "slot_range", "split_budget"]

MIN_CHUNK = 256
"""Smallest default chunk (handoffs between checkpoints): each chunk costs a few RPCs."""


def chunk_size(budget: int, chunk: int | None = None) -> int:
    """Handoffs per chunk: ``chunk`` if given, else a twentieth of the budget (>= MIN_CHUNK)."""
    if chunk is not None:
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {chunk}")
        return int(chunk)
    return max(MIN_CHUNK, math.ceil(int(budget) / 20))


def split_budget(n: int, m: int) -> list[int]:
    """``n`` handoffs shared by ``m`` environment actors as evenly as possible (sums to ``n``)."""
    if m < 1:
        raise ValueError(f"need at least one environment actor, got {m}")
    return [n // m + (1 if e < n % m else 0) for e in range(m)]


def slot_range(index: int, n_slots: int) -> range:
    """The agents' decision keys (global slot ids) of environment actor ``index``."""
    return range(index * n_slots, (index + 1) * n_slots)


def episode_seed_base(seed: int, index: int, generation: int) -> int:
    """First episode seed of environment actor ``index`` in its ``generation`` (restarts)."""
    return int(seed) + (int(generation) * 1_000 + int(index)) * 1_000_003
