"""The runner interface shared by the in-process, batched and distributed runners.

A runner owns scheduling and message passing; agents own their update rule; environments own
the dynamics. ``train`` plays episodes until a budget of *handoff updates* (decision epochs)
is spent and returns :class:`TrainStats`; ``evaluate`` plays greedy episodes, each cut after a
handoff cap (a greedy policy may loop forever).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["DEFAULT_EVAL_CAP", "EvalStats", "Progress", "Runner", "TrainStats", "check_team"]

Progress = Callable[[int], None]
"""Called with the number of handoffs done since the last call (for progress bars)."""

DEFAULT_EVAL_CAP = 1000
"""Handoffs after which a greedy evaluation episode is cut (and counted as capped)."""


@dataclass
class TrainStats:
    """What a training run did."""

    episodes: int = 0
    handoffs: int = 0
    primitive_steps: int = 0
    messages: int = 0
    returns: list[float] = field(default_factory=list)


@dataclass
class EvalStats:
    """Greedy evaluation: mean discounted return, episodes, and how many hit the handoff cap."""

    mean_return: float
    episodes: int
    capped: int
    returns: list[float] = field(default_factory=list)


class Runner(Protocol):
    """Plays episodes of an environment with a team of agents."""

    stats: TrainStats

    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Train until ``budget`` more handoffs have been played."""

    def evaluate(self, episodes: int, seed: int = 10**6, max_handoffs: int = DEFAULT_EVAL_CAP) -> float:
        """Mean discounted return of the greedy policies over ``episodes`` episodes."""


def check_team(agents: Iterable[Any], n_agents: int) -> list[Any]:
    """The agents as a list, checked to be one per environment agent, ordered by id."""
    team = list(agents)
    if len(team) != n_agents:
        raise ValueError(f"{len(team)} agents given for an environment of {n_agents}")
    ids = [int(getattr(a, "agent_id", i)) for i, a in enumerate(team)]
    if ids != list(range(n_agents)):
        raise ValueError(f"agents must be ordered by agent_id 0 .. {n_agents - 1}, got {ids}")
    return team
