"""Tests of the routing baselines."""

from __future__ import annotations

import networkx as nx
import numpy as np

from handoffq.baselines.routing import (
    NaiveRoutingAgent,
    random_walk_accuracy,
    random_walk_next_hops,
    shortest_path_next_hops,
)
from handoffq.envs.routing import RoutingConfig, hop_distances, make_graph, route_accuracy
from handoffq.experiments.routing.metrics import pair_accuracy
from handoffq.experiments.routing.static import greedy_tables, train_static


def test_shortest_path_oracle_is_exact() -> None:
    g = make_graph("watts_strogatz", 40, seed=0)
    dist = hop_distances(g)
    tab = shortest_path_next_hops(g, dist)
    assert pair_accuracy(route_accuracy([tab], dist)) == 1.0


def test_random_walk_probability_on_a_path_and_by_sampling() -> None:
    g = nx.path_graph(4)
    p = random_walk_accuracy(g, hop_distances(g))
    assert p[0, 3] == 1 * 0.5 * 0.5 and p[1, 0] == 0.5 and p[3, 2] == 1.0
    g = make_graph("erdos_renyi", 10, seed=2)
    dist = hop_distances(g)
    rng = np.random.default_rng(0)
    est = np.mean(
        [route_accuracy([random_walk_next_hops(g, rng)], dist) for _ in range(3000)], axis=0
    )
    assert np.allclose(est, random_walk_accuracy(g, dist), atol=0.05)


def test_naive_q_misses_far_destinations_icq_does_not() -> None:
    g = make_graph("chain", 8, seed=0)
    cfg = RoutingConfig()
    dist = hop_distances(g)
    icq, runner, stable = train_static(g, cfg, seed=0, max_sweeps=100)
    naive, _, _ = train_static(
        g, cfg, seed=0, max_sweeps=100, agent_cls=NaiveRoutingAgent, sweeps=runner.sweeps
    )
    assert stable and pair_accuracy(route_accuracy(greedy_tables(icq, 8), dist)) == 1.0
    naive_acc = pair_accuracy(route_accuracy(greedy_tables(naive, 8), dist))
    assert naive_acc < 0.9
    # the naive fixed point: delivering to a neighbour destination is learned
    assert naive[3].greedy_successor((4, 0), naive[3].candidates) == 4

