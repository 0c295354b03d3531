"""A Q table keyed by the raw observation, for observation spaces too large to index.

:class:`DictTableEstimator` keeps one row per observation it has been updated on (a dict keyed
by the observation's bytes); every other observation reads ``init``. It is the *memorising*
learner: it can act only on what it has seen, however large the space (e.g. observations that
carry integer values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["DictTableEstimator"]


class DictTableEstimator:
    """``Q(o, .)`` rows created on first update; unseen observations read ``init``."""

    def __init__(self, n_actions: int, init: float = 0.0) -> None:
        if n_actions < 1:
            raise ValueError(f"n_actions must be >= 1, got {n_actions}")
        self.n_actions = int(n_actions)
        self.init = float(init)
        self.table: dict[bytes, np.ndarray] = {}

    @staticmethod
    def _keys(obs: np.ndarray) -> list[bytes]:
        obs = np.ascontiguousarray(np.asarray(obs, dtype=np.int64).reshape(len(obs), -1))
        return [row.tobytes() for row in obs]

    def values(self, obs: Sequence[int]) -> np.ndarray:
        """The row of one observation (a copy)."""
        return self.values_batch(np.asarray([obs]))[0]

    def values_batch(self, obs: np.ndarray) -> np.ndarray:
        """Rows of a batch ``(B, d)`` (unseen: ``init``)."""
        out = np.full((len(obs), self.n_actions), self.init)
        for b, k in enumerate(self._keys(obs)):
            row = self.table.get(k)
            if row is not None:
                out[b] = row
        return out

    def update(self, obs: Sequence[int], action: int, target: float, step_size: float) -> float:
        """``Q <- Q + step * (target - Q)``; returns the TD error before it."""
        key = self._keys(np.asarray([obs]))[0]
        row = self.table.setdefault(key, np.full(self.n_actions, self.init))
        err = float(target - row[action])
        row[action] += step_size * err
        return err

    def update_batch(self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step_sizes: np.ndarray) -> None:
        """The updates of a batch, in order."""
        steps = np.broadcast_to(np.asarray(step_sizes, float), (len(actions),))
        for k, a, y, s in zip(self._keys(obs), np.asarray(actions), np.asarray(targets, float), steps, strict=True):
            row = self.table.setdefault(k, np.full(self.n_actions, self.init))
            row[a] += s * (y - row[a])

    @property
    def n_rows(self) -> int:
        """Observations with a row (no ``__len__``: an empty table must stay truthy)."""
        return len(self.table)

    def state_dict(self) -> dict[str, Any]:
        """The rows."""
        return {"init": self.init, "table": {k: v.copy() for k, v in self.table.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the rows."""
        self.init = float(state["init"])
        self.table = {bytes(k): np.asarray(v, float).copy() for k, v in state["table"].items()}
