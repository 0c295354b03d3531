"""Reading back learned routes."""

from __future__ import annotations

from handoffq import END, Router
from handoffq.router import MLP
from handoffq.router.routes import format_routes, routes_table


def test_table_lists_views_in_first_seen_order_with_greedy_choice():
    r = Router(seed=0, diagnostics=False)
    r.add_agent("a", observe=lambda x: x, successors=["m", END])
    r.add_agent("m", observe=lambda x: [float(x == "go")], successors=[END], learner=MLP(width=4))
    for art, reward in (("go", 1.0), ("stop", 0.0), ("go", 1.0)):
        t = r.start_task()
        if t.next("a", art, chosen="m") == "m":
            t.next("m", art)
        t.finish(reward)
    rows = routes_table(r)
    assert [(row.agent, row.view) for row in rows] == [("a", "go"), ("a", "stop"), ("m", None)]
    assert rows[0].visits == {"m": 2, END: 0} and rows[0].total_visits == 2
    text = format_routes(rows)
    assert "'go'" in text and "MLP learner" in text
