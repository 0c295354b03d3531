"""The routing experiment's measurements, as small pure functions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import networkx as nx
import numpy as np

from handoffq.baselines.routing import shortest_path_next_hops
from handoffq.envs.packet_network import SimResult
from handoffq.envs.routing import _relabel, hop_distances
from handoffq.experiments.common import ExperimentError

__all__ = [
    "binned_delivery",
    "busiest_bridge",
    "pair_accuracy",
    "recovery_steps",
    "sp_saturation_load",
    "stays_full_from",
]


def pair_accuracy(good: np.ndarray) -> float:
    """Mean of a per-pair ``(N, N)`` score over ``s != d``."""
    n = good.shape[0]
    return float(np.asarray(good, float)[~np.eye(n, dtype=bool)].mean())


def stays_full_from(history: Sequence[tuple[int, float]]) -> int | None:
    """The first checkpoint (handoffs) from which accuracy is 1.0 at every later checkpoint."""
    for j in range(len(history)):
        if all(a == 1.0 for _, a in history[j:]):
            return history[j][0]
    return None


def sp_saturation_load(graph: nx.Graph) -> float:
    """Offered load at which static shortest paths saturate the busiest router: ``1 / max_i u_i``,
    ``u_i`` the fraction of ordered pairs whose route router ``i`` forwards (one service per step,
    uniform pairs; computed from the graph alone)."""
    g, _ = _relabel(graph)
    n = g.number_of_nodes()
    table = shortest_path_next_hops(g, hop_distances(g))
    count = np.zeros(n)
    at = np.tile(np.arange(n)[:, None], (1, n))  # at[s, d]: where the packet s -> d is
    dest = np.tile(np.arange(n)[None, :], (n, 1))
    while True:
        moving = at != dest
        if not moving.any():
            break
        np.add.at(count, at[moving], 1)
        at = np.where(moving, table[at, dest], at)
    return float(n * (n - 1) / count.max())


def binned_delivery(res: SimResult, bin_steps: int, t0: int, t1: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean delivery time per bin of *delivery* steps in ``[t0, t1)`` (nan for empty bins)."""
    ok = (res.delivered >= t0) & (res.delivered < t1)
    times = (res.delivered - res.birth)[ok]
    b = (res.delivered[ok] - t0) // bin_steps
    nb = math.ceil((t1 - t0) / bin_steps)
    sums = np.bincount(b, weights=times, minlength=nb)[:nb]
    cnt = np.bincount(b, minlength=nb)[:nb]
    with np.errstate(invalid="ignore", divide="ignore"):
        return t0 + np.arange(nb) * bin_steps, sums / cnt


def recovery_steps(starts: np.ndarray, means: np.ndarray, at: int, threshold: float, hold: int = 3) -> int | None:
    """Steps from ``at`` to recovery: the start of the first bin, after the degradation, whose
    mean and the next ``hold`` bins' means are all ``<= threshold``.

    The degradation is the first bin at or after ``at`` whose mean exceeds the threshold (a
    failure's effect can take a while to build up, so the search starts there); when no bin
    does, the result is 0. ``None`` if the means never come back; empty (nan) bins count as
    not recovered.
    """
    idx = np.flatnonzero(starts >= at)
    over = [j for j in idx if not means[j] <= threshold]
    if not over:
        return 0
    for j in idx[idx >= over[0]]:
        window = means[j : j + hold + 1]
        if len(window) == hold + 1 and np.all(np.nan_to_num(window, nan=np.inf) <= threshold):
            return int(starts[j] - at)
    return None


def busiest_bridge(graph: nx.Graph) -> tuple[int, int]:
    """The link carrying the most shortest paths (edge betweenness) whose loss keeps the graph
    connected."""
    eb = nx.edge_betweenness_centrality(graph)
    for (u, v), _ in sorted(eb.items(), key=lambda kv: (-kv[1], kv[0])):
        g2 = graph.copy()
        g2.remove_edge(u, v)
        if nx.is_connected(g2):
            return (int(min(u, v)), int(max(u, v)))
    raise ExperimentError("every link of the graph is a bridge: no link failure can be simulated")
