"""The service's calls on its AgentNode follow the router's modes, and restore decisions exactly."""

from __future__ import annotations

import pickle

from handoffq.router import END, AgentNode
from handoffq.services.hosting import HostedNode, weakest_mode


def _node(**kw) -> HostedNode:
    return HostedNode(AgentNode("a", ["b", END], seed=3), **kw)


def test_modes_as_the_router():
    h = _node(learn_in_serve=False)
    assert h.learns("train") and not h.learns("serve") and not h.learns("frozen")
    assert _node().learns("serve")
    assert weakest_mode("train", "frozen") == "frozen" and weakest_mode("serve", "train") == "serve"
    obs = h.observe("x", "frozen")
    assert obs == [-1]  # a frozen task adds no view
    assert h.decide("k", obs, "frozen") == ("b", False)
    obs = h.observe("x", "train")
    _k, recorded = h.decide("k", obs, "train")
    assert recorded and h.node.pending() == 1


def test_restore_rebuilds_waiting_decisions_and_keeps_counters():
    h = _node()
    for i in range(6):
        h.decide(f"k{i}", h.observe(f"v{i % 2}", "train"), "train")
    h.learn("k0", 0.5, 1, 1.0)
    state = h.state_dict()
    waiting = [(f"k{i}", h.observe(f"v{i % 2}", "train"), None) for i in range(1, 6)]
    choices = {key: h.node.agent._pending[key] for key, _, _ in waiting}
    waiting = [(key, obs, h.node.successors[choices[key][1]]) for key, obs, _ in waiting]
    fresh = _node()
    fresh.restore(state, waiting)
    assert pickle.dumps(fresh.state_dict()) == pickle.dumps(state)
    assert fresh.node.agent._pending == h.node.agent._pending
    for key, _, _ in waiting:
        fresh.learn(key, 0.0, 1, 0.0)
    assert fresh.node.pending() == 0
