"""Exploration over admissible successors only: epsilon-greedy and Boltzmann."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Exploration", "choose", "choose_batch", "greedy", "masked_argmax", "masked_max"]


@dataclass(frozen=True)
class Exploration:
    """How an agent explores.

    ``epsilon``: probability of a uniform admissible choice (epsilon-greedy); it decays as
    ``max(epsilon_min, epsilon * decay**t)``. ``temperature``: Boltzmann temperature
    (used when ``kind == "boltzmann"``).
    """

    kind: Literal["epsilon", "boltzmann"] = "epsilon"
    epsilon: float = 0.1
    epsilon_min: float = 0.0
    decay: float = 1.0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("epsilon", "boltzmann"):
            raise ValueError(f"unknown exploration {self.kind!r}")
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")

    def epsilon_at(self, t: int) -> float:
        """Epsilon after ``t`` decisions."""
        if self.decay == 1.0:
            return max(self.epsilon_min, self.epsilon)
        return max(self.epsilon_min, self.epsilon * self.decay**t)

    def uniform_at(self, t: int) -> bool:
        """Whether the choice after ``t`` decisions ignores the values (epsilon-greedy at 1)."""
        return self.kind == "epsilon" and self.epsilon_at(t) >= 1.0


def greedy(q: np.ndarray, allowed: np.ndarray) -> int:
    """Index of the largest ``q`` among ``allowed`` indices (first on ties)."""
    return int(allowed[int(np.argmax(q[allowed]))])


def choose(
    q: np.ndarray, allowed: np.ndarray, exploration: Exploration, t: int, rng: np.random.Generator
) -> int:
    """Pick an action index among ``allowed`` (a non-empty int array) from values ``q``."""
    if exploration.kind == "epsilon":
        if rng.random() < exploration.epsilon_at(t):
            return int(allowed[rng.integers(len(allowed))])
        return greedy(q, allowed)
    z = q[allowed] / exploration.temperature
    p = np.exp(z - z.max())
    return int(allowed[rng.choice(len(allowed), p=p / p.sum())])


def _shared_row(mask: np.ndarray) -> bool:
    """Whether every row of a ``(B, A)`` mask is one broadcast row (``np.broadcast_to``)."""
    return mask.ndim == 2 and mask.shape[0] > 0 and mask.strides[0] == 0


def masked_max(q: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row-wise maximum of ``q`` over the ``True`` entries of ``mask`` (both ``(B, A)``).

    With one broadcast mask row it is a running maximum over the admissible columns (faster
    than a masked ``max(axis=1)`` for the few columns of a successor set).
    """
    if _shared_row(mask):
        cols = mask[0].nonzero()[0]
        out = q[:, cols[0]].copy()
        for c in cols[1:]:
            np.maximum(out, q[:, c], out=out)
        return out
    return np.where(mask, q, -np.inf).max(axis=1)


def masked_argmax(q: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Row-wise column of the largest ``q`` among the ``True`` entries of ``mask`` (first on ties)."""
    return np.argmax(np.where(mask, q, -np.inf), axis=1)


def choose_batch(
    q: np.ndarray | None, mask: np.ndarray, exploration: Exploration, t: int, rng: np.random.Generator
) -> np.ndarray:
    """Vectorised :func:`choose`: ``q`` and boolean ``mask`` are ``(B, A)``.

    ``q`` may be ``None`` when the choice ignores it (:meth:`Exploration.uniform_at`). A mask
    that is one broadcast row (every slot has the same admissible set) takes a fast path that
    draws only the random numbers it uses; any other mask draws exactly what earlier versions
    drew, so their runs are reproduced bit for bit.
    """
    b = mask.shape[0]
    if exploration.kind == "epsilon":
        eps = exploration.epsilon_at(t)
        if _shared_row(mask):
            return _epsilon_shared(q, mask, eps, rng)
        random_idx = np.argmax(rng.random(mask.shape) * mask, axis=1)  # uniform among admissible
        explore = rng.random(b) < eps
        if eps >= 1.0:
            return random_idx
        return np.where(explore, random_idx, masked_argmax(_need(q), mask))
    neg = np.where(mask, _need(q), -np.inf)
    z = neg / exploration.temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) * mask
    p /= p.sum(axis=1, keepdims=True)
    c = np.cumsum(p, axis=1)
    r = rng.random((b, 1)) * c[:, -1:]
    idx = np.minimum((c < r).sum(axis=1), mask.shape[1] - 1)
    # rounding can land past the last admissible column: fall back to the greedy choice there
    return np.where(mask[np.arange(b), idx], idx, np.argmax(neg, axis=1))


def _need(q: np.ndarray | None) -> np.ndarray:
    if q is None:
        raise ValueError("choose_batch needs the values q unless the choice is uniform")
    return q


def _epsilon_shared(q: np.ndarray | None, mask: np.ndarray, eps: float, rng: np.random.Generator) -> np.ndarray:
    """Epsilon-greedy over one admissible row shared by all slots (draws only what it uses)."""
    if eps <= 0.0:
        return masked_argmax(_need(q), mask)
    allowed = mask[0].nonzero()[0]
    random_idx = allowed[rng.integers(len(allowed), size=mask.shape[0])]
    if eps >= 1.0:
        return random_idx
    explore = rng.random(mask.shape[0]) < eps
    return np.where(explore, random_idx, masked_argmax(_need(q), mask))
