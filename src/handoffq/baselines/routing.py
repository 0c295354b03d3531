"""Routing baselines: shortest paths (the oracle), random walk, naive independent Q, and
Boyan-Littman Q-routing.

* **Shortest path** - :func:`shortest_path_next_hops` is a centralised oracle: it sees the
  whole graph and picks, for every ``(router, destination)``, the lowest-numbered neighbour
  on a shortest path. :class:`ShortestPathRouter` plays that table in the multi-packet
  simulator (recomputed by the oracle when a link fails).
* **Random walk** - every router forwards to a uniformly random neighbour;
  :func:`random_walk_accuracy` gives the exact probability that the walk follows a shortest
  path (a dynamic programme over distance layers, no sampling).
* **Naive independent Q** - :class:`NaiveRoutingAgent` bootstraps from its own
  ``max_k Q_i(d, ., k)`` instead of the next router's value (paper section 3). Its fixed
  point only knows "hand the packet to its destination if it is a neighbour".
* **Boyan-Littman Q-routing** - :func:`q_routing_team`. Boyan and Littman (1994) keep
  ``T_x(d, y)``, the estimated time to deliver a packet for ``d`` from ``x`` via ``y``; when
  ``x`` sends a packet to ``y``, ``y`` immediately returns ``t = min_z T_y(d, z)`` and ``x``
  updates ``T_x(d, y) += eta * (q + s + t - T_x(d, y))`` with ``q`` the time the packet spent
  in ``x``'s queue and ``s`` the transmission time. With ``Q = -T`` this *is* the IC-Q update
  (eq. 5) with ``gamma = 1``: value ``v = max_z Q_y(d, z) = -t``, duration ``tau = q + s``
  and reward ``R = -tau``, so ``Q_x(d, y) += eta * (R + gamma**tau * v - Q_x(d, y))``. The
  baseline is therefore an :class:`~handoffq.learn.agent.ICQAgent` observing the destination
  only, with a constant step ``eta``, greedy decisions, and the Boyan-Littman *timing*: the
  message is sent when the packet arrives at ``y`` (``tau`` = wait at ``x`` + transmission),
  whereas IC-Q's successor replies when it becomes active for the packet, i.e. when it serves
  it (``tau`` = transmission + wait at ``y``), and IC-Q also sees the detained flag.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from handoffq.baselines.naive import NaiveIndependentAgent
from handoffq.core.channel import MessageBatch
from handoffq.learn.agent import ICQAgent
from handoffq.learn.estimators import TabularEstimator
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize

__all__ = [
    "NaiveRoutingAgent",
    "ShortestPathRouter",
    "q_routing_team",
    "random_walk_accuracy",
    "random_walk_next_hops",
    "shortest_path_next_hops",
]


def shortest_path_next_hops(graph: nx.Graph, dist: np.ndarray) -> np.ndarray:
    """Oracle table ``(N, N)``: lowest-numbered neighbour of ``i`` one hop closer to ``d``.

    ``graph`` has nodes ``0 .. N-1``; ``dist`` is its hop-distance matrix. The diagonal
    (``i == d``) holds ``i``.
    """
    n = dist.shape[0]
    table = np.tile(np.arange(n)[:, None], (1, n))
    for i in range(n):
        nb = np.asarray(sorted(graph.neighbors(i)), dtype=np.int64)
        if not len(nb):
            continue
        closer = dist[nb, :] == dist[i, :][None, :] - 1  # (deg, N)
        first = np.argmax(closer, axis=0)
        has = closer.any(axis=0)
        table[i, has] = nb[first[has]]
    return table


def random_walk_next_hops(graph: nx.Graph, rng: np.random.Generator) -> np.ndarray:
    """One random routing table (a uniformly random neighbour per ``(i, d)``)."""
    n = graph.number_of_nodes()
    table = np.zeros((n, n), dtype=np.int64)
    for i in range(n):
        nb = np.asarray(sorted(graph.neighbors(i)), dtype=np.int64)
        table[i] = nb[rng.integers(len(nb), size=n)]
    return table


def random_walk_accuracy(graph: nx.Graph, dist: np.ndarray) -> np.ndarray:
    """Exact probability ``(N, N)`` that a random walk from ``s`` reaches ``d`` along a
    shortest path (every step one hop closer). The diagonal is 1."""
    n = dist.shape[0]
    adj = nx.to_numpy_array(graph, nodelist=range(n))
    walk = adj / adj.sum(axis=1, keepdims=True)
    prob = (dist == 0).astype(float)
    for layer in range(1, int(dist.max()) + 1):
        step = walk @ np.where(dist == layer - 1, prob, 0.0)
        prob = np.where(dist == layer, step, prob)
    return prob


class ShortestPathRouter:
    """A static router playing an oracle next-hop table in the multi-packet simulator.

    It learns nothing: ``receive_batch`` ignores messages, ``value_batch`` is 0. The oracle
    may install a new table with :meth:`set_table` (e.g. after a link failure).
    """

    wants_own_view = False

    def __init__(self, agent_id: int, candidates: Sequence[int], table_row: np.ndarray) -> None:
        self.agent_id = int(agent_id)
        self.candidates = tuple(int(c) for c in candidates)
        self.row = np.asarray(table_row, dtype=np.int64)

    def set_table(self, table_row: np.ndarray) -> None:
        """Install a new next hop per destination."""
        self.row = np.asarray(table_row, dtype=np.int64)

    def start_batch(self, n_slots: int) -> None:
        """Nothing to prepare."""

    def decide_batch(self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool = False) -> np.ndarray:
        """Next hop from the table (by destination ``obs[:, 0]``)."""
        return self.row[np.asarray(obs)[:, 0]]

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Always 0 (no estimate)."""
        return np.zeros(len(obs))

    def receive_batch(self, slots: np.ndarray, messages: MessageBatch, own_view: object = None) -> None:
        """Ignored."""


class NaiveRoutingAgent(NaiveIndependentAgent):
    """Naive independent Q for routing: after handing a packet for ``d`` to ``k`` it regresses
    ``Q_i(d, f, k)`` on ``R + gamma**tau * max_k' Q_i(o', k')`` at its own view ``o'`` of the
    packet it handed off (its own table at the same destination) and ignores the successor's
    value; when ``k`` is the destination the target is ``R`` (the episode ended)."""


def q_routing_team(graph: nx.Graph, eta: float = 0.5, seed: int = 0) -> list[ICQAgent]:
    """Boyan-Littman Q-routing routers (see the module docstring for the correspondence).

    Each router is an :class:`ICQAgent` over ``(destination,)`` with ``gamma = 1``, a
    constant step ``eta``, greedy decisions (zero-initialised estimates of ``-T``) and
    Boyan-Littman *timing*: run them in :class:`~handoffq.envs.routing_dynamic.PacketNetwork`
    with ``timing="arrival"`` and ``obs_kind="dest"`` for these routers.
    """
    n = graph.number_of_nodes()
    seeds = np.random.SeedSequence(seed).spawn(n)
    team = []
    for i in range(n):
        cands = tuple(sorted(graph.neighbors(i)))
        agent = ICQAgent(
            i,
            (n,),
            cands,
            1.0,
            estimator=TabularEstimator((n,), len(cands)),
            exploration=Exploration(epsilon=0.0),
            schedule=StepSize("constant", a0=eta),
            seed=int(seeds[i].generate_state(1)[0]),
        )
        team.append(agent)
    return team
