"""The service's calls on its AgentNode follow the router's modes, and restore decisions exactly."""

from __future__ import annotations

import pickle

import pytest

from handoffq.router import END, AgentNode, UnseenViewError, UnseenViewWarning
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
    with pytest.warns(UnseenViewWarning):  # no fallback: the first successor, with the router's warning
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


def _full_table_node(**policy) -> HostedNode:  # type: ignore[no-untyped-def]
    """A node with 16 views: the table's first capacity, so its last row is a real view (which
    the tests make prefer 'b'); a view never seen must not borrow that row."""
    h = HostedNode(AgentNode("a", ["b", END], seed=0, **policy))
    for i in range(16):
        _k, recorded = h.decide(f"k{i}", h.observe(f"v{i}", "train"), "train")
        assert recorded
        h.learn(f"k{i}", 0.0, 1, 0.0)
    return h


@pytest.mark.parametrize("mode", ["frozen", "serve"])
def test_unseen_views_go_to_the_fallback_and_send_the_initial_value(mode):
    h = _full_table_node(unseen="fallback", fallback=END)
    h.node.agent.q.table[15] = [5.0, 0.0]
    obs = h.observe("never seen", mode)
    assert obs == [-1]
    assert h.decide("x", obs, mode) == (END, False)
    assert h.value(obs) == 0.0  # the initial value, not row -1's 5.0
    assert h.node.pending() == 0


def test_unseen_views_raise_under_the_error_policy():
    h = _full_table_node(unseen="error")
    with pytest.raises(UnseenViewError):
        h.observe("never seen", "frozen")
