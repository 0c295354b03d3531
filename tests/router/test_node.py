"""AgentNode: the per-agent component shared by the Router and agents-as-services."""

from __future__ import annotations

import pytest

from handoffq.core.messages import HandoffMessage
from handoffq.router import END, MLP, AgentNode, RouterError, TaskStateError
from handoffq.router.node import UNSEEN


def test_choose_value_learn_forget_explain():
    n = AgentNode("a", ["b", END], observe=lambda art: art["v"], seed=1)
    o = n.view({"v": "x"})
    assert n.choose(("t", 0), o, explore=False) == "b" and n.pending() == 1
    with pytest.raises(TaskStateError, match="already has a pending decision"):
        n.choose(("t", 0), o, explore=False)
    n.learn(("t", 0), HandoffMessage(0.5, 2, 1.0))
    assert n.explain(o) == {"b": pytest.approx(1.0 + 0.99**2 * 0.5), END: 0.0}
    assert n.visits(o) == {"b": 1, END: 0} and n.value(o) == pytest.approx(1.0 + 0.99**2 * 0.5)
    with pytest.raises(TaskStateError, match="no pending handoff"):
        n.learn(("t", 0), HandoffMessage(0.0, 1, 0.0))
    n.choose("k", o, explore=True)
    assert n.forget("k") and not n.forget("k")
    assert n.choose("n", o, explore=True, record=False) in ("b", END) and n.pending() == 0


def test_vocabulary_growth_past_the_first_table_keeps_every_value():
    n = AgentNode("a", ["b", END])
    for i in range(40):
        o = n.view(i)
        n.choose(i, o, explore=False, chosen=END)
        n.learn(i, HandoffMessage(0.0, 1, float(i)))
    assert [n.explain(n.view(i))[END] for i in range(40)] == [float(i) for i in range(40)]
    assert n.view("new", add=False) is UNSEEN


def test_state_round_trip_and_shape_errors():
    n = AgentNode("a", ["b", END], fallback=END)
    for i in range(20):
        o = n.view(("v", i))
        n.choose(i, o, explore=False)
        n.learn(i, HandoffMessage(0.0, 1, i / 10))
    m = AgentNode.from_state(n.state_dict())
    assert all(m.explain(m.view(("v", i))) == n.explain(n.view(("v", i))) for i in range(20))
    assert m.fallback == END and m.state_dict()["capacity"] == 32
    for other, match in (
        (AgentNode("z", ["b", END]), "cannot be loaded into agent 'z'"),
        (AgentNode("a", [END, "b"]), "has successors"),
        (AgentNode("a", ["b", END], learner="mlp"), "tabular learner"),
    ):
        with pytest.raises(RouterError, match=match):
            other.load_state_dict(n.state_dict())
    with pytest.raises(RouterError, match="not a handoffq agent node"):
        AgentNode.from_state({"format": 99})


def test_mlp_node_builds_from_the_first_view_and_checks_its_length():
    n = AgentNode("m", ["x", END], learner=MLP(width=8))
    o = n.view([0.1, 0.2, 0.3])
    assert n.dim == 3 and n.visits(o) is None and set(n.explain(o)) == {"x", END}
    with pytest.raises(RouterError, match="has 2 numbers, expected 3"):
        n.view([0.1, 0.2])
    m = AgentNode.from_state(n.state_dict())
    assert m.explain(o) == n.explain(o)
    with pytest.raises(RouterError, match="views of length 3"):
        AgentNode("m", ["x", END], learner=MLP(dim=4, width=8)).load_state_dict(n.state_dict())
    with pytest.raises(RouterError, match="does not fit"):
        AgentNode("m", ["x", END], learner=MLP(dim=3, width=16)).load_state_dict(n.state_dict())


def test_bad_declarations():
    for kwargs, match in (
        ({"successors": "b"}, "list of names"),
        ({"successors": ["b", "b"]}, "name one agent twice"),
        ({"successors": ["b"], "unseen": "fallback"}, "needs fallback"),
        ({"successors": ["b"], "fallback": "c"}, "not one of its successors"),
        ({"successors": ["b"], "observe": 3}, "observe must be a callable"),
        ({"successors": ["b"], "gamma": 0.0}, "gamma"),
    ):
        with pytest.raises(RouterError, match=match):
            AgentNode("a", **kwargs)  # type: ignore[arg-type]
