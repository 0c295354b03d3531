"""Tests of the routing environments (single packet, vectorised, sweep runner)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

from handoffq.core.env import EnvError, HandoffEnv
from handoffq.core.messages import HandoffMessage
from handoffq.core.pettingzoo_adapter import PettingZooAdapter
from handoffq.envs.routing import (
    FAMILIES,
    RoutingConfig,
    RoutingEnv,
    RoutingVecEnv,
    check_graph,
    hop_distances,
    invocation_reward,
    make_graph,
    route_accuracy,
    two_cluster_grid,
)
from handoffq.learn.agent import ICQAgent
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime.routing_sweep import RouterSweepRunner


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("n", [2, 5, 30])
def test_make_graph_connected_and_seeded(family: str, n: int) -> None:
    g1, g2 = make_graph(family, n, seed=3), make_graph(family, n, seed=3)
    assert g1.number_of_nodes() == n and nx.is_connected(g1)
    assert sorted(g1.edges) == sorted(g2.edges)
    assert nx.number_of_selfloops(g1) == 0


def test_sparse_erdos_renyi_is_stitched_connected() -> None:
    g = make_graph("erdos_renyi", 60, seed=1, p=0.01)  # far below the connectivity threshold
    assert nx.is_connected(g)


@pytest.mark.parametrize(
    ("graph", "needle"),
    [
        (nx.Graph(), "empty"),
        (nx.Graph([(0, 1), (2, 3)]), "disconnected"),
        (nx.Graph([(0, 0), (1, 1)]), "only self-loops"),
        (nx.Graph([(0, 1), (1, 1)]), "self-loops"),
        (nx.DiGraph([(0, 1), (1, 0)]), "undirected"),
        (nx.empty_graph(1), "single node"),
    ],
)
def test_invalid_graphs_are_named(graph: nx.Graph, needle: str) -> None:
    with pytest.raises(EnvError, match=needle):
        RoutingEnv(graph)
    with pytest.raises(EnvError, match=needle):
        check_graph(graph)


def test_unknown_destination_is_named() -> None:
    env = RoutingEnv(nx.path_graph(["a", "b", "c"]))
    with pytest.raises(EnvError, match="destination 'z'"):
        env.reset(seed=0, dest="z")
    with pytest.raises(EnvError, match="source 7"):
        env.reset(seed=0, source=7)
    env.reset(seed=0, source="a", dest="c")
    assert (env.active_agent, env.destination) == (0, 2)


def test_protocol_and_shortest_route_rewards() -> None:
    env = RoutingEnv(nx.path_graph(4), RoutingConfig(gamma=0.9))
    assert isinstance(env, HandoffEnv)
    env.reset(seed=0, source=0, dest=3)
    assert env.observe(0) == (3, 0) and env.obs_nvec(0) == (4, 2)
    assert env.candidates(1) == (0, 2) == env.admissible(1)
    rewards = []
    for k in (1, 2, 3):
        tr = env.step(k)
        rewards.append(tr.reward)
    assert tr.terminated and not tr.truncated and rewards == [-1.0, -1.0, -1.0]
    with pytest.raises(EnvError, match="finished"):
        env.step(2)
    env.reset(seed=0, source=0, dest=3)
    with pytest.raises(EnvError, match="not admissible"):
        env.step(2)


def test_hop_limit_truncates() -> None:
    env = RoutingEnv(nx.path_graph(5), RoutingConfig(max_hops=3))
    env.reset(seed=0, source=1, dest=4)
    flags = [env.step(k).truncated for k in (0, 1, 0)]
    assert flags == [False, False, True]


def test_invocation_reward_formula() -> None:
    assert invocation_reward(0, 0.9, 1.0, 1.0) == pytest.approx(-1.0)
    assert invocation_reward(2, 0.9, 1.0, 1.0) == pytest.approx(-(1 + 0.9) - 0.81)
    assert invocation_reward(3, 1.0, 2.0, 1.0) == pytest.approx(-7.0)


def test_detention_costs_wait() -> None:
    env = RoutingEnv(nx.path_graph(3), RoutingConfig(gamma=0.5, detain_prob=0.9999, detain_steps=2))
    env.reset(seed=0, source=0, dest=2)
    assert env.observe(0)[1] == 1
    tr = env.step(1)
    assert tr.duration == 3 and tr.reward == pytest.approx(-(1 + 0.5) - 0.25)


def _future(
    env: RoutingEnv, policy: dict[tuple[int, int, int], int], rng_seed: int, n_hops: int
) -> list:
    """Observations/rewards the packet produces from now on under a fixed policy."""
    env._rng = np.random.default_rng(rng_seed)  # same future randomness for both packets
    out = []
    for _ in range(n_hops):
        i = env.active_agent
        d, f = env.observe(i)
        tr = env.step(policy[(i, d, f)])
        out.append((env.observe(env.active_agent), tr.duration, tr.reward, tr.terminated))
        if tr.terminated or tr.truncated:
            break
    return out


def test_exact_ais_packets_with_same_observation_are_interchangeable() -> None:
    """Two packets at the same router with the same (destination, flag) but different
    histories (source, hops made) have identical futures under any fixed policy and the same
    future randomness: the learner cannot and need not tell them apart."""
    g = make_graph("watts_strogatz", 12, seed=2)
    cfg = RoutingConfig(gamma=0.95, detain_prob=0.4, detain_steps=2, max_hops=10_000)
    rng = np.random.default_rng(0)
    n, compared = 12, 0
    for trial in range(200):
        policy = {
            (i, d, f): int(rng.choice(sorted(g.neighbors(i))))
            for i in range(n)
            for d in range(n)
            for f in (0, 1)
        }
        d = int(rng.integers(2, n))
        a, b = RoutingEnv(g, cfg), RoutingEnv(g, cfg)
        a.reset(seed=trial, source=0, dest=d)
        b.reset(seed=trial + 1000, source=1, dest=d)
        path = nx.shortest_path(nx.restricted_view(b.graph, [d], []), 1, 0)
        for k in path[1:]:
            b.step(k)
        if a.observe(0) != b.observe(0):
            continue  # different flag: a different observation, nothing to compare
        assert b.hops > 0 and a.hops == 0
        compared += 1
        assert _future(a, policy, trial, 40) == _future(b, policy, trial, 40)
    assert compared >= 50


def test_pettingzoo_api_and_seed() -> None:
    g = make_graph("barabasi_albert", 8, seed=0)
    cfg = RoutingConfig(detain_prob=0.2)
    api_test(PettingZooAdapter(lambda: RoutingEnv(g, cfg)), num_cycles=200)
    seed_test(lambda: PettingZooAdapter(lambda: RoutingEnv(g, cfg)), num_cycles=50)


def test_vec_env_matches_single_env_dynamics() -> None:
    g = two_cluster_grid(4, 3, bridges=(0,))
    vec = RoutingVecEnv(
        g, RoutingConfig(gamma=0.9, detain_prob=0.5, detain_steps=2), n_envs=64, seed=1
    )
    for _ in range(30):
        act = vec.active()
        flags = vec.observe(np.arange(64), 0)[:, 1]
        succ = np.array([vec.candidates(int(i))[0] for i in act])
        dest = vec._dest.copy()
        tr = vec.step(succ)
        expected = [invocation_reward(int(f) * 2, 0.9, 1.0, 1.0) for f in flags]
        assert np.allclose(tr.reward, expected)
        assert np.array_equal(tr.duration, flags * 2 + 1)
        assert np.array_equal(tr.terminated, succ == dest)
        done = np.flatnonzero(tr.terminated | tr.truncated)
        vec.reset_slots(done)
    with pytest.raises(EnvError, match="not a neighbour"):
        vec.step(np.full(64, 11 if vec.active()[0] == 0 else 0))


def test_route_accuracy_detects_detours() -> None:
    g = nx.cycle_graph(6)
    dist = hop_distances(g)
    good = np.array(
        [[(i + 1) % 6 if (j - i) % 6 <= 3 else (i - 1) % 6 for j in range(6)] for i in range(6)]
    )
    assert route_accuracy([good], dist)[~np.eye(6, dtype=bool)].all()
    bad = good.copy()
    bad[0, 2] = 5  # the wrong way round
    acc = route_accuracy([good, bad], dist)
    assert not acc[0, 2] and acc[1, 2]
    assert not route_accuracy([bad], dist)[0, 2]


def test_sweep_runner_learns_shortest_paths_through_the_channel() -> None:
    g = make_graph("erdos_renyi", 15, seed=4)
    cfg = RoutingConfig()
    team = make_team(
        RoutingEnv(g, cfg),
        seed=0,
        exploration=Exploration(epsilon=0.0),
        schedule=StepSize("constant", a0=1.0),
    )
    seen: list[tuple[int, int]] = []
    runner = RouterSweepRunner(g, team, cfg, seed=0, auditor=lambda s, d, p: seen.append((s, d)))
    for _ in range(40):
        runner.sweep()
    dist = hop_distances(runner.env.graph)
    tables = [
        np.array(
            [
                [
                    team[i].greedy_successor((d, 0), team[i].candidates) if d != i else i
                    for d in range(15)
                ]
                for i in range(15)
            ]
        )
    ]
    assert route_accuracy(tables, dist)[~np.eye(15, dtype=bool)].all()
    assert seen and all(s == d or g.has_edge(s, d) for s, d in seen)  # s == d: delivered, v = 0
    assert runner.stats.messages == runner.stats.handoffs


def test_icq_value_passing_episode_runs() -> None:
    env = RoutingEnv(nx.path_graph(3))
    agent = ICQAgent(0, env.obs_nvec(0), env.candidates(0), env.gamma)
    agent.decide((2, 0), env.admissible(0))
    agent.receive(HandoffMessage(-1.0, 1, -1.0))
    assert agent.q.values((2, 0))[0] < 0


@pytest.mark.parametrize("family", ["barabasi_albert", "chain"])
def test_probe_sweeps_converge_in_about_diameter_sweeps(family: str) -> None:
    g = make_graph(family, 30, seed=2)
    cfg = RoutingConfig()
    team = make_team(
        RoutingEnv(g, cfg),
        seed=0,
        exploration=Exploration(epsilon=0.0),
        schedule=StepSize("constant", a0=1.0),
    )
    runner = RouterSweepRunner(g, team, cfg, seed=0, schedule="probe")
    dist = hop_distances(runner.env.graph)
    sweeps = 0
    while True:  # a sweep that changes no table certifies the fixed point
        before = [a.q.table.copy() for a in team]
        runner.sweep()
        sweeps += 1
        if all(np.array_equal(a.q.table, b) for a, b in zip(team, before, strict=True)):
            break
        assert sweeps <= int(dist.max()) + 2  # Bellman-Ford: each sweep settles >= 1 more hop
    n = g.number_of_nodes()
    deg_sum = 2 * runner.env.graph.number_of_edges()
    assert runner.stats.handoffs == sweeps * deg_sum * (n - 1)  # one probe per (dest, link)
    tables = [np.array([[i if d == i else team[i].greedy_successor((d, 0), team[i].candidates)
                         for d in range(n)] for i in range(n)])]
    assert route_accuracy(tables, dist)[~np.eye(n, dtype=bool)].all()
    # the converged values are the discounted hop counts of shortest paths
    for i in (0, n // 2):
        q = team[i].q.values_batch(np.stack([np.arange(n), np.zeros(n, int)], axis=1)).max(axis=1)
        hops = dist[i]
        expect = -(1 - cfg.gamma**hops) / (1 - cfg.gamma)
        assert np.allclose(np.delete(q, i), np.delete(expect, i))


def test_unknown_sweep_schedule_is_named() -> None:
    g = nx.path_graph(4)
    team = make_team(RoutingEnv(g), seed=0)
    with pytest.raises(ValueError, match="schedule"):
        RouterSweepRunner(g, team, schedule="bogus")


def test_bl36_is_the_authors_network() -> None:
    from handoffq.envs.routing import BL36_EDGES, boyan_littman_6x6

    g = boyan_littman_6x6()
    assert g.number_of_nodes() == 36 and g.number_of_edges() == 50 == len(BL36_EDGES)
    left = {6 * r + c for r in range(6) for c in range(3)}
    cross = sorted(tuple(sorted(e)) for e in g.edges if (e[0] in left) != (e[1] in left))
    assert cross == [(20, 21), (32, 33)]  # two bridges between the 18-router halves
    assert sorted(g.neighbors(24)) == [18, 30] and sorted(g.neighbors(35)) == [29, 34]
    assert nx.utils.graphs_equal(make_graph("bl36", 36), g)
    with pytest.raises(EnvError, match="36"):
        make_graph("bl36", 20)
