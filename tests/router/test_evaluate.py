"""Evaluation against fixed routings: intervals, loop rates, paired differences, the worse-than warning."""

from __future__ import annotations

import math

import numpy as np
import pytest

from handoffq import END, Router
from handoffq.router import RouterError
from handoffq.router.demo import FULL_CHAIN, build_router, run_doc
from handoffq.router.evaluate import FixedRouting, RoutingWorseWarning, evaluate, mean_interval, wilson_interval


def _train(finisher: str, n: int = 3000) -> Router:
    r = build_router(finisher, seed=0, diagnostics=False)  # type: ignore[arg-type]
    for s in range(n):
        t = r.start_task()
        t.finish(run_doc(s, t.next))
    return r


def test_informed_router_beats_the_full_chain_with_a_significant_paired_difference():
    r = _train("informed")
    rep = evaluate({"learned": r, "chain": FixedRouting.like(r, FULL_CHAIN)}, range(50_000, 50_600), run_doc)
    learned, chain = rep.policies["learned"], rep.policies["chain"]
    assert chain.handoffs.value == 3.0 and chain.cost.value == pytest.approx(0.17)
    assert learned.net.value > chain.net.value and rep.comparisons[0].difference.low > 0
    assert learned.success.low > 0.95 and learned.loop_rate.value == 0.0


def test_blind_router_is_reported_worse_than_the_chain():
    r = _train("blind")
    with pytest.warns(RoutingWorseWarning, match="'learned' does worse than the fixed 'chain'"):
        rep = evaluate({"learned": r, "chain": FixedRouting.like(r, FULL_CHAIN)}, range(50_000, 50_400), run_doc)
    assert rep.comparisons[0].difference.high < 0
    assert "net(learned) - net(chain)" in str(rep)


def test_loops_are_counted_and_evaluation_does_not_learn():
    r = Router(seed=0, max_handoffs=4, diagnostics=False)
    r.add_agent("a", successors=["a", END], fallback="a")

    def run(x, route):
        agent = "a"
        while agent != END:
            agent = route(agent, x, cost=0.1)
        return 1.0

    loop = FixedRouting({"a": "a"}, max_handoffs=4)
    before = r.agents["a"].state_dict()["agent"]["q"]["table"].copy()
    rep = evaluate({"router": r, "loop": loop}, range(10), run, warn=False)
    assert np.array_equal(before, r.agents["a"].state_dict()["agent"]["q"]["table"])
    assert rep.policies["loop"].loop_rate.value == 1.0 and rep.policies["loop"].handoffs.value == 4
    assert rep.policies["loop"].reward.value == -1.0 and rep.policies["loop"].success.value == 0.0
    assert rep.policies["router"].loop_rate.value == 1.0  # the unseen view goes to the fallback: 'a' again


def test_intervals():
    w = wilson_interval(0, 10, 0.95)
    assert w.value == 0.0 and w.low == 0.0 and 0.25 < w.high < 0.35
    m = mean_interval(np.array([1.0, 2.0, 3.0]), 0.95)
    assert m.value == 2.0 and m.high - m.value == pytest.approx(4.303 / math.sqrt(3), rel=1e-3)
    assert mean_interval(np.array([5.0]), 0.9).low == 5.0


def test_bad_arguments():
    with pytest.raises(RouterError, match="says nothing about agent 'b'"):
        FixedRouting({"a": "b"}).start_task().next("b", None)
    with pytest.raises(RouterError, match="chain, a mapping or a rule"):
        FixedRouting("abc")
    with pytest.raises(RouterError, match="at least one task"):
        evaluate({"x": FixedRouting(["a"])}, [], lambda x, r: 0.0)
