"""The runner interface shared by the in-process, batched and distributed runners.

A runner owns scheduling and message passing; agents own their update rule; environments own
the dynamics. ``train`` plays episodes until a budget of *handoff updates* (decision epochs)
is spent and returns :class:`TrainStats`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["TrainStats", "Runner", "Progress"]

Progress = Callable[[int], None]
"""Called with the number of handoffs done since the last call (for progress bars)."""


@dataclass
class TrainStats:
    """What a training run did."""

    episodes: int = 0
    handoffs: int = 0
    primitive_steps: int = 0
    messages: int = 0
    returns: list[float] = field(default_factory=list)


class Runner(Protocol):
    """Plays episodes of an environment with a team of agents."""

    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Train until ``budget`` handoffs have been played."""
