"""Routes learned from packets between random pairs, on the shared episode loop."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.core.channel import MessageBatch
from handoffq.envs.routing import RoutingConfig, RoutingEnv, hop_distances, make_graph, route_accuracy
from handoffq.learn.exploration import Exploration
from handoffq.learn.router_team import ICQRouterTeam, NaiveRouterTeam, greedy_next_hops
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime.loop import LocalTeam
from handoffq.runtime.packet_episodes import EpisodicRouterTrainer

SCHED = StepSize("visits_offset", a0=1.0, t0=20.0, power=0.7)


def _team(env: RoutingEnv, cls: type = ICQRouterTeam, eps: float = 0.1) -> ICQRouterTeam:
    return cls([env.candidates(i) for i in range(env.n_agents)], env.obs_nvec(0), env.gamma,
               Exploration(epsilon=eps), SCHED, seed=0)


def _accuracy(team: ICQRouterTeam, dist: np.ndarray) -> float:
    good = route_accuracy([greedy_next_hops(team, 0), greedy_next_hops(team, 1)], dist)
    return float(good[~np.eye(len(dist), dtype=bool)].mean())


def test_routes_learned_from_packets_reach_full_accuracy_naive_does_not() -> None:
    g = make_graph("barabasi_albert", 20, seed=1)
    cfg = RoutingConfig(gamma=0.99, detain_prob=0.5)
    env = RoutingEnv(g, cfg)
    dist = hop_distances(env.graph)
    team, naive = _team(env), _team(env, NaiveRouterTeam)
    EpisodicRouterTrainer(g, team, cfg, n_slots=2048, seed=1).train(600 * 380)
    EpisodicRouterTrainer(g, naive, cfg, n_slots=2048, seed=1).train(600 * 380)
    assert _accuracy(team, dist) == 1.0
    assert _accuracy(naive, dist) < 0.9


def test_replies_cross_the_channel_from_successor_to_predecessor_only() -> None:
    g = make_graph("watts_strogatz", 10, seed=0)
    cfg = RoutingConfig(detain_prob=0.5)
    env = RoutingEnv(g, cfg)
    seen: list[tuple[int, int, object]] = []
    tr = EpisodicRouterTrainer(g, _team(env), cfg, n_slots=8, seed=0, auditor=lambda s, d, p: seen.append((s, d, p)))
    stats = tr.train(80)
    adj = {(u, v) for u, v in env.graph.edges} | {(v, u) for u, v in env.graph.edges}
    assert seen and stats.handoffs == 80 and stats.messages == 80
    for src, dst, payload in seen:
        assert isinstance(payload, MessageBatch)
        # a neighbour's reply, or a delivered packet's (0, tau, R) from the predecessor to itself
        assert (src, dst) in adj or (src == dst and np.all(payload.value == 0))


def test_per_router_agents_in_a_local_team_learn_the_same() -> None:
    g = make_graph("chain", 6, seed=0)
    cfg = RoutingConfig(detain_prob=0.5)
    env = RoutingEnv(g, cfg)
    agents = make_team(env, seed=0, exploration=Exploration(epsilon=0.0), schedule=SCHED)
    for a in agents:
        a.start_batch(8)
    EpisodicRouterTrainer(g, LocalTeam(agents), cfg, n_slots=8, seed=3).train(8 * 30)
    team = _team(env, eps=0.0)
    EpisodicRouterTrainer(g, team, cfg, n_slots=8, seed=3).train(8 * 30)
    for i, a in enumerate(agents):
        np.testing.assert_allclose(team.table(i), a.q.table, rtol=0, atol=1e-12)


def test_team_must_match_the_graph() -> None:
    env = RoutingEnv(make_graph("chain", 5, seed=0))
    with pytest.raises(ValueError, match="neighbours"):
        EpisodicRouterTrainer(make_graph("erdos_renyi", 5, seed=4), _team(env), n_slots=4)
