"""IC-Q routers under load: updates stay inside the predecessor; the flag and wait observations."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.core.channel import Channel, deliver_replies
from handoffq.envs.packet_network import LoadConfig, PacketNetwork
from handoffq.envs.routing import boyan_littman_6x6, make_graph
from handoffq.learn.router_load import ICQLoadConfig, ICQLoadTeam


def _run_until_busy(team: ICQLoadTeam, obs_kind: str) -> PacketNetwork:
    net = PacketNetwork(make_graph("erdos_renyi", 15, seed=2), team, LoadConfig(load=3.0, steps=400, drain=0),
                        seed=0, obs_kind=obs_kind)
    for _ in range(100):
        net.step()
    return net


@pytest.mark.parametrize(("config", "obs_kind"), [(ICQLoadConfig(), "dest_wait"),
                                                  (ICQLoadConfig(estimator="table"), "dest_flag")])
def test_updates_touch_only_the_predecessors_tables(config: ICQLoadConfig, obs_kind: str) -> None:
    team = ICQLoadTeam(config, seed=0)
    net = _run_until_busy(team, obs_kind)
    before = [team.tab.table(i).copy() for i in range(net.n)]
    preds = {int(p) for p in net.prev[net.transit]}  # routers whose packets arrive next step
    net.step()
    changed = {i for i in range(net.n) if not np.array_equal(before[i], team.tab.table(i))}
    assert changed and changed <= preds


def test_flag_observation_learns_the_mean_own_wait_per_flag() -> None:
    team = ICQLoadTeam(seed=0)
    net = PacketNetwork(boyan_littman_6x6(), team, LoadConfig(load=2.5, steps=300, drain=0), seed=1,
                        obs_kind="dest_flag")
    net.run()
    busy = team.W[:, 1] > 0
    assert busy.sum() > 10 and np.all(team.W[:, 0] == 0)  # an undetained packet never waits
    assert np.all(team.W[busy, 1] >= 1.0 - 1e-9)  # a detained one waits at least one step


def test_value_subtracts_the_observed_detention() -> None:
    team = ICQLoadTeam(seed=0)
    net = PacketNetwork(make_graph("chain", 3), team, LoadConfig(load=0.0, steps=1, drain=0), obs_kind="dest_wait")
    team.tab.table(1)[2] = [-5.0, -1.0]  # U_1(2, .) over neighbours (0, 2)
    v = team.value(np.array([1, 1]), np.array([[2, 0], [2, 3]]), net.live[[1, 1]])
    np.testing.assert_allclose(v, [-1.0, -4.0])


def test_replies_for_another_router_are_rejected() -> None:
    team = ICQLoadTeam(seed=0)
    PacketNetwork(make_graph("chain", 3), team, LoadConfig(load=0.0, steps=1, drain=0), obs_kind="dest_wait")
    d = deliver_replies(Channel(), np.array([0]), np.array([1]), np.array([5]), np.zeros(1), np.ones(1, int),
                        -np.ones(1))
    with pytest.raises(RuntimeError, match="pending"):
        team.receive(0, d)


def test_invalid_combinations() -> None:
    g = make_graph("chain", 3)
    with pytest.raises(ValueError, match="plain IC-Q table"):
        PacketNetwork(g, ICQLoadTeam(ICQLoadConfig(estimator="table")), obs_kind="dest_wait")
    with pytest.raises(ValueError, match="gamma"):
        PacketNetwork(g, ICQLoadTeam(ICQLoadConfig(gamma=0.9)), obs_kind="dest_wait")
    with pytest.raises(ValueError, match="step"):
        ICQLoadConfig(step=0.0)
