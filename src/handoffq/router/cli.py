"""``handoffq routes DIR``: print (and draw) what a saved router learned.

:func:`routes_command` is the whole command; ``handoffq.cli`` registers it as a typer
sub-command. It reads a directory written by ``Router.save`` (or ``autosave``) without any of
the agents' code: views are shown as they were stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from handoffq.router.errors import display_name
from handoffq.router.persist import read_manifest
from handoffq.router.routes import RouteRow, draw_routes, routes_table
from handoffq.router.views import describe_view

__all__ = ["routes_command", "routes_tables"]


def routes_tables(rows: list[RouteRow]) -> list[Any]:
    """One rich table per agent: view, greedy successor, then Q (visits) per successor."""
    from rich.table import Table

    tables: list[Any] = []
    by_agent: dict[str, list[RouteRow]] = {}
    for row in rows:
        by_agent.setdefault(row.agent, []).append(row)
    for agent, agent_rows in by_agent.items():
        first = agent_rows[0]
        table = Table(title=f"{agent}", title_justify="left")
        if first.view is None:
            table.add_column("MLP learner over numeric views: its views cannot be listed (use Router.explain)")
            tables.append(table)
            continue
        table.add_column("view")
        table.add_column("-> successor", style="bold")
        for succ in first.q:
            table.add_column(f"Q {display_name(succ)} (visits)", justify="right")
        for row in sorted(agent_rows, key=lambda r: -r.total_visits):
            cells = [f"{row.q[s]:+.3f} ({0 if row.visits is None else row.visits[s]})" for s in row.q]
            table.add_row(describe_view(row.view, 50), display_name(row.choice), *cells)
        tables.append(table)
    return tables


def routes_command(directory: Path, draw: Path | None = None, console: Any = None) -> list[RouteRow]:
    """Print each agent's learned table from a saved router (and draw the graph to ``draw``)."""
    from rich.console import Console

    from handoffq.router.router import Router

    out = console or Console()
    manifest = read_manifest(directory)
    router = Router.load(directory, diagnostics=False)
    rows = routes_table(router)
    settings = manifest["router"]
    out.print(
        f"router in {directory}: {len(router.agents)} agents, gamma {settings['gamma']}, "
        f"cost weight {settings['cost_weight']}, cap {settings['max_handoffs']} handoffs "
        f"(saved by handoffq {manifest.get('handoffq_version', '?')})"
    )
    for table in routes_tables(rows):
        out.print(table)
    if draw is not None:
        path = draw_routes(rows, draw, title=f"learned routes ({directory})")
        out.print(f"drew the routing graph to {path}")
    return rows
