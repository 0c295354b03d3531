"""Exploration over admissible successors only: epsilon-greedy and Boltzmann."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Exploration", "choose", "choose_batch", "greedy"]


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
        return max(self.epsilon_min, self.epsilon * self.decay**t)


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


def choose_batch(
    q: np.ndarray, mask: np.ndarray, exploration: Exploration, t: int, rng: np.random.Generator
) -> np.ndarray:
    """Vectorised :func:`choose`: ``q`` and boolean ``mask`` are ``(B, A)``."""
    b = q.shape[0]
    neg = np.where(mask, q, -np.inf)
    if exploration.kind == "epsilon":
        greedy_idx = np.argmax(neg, axis=1)
        u = rng.random((b, mask.shape[1])) * mask
        random_idx = np.argmax(u, axis=1)  # uniform among admissible
        explore = rng.random(b) < exploration.epsilon_at(t)
        return np.where(explore, random_idx, greedy_idx)
    z = neg / exploration.temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) * mask
    p /= p.sum(axis=1, keepdims=True)
    c = np.cumsum(p, axis=1)
    r = rng.random((b, 1)) * c[:, -1:]
    idx = np.minimum((c < r).sum(axis=1), mask.shape[1] - 1)
    # rounding can land past the last admissible column: fall back to the greedy choice there
    return np.where(mask[np.arange(b), idx], idx, np.argmax(neg, axis=1))
