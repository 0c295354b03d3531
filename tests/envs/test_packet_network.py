"""The multi-packet network: conservation, FIFO service, replies through the channel, failures."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handoffq.baselines.q_routing_family import QRoutingTeam, RandomWalkTeam, ShortestPathTeam
from handoffq.core.channel import MessageBatch
from handoffq.core.env import EnvError
from handoffq.core.packets import PacketTeam
from handoffq.envs.packet_network import LinkEvent, LoadConfig, PacketNetwork, invocation_rewards
from handoffq.envs.routing import boyan_littman_6x6, hop_distances, make_graph
from handoffq.learn.router_load import ICQLoadConfig, ICQLoadTeam


def _team(method: str, seed: int) -> tuple[PacketTeam, str]:
    return {
        "icq": (ICQLoadTeam(seed=seed), "dest_wait"),
        "icq_table": (ICQLoadTeam(ICQLoadConfig(estimator="table", exploration="epsilon", epsilon=0.2), seed),
                      "dest_flag"),
        "q": (QRoutingTeam(seed=seed), "dest"),
        "sp": (ShortestPathTeam(), "dest"),
    }[method]


def _slots_in_flight(net: PacketNetwork) -> list[int]:
    width = net.qbuf.shape[1]
    queued = [int(net.qbuf[i, p % width]) for i in range(net.n) for p in range(net.qhead[i], net.qtail[i])]
    return queued + net.transit.tolist()


@settings(max_examples=8, deadline=None)
@given(
    n=st.integers(3, 12),
    load=st.floats(0.0, 4.0),
    seed=st.integers(0, 1000),
    method=st.sampled_from(["icq", "icq_table", "q", "sp"]),
    capacity=st.sampled_from([5, 1000]),
)
def test_no_packet_lost_or_duplicated(n: int, load: float, seed: int, method: str, capacity: int) -> None:
    g = make_graph("erdos_renyi", n, seed=seed)
    team, kind = _team(method, seed)
    net = PacketNetwork(g, team, LoadConfig(load=load, steps=40, drain=2000, capacity=capacity, ttl=10_000),
                        seed=seed, obs_kind=kind)
    while net.t < 40:
        net.step()
        slots = _slots_in_flight(net)
        assert len(slots) == len(set(slots)) == net.in_flight() <= capacity
        rec = net.records
        delivered = int((rec.deliv[: rec.n] >= 0).sum())
        assert rec.n == delivered + net.in_flight()  # nothing lost (no failures, no TTL)
    res = net.run()
    assert res.in_flight_end == 0 and np.all(res.delivered >= res.birth + 1)
    assert res.injected == len(res.birth) and res.lost.sum() == 0


@pytest.mark.parametrize("timing", ["arrival", "service"])
def test_replies_are_three_number_batches_between_neighbours(timing: str) -> None:
    g = boyan_littman_6x6()
    seen: list[tuple[int, int, MessageBatch]] = []

    def audit(src: int, dst: int, payload: object) -> None:
        assert isinstance(payload, MessageBatch)
        seen.append((src, dst, payload))

    team = ICQLoadTeam(ICQLoadConfig(estimator="table"), seed=0)
    net = PacketNetwork(g, team, LoadConfig(load=1.5, steps=200, drain=5000, ttl=10**6), seed=0, auditor=audit,
                        timing=timing, obs_kind="dest")
    res = net.run()
    assert seen and res.messages == sum(len(p) for _, _, p in seen) and res.scalars == 3 * res.messages
    assert res.in_flight_end == 0 and res.lost.sum() == 0
    assert res.messages == int(res.hops.sum())  # one reply per hop of each packet
    for src, dst, p in seen:
        assert net.graph.has_edge(src, dst)
        assert np.all(p.duration >= 1) and np.allclose(p.reward, -p.duration)  # unit cost per step
    assert (team.p_router == -1).all()  # every decision got its reply


def test_invocation_rewards() -> None:
    assert np.allclose(invocation_rewards(np.array([1, 3]), 1.0), [-1, -3])
    assert np.allclose(invocation_rewards(np.array([2]), 0.5), [-1.5])


def test_low_load_shortest_paths_take_shortest_routes() -> None:
    g = boyan_littman_6x6()
    res = PacketNetwork(g, ShortestPathTeam(), LoadConfig(load=0.3, steps=3000, drain=3000), seed=0).run()
    assert res.in_flight_end == 0 and (res.delivered >= 0).all() and res.lost.sum() == 0
    assert res.scalars == 0 and res.messages == 0
    dist = hop_distances(g)
    assert np.all(res.delivered - res.birth >= res.hops)  # hops plus waits
    assert res.hops.mean() < 1.1 * dist[dist > 0].mean()


def test_fifo_one_service_per_step() -> None:
    net = PacketNetwork(nx.path_graph(3), ShortestPathTeam(), LoadConfig(load=0.0, steps=0, drain=20), seed=0)
    for _ in range(3):
        net.place(0, 2)
    res = net.run()
    assert res.delivered.tolist() == [2, 3, 4]  # two hops each, router 0 serves one per step, in order


def test_detention_is_the_queue_position() -> None:
    """A packet that joins a queue at position p is served exactly p steps later."""
    waits: dict[int, tuple[int, int]] = {}
    checked = []

    class Spy(ShortestPathTeam):
        def on_arrival(self, t, view, delivered):  # type: ignore[no-untyped-def]
            for s, p, d in zip(view.slot, view.position, delivered):
                if not d:
                    waits[int(s)] = (t, int(p))

        def on_service(self, t, view):  # type: ignore[no-untyped-def]
            for s, w in zip(view.slot, view.position):
                if int(s) in waits:
                    t0, p = waits.pop(int(s))
                    assert t - t0 == p == w
                    checked.append(p)

    PacketNetwork(boyan_littman_6x6(), Spy(), LoadConfig(load=2.5, steps=600, drain=0), seed=3).run()
    assert len(checked) > 100 and max(checked) > 2


def test_link_failure_loses_packets_in_transit_and_shortest_paths_reroute() -> None:
    g = boyan_littman_6x6()
    ev = (LinkEvent(200, 20, 21),)
    net = PacketNetwork(g, ShortestPathTeam(), LoadConfig(load=1.0, steps=1000, drain=3000, link_events=ev), seed=1)
    res = net.run()
    assert not net.live[20, list(net.nbr[20]).index(21)]
    assert res.in_flight_end == 0
    assert (res.lost[res.birth >= 200] == 0).all()  # after the oracle recomputed its table nothing is lost
    assert res.losses(0, 10_000)["lost_link"] == int((res.lost == 2).sum())


def test_ttl_drops_looping_packets() -> None:
    g = nx.path_graph(8)
    res = PacketNetwork(g, RandomWalkTeam(seed=0), LoadConfig(load=0.5, steps=400, drain=400, ttl=4), seed=0).run()
    dropped = res.lost == 1
    assert dropped.any() and (res.hops[dropped] == 4).all() and (res.delivered[dropped] < 0).all()
    assert res.count()["lost_ttl"] == int(dropped.sum())


def test_bad_arguments_are_rejected() -> None:
    g = nx.cycle_graph(4)
    with pytest.raises(EnvError, match="not a link"):
        PacketNetwork(g, ShortestPathTeam(), LoadConfig(link_events=(LinkEvent(1, 0, 2),)))
    with pytest.raises(EnvError, match="obs_kind"):
        PacketNetwork(g, ShortestPathTeam(), obs_kind="dest_queue")
    with pytest.raises(EnvError, match="timing"):
        PacketNetwork(g, ShortestPathTeam(), timing="later")
    with pytest.raises(EnvError, match="load"):
        LoadConfig(load=-1)
    with pytest.raises(ValueError, match="factored"):
        PacketNetwork(g, ICQLoadTeam(), timing="service", obs_kind="dest_wait")

    class Bad(ShortestPathTeam):
        def decide(self, t, view, obs, live):  # type: ignore[no-untyped-def]
            return np.full(len(view), 1)

    net = PacketNetwork(nx.star_graph(3), Bad(), LoadConfig(load=3.0, steps=50, drain=0), seed=0)
    with pytest.raises(RuntimeError, match="not live"):
        net.run()
