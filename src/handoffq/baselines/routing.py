"""Routing baselines for the static task: shortest paths (the oracle), random walk, naive Q.

* **Shortest path** - :func:`shortest_path_next_hops` is a centralised oracle: it sees the
  whole graph and picks, for every ``(router, destination)``, the lowest-numbered neighbour
  on a shortest path.
* **Random walk** - every router forwards to a uniformly random neighbour;
  :func:`random_walk_accuracy` gives the exact probability that the walk follows a shortest
  path (a dynamic programme over distance layers, no sampling).
* **Naive independent Q** - :class:`NaiveRoutingAgent` bootstraps from its own
  ``max_k Q_i(d, ., k)`` instead of the next router's value (paper section 3). Its fixed
  point only knows "hand the packet to its destination if it is a neighbour".

The routing algorithms under load (shortest paths recomputed after a failure, Boyan-Littman
Q-routing and its family) are in :mod:`handoffq.baselines.q_routing_family`.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from handoffq.baselines.naive import NaiveIndependentAgent

__all__ = [
    "NaiveRoutingAgent",
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


class NaiveRoutingAgent(NaiveIndependentAgent):
    """Naive independent Q for routing: after handing a packet for ``d`` to ``k`` it regresses
    ``Q_i(d, f, k)`` on ``R + gamma**tau * max_k' Q_i(o', k')`` at its own view ``o'`` of the
    packet it handed off (its own table at the same destination) and ignores the successor's
    value; when ``k`` is the destination the target is ``R`` (the episode ended)."""

