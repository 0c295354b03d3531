"""The Q-routing family's update rules, one hop at a time on a 3-router path, and the identities
that tie Q-routing to IC-Q."""

from __future__ import annotations

import networkx as nx
import numpy as np

from handoffq.baselines.q_routing_family import (
    ConfidenceQRoutingTeam,
    DualQRoutingTeam,
    PredictiveQRoutingTeam,
    QRoutingTeam,
    ShortestPathTeam,
)
from handoffq.core.packets import PacketView
from handoffq.envs.packet_network import LoadConfig, PacketNetwork
from handoffq.envs.routing import boyan_littman_6x6
from handoffq.learn.router_load import ICQLoadConfig, ICQLoadTeam


def _one_packet(team: QRoutingTeam) -> tuple[PacketNetwork, np.ndarray]:
    """One packet 0 -> 2 on a 3-router path (router 1 must not send it back)."""
    net = PacketNetwork(nx.path_graph(3), team, LoadConfig(load=0.0, steps=0, drain=6), seed=0)
    team.Q[1, 2, 0] = 50.0  # "back to 0" looks slow for destination 2
    net.place(0, 2)
    return net, net.run().delivered


def test_q_routing_update_is_boyan_littman() -> None:
    team = QRoutingTeam(eta=0.5)
    _, delivered = _one_packet(team)
    assert delivered[0] == 2
    # router 1 delivered to 2: Q_1(2, col of 2) = 0 + 0.5 * (0 + 1 + 0) = 0.5
    assert team.Q[1, 2, 1] == 0.5
    # router 0 sent to 1, whose estimate was min_z Q_1(2, z) = 0 then: Q_0(2, 1) = 0.5 * 1
    assert team.Q[0, 2, 0] == 0.5
    assert team.scalars == 2


def test_drq_backward_update_learns_routes_to_the_source() -> None:
    team = DualQRoutingTeam(eta=0.5, eta_b=0.5)
    _one_packet(team)
    # arriving at 1 from 0 (the source), router 1 learns Q_1(0, col of 0) = 0.5 * (0 + 1 + 0)
    assert team.Q[1, 0, 0] == 0.5
    # arriving at 2 from 1, router 2 learns Q_2(0, col of 1) = 0.5 * (0 + 1 + est_1(0)), with
    # est_1(0) = min(Q_1(0, 0), Q_1(0, 2)) = min(0.5, 0) = 0 (the untried link looks free)
    assert team.Q[2, 0, 0] == 0.5
    assert team.scalars == 4


def test_cq_learning_rate_uses_confidences() -> None:
    team = ConfidenceQRoutingTeam(decay=0.9)
    _one_packet(team)
    # the delivery reply has confidence 1: eta = 1, so Q_1(2, 2) jumps to the sample and C to 1
    assert team.Q[1, 2, 1] == 1.0 and team.C[1, 2, 1] == 1.0
    # router 0's reply came from router 1 whose estimate had confidence 0: eta = 1 - C = 1
    assert team.Q[0, 2, 0] == 1.0 and team.C[0, 2, 0] == 0.0


def test_pq_predicts_recovery_of_unrefreshed_estimates() -> None:
    team = PredictiveQRoutingTeam(eta=1.0, beta=1.0, gamma=0.5)
    PacketNetwork(nx.path_graph(3), team, LoadConfig(load=0.0, steps=1, drain=0), seed=0)
    x, d = np.array([1]), np.array([2])
    team.Q[1, 2, 0], team.B[1, 2, 0], team.U[1, 2, 0], team.R[1, 2, 0] = 10.0, 4.0, 0, -1.0
    team.Q[1, 2, 1], team.B[1, 2, 1], team.U[1, 2, 1], team.R[1, 2, 1] = 6.0, 6.0, 0, 0.0
    # unrefreshed for 3 steps, route 0 is predicted at max(10 - 3, 4) = 7 (> 6: not taken yet);
    # after 100 steps at its best value 4 (< 6: probed again)
    np.testing.assert_allclose(team.predicted(3, x, d)[0], [7.0, 6.0])
    np.testing.assert_allclose(team.predicted(100, x, d)[0], [4.0, 6.0])
    # an update that raises the estimate shrinks the recovery rate by gamma
    view = PacketView(*(np.array([v]) for v in (0, 0, 1, 2, 0, 0, 99, 0, 0)))
    team.Q[0, 2, 0] = 20.0  # router 0's estimate: the sample 0 + 1 + 20 = 21 > 10
    team.on_arrival(100, view, np.array([False]))
    assert team.U[1, 2, 0] == 100 and team.R[1, 2, 0] == -0.5


def test_shortest_path_team_follows_bfs() -> None:
    res = PacketNetwork(nx.cycle_graph(6), ShortestPathTeam(), LoadConfig(load=0.2, steps=500, drain=500), seed=0).run()
    assert res.hops.max() <= 3 and res.in_flight_end == 0


def test_icq_with_destination_only_is_boyan_littman_q_routing() -> None:
    """IC-Q's update with gamma = 1, replies when the packet reaches the successor and the
    destination as its only observation (a plain table) is Q-routing's: the runs are identical."""
    lc = LoadConfig(load=2.0, steps=150, drain=3000)
    a = PacketNetwork(boyan_littman_6x6(), QRoutingTeam(0.7, seed=3), lc, seed=5).run()
    icq = ICQLoadTeam(ICQLoadConfig(step=0.7, estimator="table"), seed=3)
    b = PacketNetwork(boyan_littman_6x6(), icq, lc, seed=5, obs_kind="dest").run()
    np.testing.assert_array_equal(a.delivered, b.delivered)
    assert b.scalars == 3 * a.scalars  # three numbers per handoff instead of one


def test_q_routing_given_the_detention_is_factored_icq() -> None:
    """Q-routing that observes the packet's detention (its estimate is w + Q(d, y)) makes the
    same decisions as factored IC-Q at the same step: with this observation the two coincide."""
    lc = LoadConfig(load=3.0, steps=150, drain=3000)
    q = QRoutingTeam(0.7, seed=3, observe_detention=True)
    a = PacketNetwork(boyan_littman_6x6(), q, lc, seed=5).run()
    icq = ICQLoadTeam(ICQLoadConfig(step=0.7), seed=3)
    b = PacketNetwork(boyan_littman_6x6(), icq, lc, seed=5, obs_kind="dest_wait").run()
    np.testing.assert_array_equal(a.delivered, b.delivered)
    plain = PacketNetwork(boyan_littman_6x6(), QRoutingTeam(0.7, seed=3), lc, seed=5).run()
    assert not np.array_equal(plain.delivered, a.delivered)  # the observation does change the run
