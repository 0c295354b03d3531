"""A distributed Bellman-Ford training schedule for routers, on the shared episode loop.

:class:`RouterSweepRunner` trains routers in *sweeps*: each sweep visits every router once
(random order) and that router hands fresh packets to its neighbours; every handoff is one
round of :class:`~handoffq.runtime.loop.EpisodeLoop` cut after one hop (a time limit, so the
successor's value is bootstrapped), so decisions, replies through the audited channel and
updates are exactly those of the other runners. Two schedules:

* ``"probe"`` (a distributed Bellman-Ford schedule): router ``i`` sends one probe packet per
  ``(destination, neighbour)`` pair - for the probe to ``k`` the interface admits only ``k``.
  Every entry of ``i``'s table is refreshed once per sweep, so convergence takes about the
  graph's diameter in sweeps, independent of the degrees. ``deg(i) * (N - 1)`` samples.
* ``"greedy"``: one packet per destination, the successor chosen by the agent over all
  neighbours. ``N - 1`` samples per router.

Later routers in a sweep already see their successors' fresh values (Gauss-Seidel).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np

from handoffq.core.channel import Auditor, Channel
from handoffq.envs.routing import RoutingConfig, RoutingVecEnv
from handoffq.runtime.base import Progress, TrainStats, check_team
from handoffq.runtime.loop import EpisodeLoop, LocalTeam

__all__ = ["SCHEDULES", "RouterSweepRunner"]

SCHEDULES = ("probe", "greedy")


class _ForcedMasks(RoutingVecEnv):
    """A routing environment whose admissible masks can be narrowed to one neighbour per slot."""

    forced: np.ndarray | None = None
    forced_agent = -1

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """The forced one-hot rows of the probing router when set, else every neighbour."""
        if self.forced is not None and agent == self.forced_agent:
            return self.forced[slots]
        return super().mask(slots, agent)


class RouterSweepRunner:
    """Trains routers in sweeps (see the module docstring).

    Args:
        graph: the routing graph (validated as in :class:`~handoffq.envs.routing.RoutingEnv`).
        agents: one agent per router.
        config: the environment configuration.
        seed: seeds the environment (detention) and the sweep order.
        auditor: optional ``(src, dst, payload)`` callable seeing every message.
        schedule: ``"probe"`` or ``"greedy"``.
    """

    def __init__(
        self,
        graph: nx.Graph,
        agents: Sequence[Any],
        config: RoutingConfig | None = None,
        seed: int = 0,
        auditor: Auditor | None = None,
        schedule: str = "probe",
    ) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown sweep schedule {schedule!r} (expected one of {SCHEDULES})")
        self.schedule = schedule
        env_seed, order_seed = (int(c.generate_state(1)[0]) for c in np.random.SeedSequence(int(seed)).spawn(2))
        probe = RoutingVecEnv(graph, config, n_envs=1, seed=env_seed)
        n = probe.n_agents
        max_deg = max(len(probe.neighbours(i)) for i in range(n))
        slots = (n - 1) * (max_deg if schedule == "probe" else 1)
        self.env = _ForcedMasks(graph, config, n_envs=slots, seed=env_seed)
        self.agents = check_team(agents, n)
        self.channel = Channel(auditor)
        self.stats = TrainStats()
        self.sweeps = 0
        self._rng = np.random.default_rng(order_seed)
        for a in self.agents:
            a.start_batch(slots)
        self.loop = EpisodeLoop(self.env, LocalTeam(self.agents), self.channel, learn=True, max_handoffs=1)

    def _place(self, i: int) -> int:
        """Fresh packets at router ``i`` in the first slots; returns how many."""
        env, n = self.env, self.env.n_agents
        dests = np.delete(np.arange(n), i)
        if self.schedule == "greedy":
            env.forced = None
            env.place(i, dests, np.arange(len(dests)))
            return len(dests)
        deg = len(env.neighbours(i))
        m = deg * len(dests)
        forced = np.zeros((env.n_envs, deg), dtype=bool)
        forced[np.arange(m), np.repeat(np.arange(deg), len(dests))] = True  # probe to neighbour c admits c only
        env.forced, env.forced_agent = forced, i
        env.place(i, np.tile(dests, deg), np.arange(m))
        return m

    def sweep(self) -> int:
        """One sweep over every router; returns the number of handoffs played."""
        done = 0
        for i in self._rng.permutation(self.env.n_agents):
            m = self._place(int(i))
            h, finished = self.loop.round(limit=m)
            done += h
            self.stats.episodes += len(finished)
        self.env.forced = None
        self.stats.handoffs += done
        self.stats.primitive_steps = self.loop.primitive_steps
        self.stats.messages = self.channel.n_messages
        self.sweeps += 1
        return done

    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Sweep until at least ``budget`` more handoffs are done."""
        target = self.stats.handoffs + int(budget)
        while self.stats.handoffs < target:
            h = self.sweep()
            if progress is not None:
                progress(h)
        return self.stats
