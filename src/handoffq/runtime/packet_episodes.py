"""Routes learned from packets: asynchronous episodes between random pairs, on the shared loop.

The default static training of the routing experiment. Every slot of a
:class:`~handoffq.envs.routing.RoutingVecEnv` carries one packet with a uniformly drawn
``(source, destination)`` pair. Each round of :class:`~handoffq.runtime.loop.EpisodeLoop` (the
episode loop every runner uses) makes every packet hop once: its current router observes
``(destination, detained)`` and picks a successor among its neighbours with its own exploration
rule, the packet hops (after any detention), and the successor - if the packet was not
delivered - computes ``v = max_c Q_k(o', c)`` at its own observation; the replies ``(v, tau, R)``
cross the audited :class:`~handoffq.core.channel.Channel` to the predecessors, which update. A
delivered or truncated (hop limit) packet is replaced in its slot by a fresh one, so episodes
are asynchronous: the slots are independent packets at different stages of their routes.

The team is any loop :class:`~handoffq.runtime.loop.Team`: the vectorised
:class:`~handoffq.learn.router_team.ICQRouterTeam` (fast), or a
:class:`~handoffq.runtime.loop.LocalTeam` of per-router agent objects (the same updates).

This is the routers' own experience only. The alternative schedule,
:class:`~handoffq.runtime.routing_sweep.RouterSweepRunner` with ``"probe"``, forces every router
to probe every ``(destination, neighbour)`` pair once per sweep: a *distributed Bellman-Ford
schedule* (``static_training="bellman_ford"`` in the experiment).
"""

from __future__ import annotations

import networkx as nx

from handoffq.core.channel import Auditor, Channel
from handoffq.envs.routing import RoutingConfig, RoutingVecEnv
from handoffq.runtime.base import Progress, TrainStats
from handoffq.runtime.loop import EpisodeLoop, Team

__all__ = ["EpisodicRouterTrainer"]


class EpisodicRouterTrainer:
    """Trains a router team from packets sent between random pairs (see the module docstring).

    Args:
        graph: the routing graph (validated and relabelled by the environment).
        team: the routers, reached through the loop's :class:`~handoffq.runtime.loop.Team`
            protocol; a team with ``start_batch`` gets it called with ``n_slots``.
        config: environment configuration (costs, discount, detention, hop limit).
        n_slots: packets in flight at once (1 = one packet at a time).
        seed: seeds the environment (pairs and detentions).
        auditor: sees every message ``(src, dst, MessageBatch)`` that crosses the channel.
    """

    def __init__(
        self,
        graph: nx.Graph,
        team: Team,
        config: RoutingConfig | None = None,
        n_slots: int = 1024,
        seed: int = 0,
        auditor: Auditor | None = None,
    ) -> None:
        self.env = RoutingVecEnv(graph, config, n_envs=n_slots, seed=seed)
        nbr = getattr(team, "nbr", None)
        if nbr is not None:
            have = [tuple(int(k) for k in row if k >= 0) for row in nbr]
            if have != [tuple(self.env.candidates(i)) for i in range(self.env.n_agents)]:
                raise ValueError("the team's candidate lists differ from the graph's neighbours")
        start = getattr(team, "start_batch", None)
        if start is not None:
            start(n_slots)
        self.team = team
        self.channel = Channel(auditor)
        self.stats = TrainStats()
        self.loop = EpisodeLoop(self.env, team, self.channel, learn=True)

    def train(self, handoffs: int, progress: Progress | None = None) -> TrainStats:
        """Play rounds until at least ``handoffs`` more handoffs are done (whole rounds)."""
        target = self.stats.handoffs + int(handoffs)
        while self.stats.handoffs < target:
            n, finished = self.loop.round()
            self.stats.handoffs += n
            self.stats.episodes += len(finished)
            if progress is not None:
                progress(n)
        self.stats.primitive_steps = self.loop.primitive_steps
        self.stats.messages = self.channel.n_messages
        return self.stats

    @property
    def n_slots(self) -> int:
        """Packets in flight at once."""
        return int(self.env.n_envs)

