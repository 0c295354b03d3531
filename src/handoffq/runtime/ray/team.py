"""The episode loop's view of a team whose agents live in Ray actors."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray

from handoffq.core.agent import OwnView
from handoffq.core.channel import Delivery

__all__ = ["RemoteTeam"]


class RemoteTeam:
    """Implements :class:`~handoffq.runtime.loop.Team` with remote calls: the calls of one
    phase (e.g. every agent's decisions of a round) are issued together, then awaited."""

    def __init__(self, actors: Sequence[Any], wants_own_view: Sequence[bool]) -> None:
        self.actors = list(actors)
        self._own = [bool(w) for w in wants_own_view]

    def wants_own_view(self, agent: int) -> bool:
        """Whether ``agent`` is a naive baseline."""
        return self._own[agent]

    def decide(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray]], greedy: bool
    ) -> list[np.ndarray]:
        """Every group's ``decide_batch``, concurrently."""
        return ray.get([self.actors[a].decide_batch.remote(k, o, m, greedy) for a, k, o, m in groups])

    def value(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Every group's ``value_batch``, concurrently."""
        return ray.get([self.actors[a].value_batch.remote(o, m) for a, o, m in groups])

    def receive(self, deliveries: Sequence[tuple[Delivery, OwnView | None]]) -> None:
        """Every predecessor's replies, concurrently (returns once all are applied)."""
        ray.get([self.actors[d.agent].receive_batch.remote(d.keys, d.messages, own) for d, own in deliveries])

    def decide_local(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]], greedy: bool) -> list[np.ndarray]:
        """Every group's ``decide_local_batch``, concurrently."""
        return ray.get([self.actors[a].decide_local_batch.remote(k, o, greedy) for a, k, o in groups])

    def after_local(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    ) -> None:
        """Every group's local outcomes, concurrently."""
        ray.get([self.actors[a].after_local_batch.remote(k, r, o, m, t) for a, k, r, o, m, t in groups])

    def forget(self, slots: np.ndarray) -> None:
        """Best effort: every live actor drops the pending decisions of ``slots``."""
        refs = [a.forget_slots.remote(slots) for a in self.actors]
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.get(ref)
