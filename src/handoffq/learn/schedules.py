"""Step-size schedules: constant, ``a0 / (1 + t / t0)`` and per-pair visit counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["StepSize", "step_size"]


@dataclass(frozen=True)
class StepSize:
    """A step-size schedule.

    kind:
        ``"constant"``: ``a0``.
        ``"decay"``: ``a0 / (1 + t / t0)`` with ``t`` the agent's update count.
        ``"visits"``: ``a0 / n(o, k) ** power`` with ``n`` the visits of the pair (>= 1);
        ``power`` in (0.5, 1] satisfies the Robbins-Monro conditions.
    """

    kind: Literal["constant", "decay", "visits"] = "visits"
    a0: float = 1.0
    t0: float = 1000.0
    power: float = 0.7

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "decay", "visits"):
            raise ValueError(f"unknown step-size schedule {self.kind!r}")
        if not 0 < self.a0 <= 10:
            raise ValueError(f"step size a0 must be in (0, 10], got {self.a0}")


def step_size(schedule: StepSize, t: int, visits: int) -> float:
    """Step size for the ``t``-th update of an agent whose pair has ``visits`` visits."""
    if schedule.kind == "constant":
        return schedule.a0
    if schedule.kind == "decay":
        return schedule.a0 / (1.0 + t / schedule.t0)
    return schedule.a0 / max(visits, 1) ** schedule.power
