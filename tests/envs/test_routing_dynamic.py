"""Tests of the multi-packet routing simulator: conservation, messages, failures."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handoffq.baselines.routing import ShortestPathRouter, q_routing_team, shortest_path_next_hops
from handoffq.core.channel import MessageBatch
from handoffq.core.env import EnvError
from handoffq.envs.routing import (
    RoutingConfig,
    RoutingEnv,
    hop_distances,
    make_graph,
    two_cluster_grid,
)
from handoffq.envs.routing_dynamic import DynamicConfig, PacketNetwork, invocation_rewards
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team


def _icq(g: nx.Graph, eps: float = 0.2) -> list:
    return make_team(
        RoutingEnv(g, RoutingConfig(gamma=1.0)),
        seed=0,
        exploration=Exploration(epsilon=eps),
        schedule=StepSize("constant", a0=0.5),
    )


def _sp(g: nx.Graph) -> list:
    tab = shortest_path_next_hops(g, hop_distances(g))
    return [ShortestPathRouter(i, sorted(g.neighbors(i)), tab[i]) for i in range(g.number_of_nodes())]


@settings(max_examples=8, deadline=None)
@given(
    n=st.integers(3, 12),
    load=st.floats(0.0, 4.0),
    service=st.integers(1, 2),
    seed=st.integers(0, 1000),
    method=st.sampled_from(["icq", "bl", "sp"]),
    capacity=st.sampled_from([5, 1000]),
)
def test_no_packet_lost_or_duplicated(n: int, load: float, service: int, seed: int, method: str, capacity: int) -> None:
    g = make_graph("erdos_renyi", n, seed=seed)
    team = {"icq": _icq, "bl": lambda g: q_routing_team(g, seed=seed), "sp": _sp}[method](g)
    net = PacketNetwork(
        g,
        team,
        DynamicConfig(load=load, steps=40, drain=400, service_rate=service, capacity=capacity),
        seed=seed,
        timing={"icq": "service", "bl": "arrival", "sp": "none"}[method],
        obs_kind="dest" if method == "bl" else "dest_flag",
    )
    while net.t < 40:
        net.step()
        ids = net.packet_ids()
        assert len(ids) == len(set(ids))  # no duplicates
        delivered = sum(d >= 0 for d in net._delivered)
        assert len(net._birth) == delivered + net.in_flight()  # nothing lost
        assert net.in_flight() <= capacity
    res = net.run()
    assert res.in_flight_end == 0 and np.all(res.delivered >= res.birth + 1)
    assert res.injected == len(res.birth)


def test_messages_are_three_number_batches_between_neighbours() -> None:
    g = two_cluster_grid(4, 4, bridges=(0, 3))
    seen = []

    def audit(src: int, dst: int, payload: object) -> None:
        assert isinstance(payload, MessageBatch)
        seen.append((src, dst, payload))

    net = PacketNetwork(g, _icq(g), DynamicConfig(load=1.0, steps=80, drain=800), seed=0, auditor=audit)
    res = net.run()
    assert seen and res.messages == sum(len(p) for _, _, p in seen)
    for src, dst, p in seen:
        assert net.graph.has_edge(src, dst) or src == dst
        assert np.all(p.duration >= 1)
        assert np.allclose(p.reward, -p.duration)  # one unit of cost per step, gamma = 1


def test_invocation_rewards() -> None:
    assert np.allclose(invocation_rewards(np.array([1, 3]), 1.0), [-1, -3])
    assert np.allclose(invocation_rewards(np.array([2]), 0.5), [-1.5])


def test_shortest_path_at_low_load_matches_distances() -> None:
    g = make_graph("barabasi_albert", 15, seed=1)
    net = PacketNetwork(g, _sp(g), DynamicConfig(load=0.05, steps=2000, drain=200), seed=3)
    res = net.run()
    dist = hop_distances(net.graph)
    assert res.injected > 50
    assert np.all(res.hops >= 1)
    # at a very low load almost no packet waits: delivery time ~ hops = shortest distance
    assert np.mean(res.delivered - res.birth) <= 1.2 * np.mean(res.hops)
    assert dist.max() >= res.hops.max()


def test_link_failure_and_bad_edges() -> None:
    g = nx.cycle_graph(6)
    calls = []
    team = _sp(g)

    def on_failure(new: nx.Graph) -> None:
        calls.append(new.number_of_edges())
        tab = shortest_path_next_hops(new, hop_distances(new))
        for i, r in enumerate(team):
            r.set_table(tab[i])

    net = PacketNetwork(
        g,
        team,
        DynamicConfig(load=1.0, steps=100, drain=500, fail_at=50, fail_edge=(0, 1)),
        seed=0,
        on_failure=on_failure,
    )
    res = net.run()
    assert calls == [5] and res.in_flight_end == 0
    with pytest.raises(EnvError, match="disconnect"):
        PacketNetwork(nx.path_graph(3), _sp(nx.path_graph(3)), DynamicConfig(fail_at=1, fail_edge=(0, 1)))
    with pytest.raises(EnvError, match="not a link"):
        PacketNetwork(g, _sp(g), DynamicConfig(fail_at=1, fail_edge=(0, 3)))
    with pytest.raises(EnvError, match="load"):
        DynamicConfig(load=-1)


class _Recorder:
    """A router that forwards to a random admissible link and records each decision."""

    def __init__(self, agent_id: int, nbrs: list[int], log: list) -> None:
        self.agent_id, self.nbrs, self.log = agent_id, np.asarray(nbrs), log
        self.rng = np.random.default_rng(agent_id)

    def start_batch(self, n_slots: int) -> None:
        """Nothing to prepare."""

    def decide_batch(self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool = False) -> np.ndarray:
        """A random admissible neighbour; log (router, slot, admissible neighbours)."""
        out = []
        for s, row in zip(slots, mask, strict=True):
            self.log.append((self.agent_id, int(s), tuple(int(x) for x in self.nbrs[row])))
            out.append(self.rng.choice(self.nbrs[row]))
        return np.asarray(out, dtype=np.int64)

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """No estimate."""
        return np.zeros(len(obs))

    def receive_batch(self, slots: np.ndarray, messages: MessageBatch) -> None:
        """Ignored."""


@pytest.mark.parametrize("no_backtrack", [False, True])
def test_no_backtrack_removes_the_link_back_unless_it_is_the_only_one(no_backtrack: bool) -> None:
    g = nx.lollipop_graph(4, 3)  # a clique with a tail: the tail's end has a single link
    log: list = []
    team = [_Recorder(i, sorted(g.neighbors(i)), log) for i in range(g.number_of_nodes())]
    net = PacketNetwork(
        g, team, DynamicConfig(load=1.0, steps=60, drain=600, no_backtrack=no_backtrack), seed=1, timing="none"
    )
    checked = 0
    while net.t < 400 and (net.t < 60 or net.in_flight()):
        before = net.prev.copy()
        net.step(inject=net.t < 60)
        for router, slot, adm in log:
            back = int(before[slot]) if net.hops[slot] > 1 else -1  # -1: freshly injected
            if back >= 0 and no_backtrack and len(net.nbrs[router]) > 1:
                checked += 1
                assert back not in adm
            if not no_backtrack:
                assert adm == net.nbrs[router]
            assert adm  # never empty
        log.clear()
    assert checked > 0 or not no_backtrack
