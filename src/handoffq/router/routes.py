"""Reading back what a router learned: per agent, view -> greedy successor, Q values, visits.

:func:`routes_table` lists every stored view of every tabular agent (an MLP agent's views are
not enumerable: it gets one row saying so); :func:`format_routes` prints it;
:func:`draw_routes` draws the routing graph (agents as nodes, an edge where some view's greedy
successor is that agent, labelled with the number of views and visits behind it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handoffq.router.errors import END
from handoffq.router.views import describe_view

if TYPE_CHECKING:
    from handoffq.router.router import Router

__all__ = ["RouteRow", "draw_routes", "format_routes", "routes_table"]


@dataclass(frozen=True)
class RouteRow:
    """One agent at one of its views: where it routes now and why.

    ``view`` is None (and ``choice`` empty) for an MLP agent, whose views cannot be listed.
    """

    agent: str
    view: Any
    choice: str
    q: dict[str, float]
    visits: dict[str, int] | None

    @property
    def total_visits(self) -> int:
        """Replies learned from at this view (0 for an MLP agent)."""
        return 0 if self.visits is None else sum(self.visits.values())


def routes_table(router: Router) -> list[RouteRow]:
    """Every agent's learned routing, view by view (views in the order they were first seen)."""
    rows = []
    for name, node in router.agents.items():
        if node.vocab is None:
            rows.append(RouteRow(name, None, "", {}, None))
            continue
        for obs in node.views():
            rows.append(RouteRow(name, node.decode(obs), node.greedy(obs), node.explain(obs), node.visits(obs)))
    return rows


def format_routes(rows: list[RouteRow]) -> str:
    """The table as plain text, one block per agent."""
    out: list[str] = []
    current = None
    for row in rows:
        if row.agent != current:
            current = row.agent
            out.append(f"{row.agent}:")
        if row.view is None:
            out.append("  (MLP learner over numeric views: views cannot be listed; use Router.explain)")
            continue
        qs = "  ".join(
            f"{k}={v:+.3f}" + ("" if row.visits is None else f"/{row.visits[k]}") for k, v in row.q.items()
        )
        out.append(f"  {describe_view(row.view, 40):<40} -> {row.choice:<12} Q/visits: {qs}")
    return "\n".join(out)


def _edges(rows: list[RouteRow]) -> dict[tuple[str, str], list[int]]:
    """(agent, successor) -> [views routed there, visits behind them]."""
    edges: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        if row.view is None or row.visits is None:
            continue
        e = edges[(row.agent, row.choice)]
        e[0] += 1
        e[1] += row.visits[row.choice]
    return edges


def draw_routes(rows: list[RouteRow], path: str | Path, title: str = "learned routes") -> Path:
    """Draw the greedy routing graph to ``path`` (PNG, SVG or PDF by its suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx  # type: ignore[import-untyped]

    g = nx.DiGraph()
    for row in rows:
        g.add_node(row.agent)
    for (src, dst), (n_views, visits) in _edges(rows).items():
        label = f"{n_views} view{'s' if n_views != 1 else ''}, {visits} visits"
        g.add_edge(src, "END" if dst == END else dst, label=label)
    fig, ax = plt.subplots(figsize=(7, 5))
    pos = nx.spring_layout(g, seed=0) if len(g) > 2 else nx.circular_layout(g)
    nx.draw_networkx(g, pos, ax=ax, node_color="#cfe3f7", node_size=1800, font_size=9, arrowsize=16,
                     connectionstyle="arc3,rad=0.12")
    nx.draw_networkx_edge_labels(g, pos, edge_labels=nx.get_edge_attributes(g, "label"), font_size=7, ax=ax,
                                 connectionstyle="arc3,rad=0.12")
    ax.set_title(title)
    ax.axis("off")
    out = Path(path)
    fig.savefig(out, bbox_inches="tight", dpi=120)
    plt.close(fig)
    return out
