"""Step-size schedules: constant, ``a0 / (1 + t / t0)`` and per-pair visit counts.

A :class:`StepSize` is a small serialisable spec (it goes into ``config.json``) and a
vectorised callable: ``schedule(t, visits)`` works on scalars and on numpy arrays alike, so the
scalar and the batch updates of an agent share one formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["StepSize", "step_size"]


@dataclass(frozen=True)
class StepSize:
    """A step-size schedule.

    kind:
        ``"constant"``: ``a0``.
        ``"decay"``: ``a0 / (1 + t / t0)`` with ``t`` the agent's update count.
        ``"visits"``: ``a0 / n(o, k) ** power`` with ``n`` the visits of the pair (>= 1);
        ``power`` in (0.5, 1] satisfies the Robbins-Monro conditions.
        ``"visits_offset"``: ``a0 * ((1 + t0) / (n + t0)) ** power`` - the same per-pair
        schedule with an offset ``t0``: steps stay near ``a0`` for the first ``~t0`` visits (old,
        optimistic estimates are forgotten quickly while values propagate), then decay like
        ``n ** -power`` (noise is averaged out). It is ``a0`` at the first visit.
    """

    kind: Literal["constant", "decay", "visits", "visits_offset"] = "visits"
    a0: float = 1.0
    t0: float = 1000.0
    power: float = 0.7

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "decay", "visits", "visits_offset"):
            raise ValueError(f"unknown step-size schedule {self.kind!r}")
        if not 0 < self.a0 <= 10:
            raise ValueError(f"step size a0 must be in (0, 10], got {self.a0}")
        if self.t0 <= 0:
            raise ValueError(f"step size t0 must be positive, got {self.t0}")

    def __call__(self, t: np.ndarray | int, visits: np.ndarray | int) -> np.ndarray:
        """Step sizes for updates number ``t`` of pairs visited ``visits`` times (broadcast)."""
        t_arr = np.asarray(t, dtype=float)
        v_arr = np.asarray(visits, dtype=float)
        shape = np.broadcast(t_arr, v_arr).shape
        if self.kind == "constant":
            return np.full(shape, self.a0)
        if self.kind == "decay":
            return np.broadcast_to(self.a0 / (1.0 + t_arr / self.t0), shape).astype(float)
        n = np.maximum(v_arr, 1.0)
        if self.kind == "visits_offset":
            return np.broadcast_to(self.a0 * ((1.0 + self.t0) / (n + self.t0)) ** self.power, shape).astype(float)
        return np.broadcast_to(self.a0 / n**self.power, shape).astype(float)


def step_size(schedule: StepSize, t: int, visits: int) -> float:
    """Step size for the ``t``-th update of an agent whose pair has ``visits`` visits."""
    return float(schedule(t, visits))
