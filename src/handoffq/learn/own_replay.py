"""Experience replay inside one agent (own_replay): an estimator wrapper that revisits its own past targets.

:class:`ReplayEstimator` wraps any batch estimator. Every ``update_batch(obs, actions, targets,
steps)`` is passed on, stored in a ring buffer, and followed by ``replay_steps`` updates on
minibatches of ``replay_batch`` stored ``(obs, action, target)`` rows. The targets are those the
agent itself formed (``R + gamma**tau * v`` from messages it received, or its own local-action
targets), so nothing new crosses an agent boundary: replay only reuses, inside the agent, what
already reached it. Stored targets are not recomputed (a replayed local-action target uses the
successor values of the time it was formed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ReplayEstimator"]


class ReplayEstimator:
    """``inner`` plus a replay buffer of its own updates (see the module docstring)."""

    def __init__(self, inner: Any, capacity: int, replay_batch: int = 32, replay_steps: int = 4,
                 seed: int = 0) -> None:
        if capacity < 1 or replay_batch < 1 or replay_steps < 0:
            raise ValueError(f"replay needs capacity >= 1, replay_batch >= 1, replay_steps >= 0, got "
                             f"{capacity}, {replay_batch}, {replay_steps}")
        self.inner = inner
        self.n_actions = int(inner.n_actions)
        self.capacity, self.replay_batch, self.replay_steps = int(capacity), int(replay_batch), int(replay_steps)
        self.rng = np.random.default_rng(seed)
        self._obs: np.ndarray | None = None
        self._act = np.zeros(self.capacity, np.int64)
        self._tgt = np.zeros(self.capacity)
        self._step = np.zeros(self.capacity)
        self.size = 0
        self._head = 0

    def values(self, obs: Sequence[int]) -> np.ndarray:
        """The inner estimator's values."""
        return np.asarray(self.inner.values(obs))

    def values_batch(self, obs: np.ndarray) -> np.ndarray:
        """The inner estimator's values for a batch."""
        return np.asarray(self.inner.values_batch(obs))

    def update(self, obs: Sequence[int], action: int, target: float, step_size: float) -> float:
        """One update (stored, then replayed like a batch of one); returns the TD error."""
        err = float(self.inner.update(obs, action, target, step_size))
        self._store(np.asarray([obs]), np.asarray([action]), np.asarray([target], float), np.asarray([step_size]))
        self._replay()
        return err

    def update_batch(self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step_sizes: np.ndarray) -> None:
        """The update, stored, then ``replay_steps`` replayed minibatches."""
        if not len(actions):
            return
        steps = np.broadcast_to(np.asarray(step_sizes, float), (len(actions),))
        self.inner.update_batch(obs, actions, targets, steps)
        self._store(np.asarray(obs), np.asarray(actions), np.asarray(targets, float), steps)
        self._replay()

    def _store(self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, steps: np.ndarray) -> None:
        if self._obs is None:
            self._obs = np.zeros((self.capacity, obs.shape[1]), np.int64)
        idx = (self._head + np.arange(len(actions))) % self.capacity
        self._obs[idx], self._act[idx], self._tgt[idx], self._step[idx] = obs, actions, targets, steps
        self._head = int((self._head + len(actions)) % self.capacity)
        self.size = min(self.capacity, self.size + len(actions))

    def _replay(self) -> None:
        if self._obs is None:
            return
        for _ in range(self.replay_steps):
            i = self.rng.integers(self.size, size=min(self.replay_batch, self.size))
            self.inner.update_batch(self._obs[i], self._act[i], self._tgt[i], self._step[i])

    def state_dict(self) -> dict[str, Any]:
        """The inner state, the buffer and the generator."""
        return {"inner": self.inner.state_dict(), "obs": None if self._obs is None else self._obs.copy(),
                "act": self._act.copy(), "tgt": self._tgt.copy(), "step": self._step.copy(),
                "size": self.size, "head": self._head, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.inner.load_state_dict(state["inner"])
        self._obs = None if state["obs"] is None else np.asarray(state["obs"]).copy()
        self._act[...], self._tgt[...], self._step[...] = state["act"], state["tgt"], state["step"]
        self.size, self._head = int(state["size"]), int(state["head"])
        self.rng.bit_generator.state = state["rng"]
