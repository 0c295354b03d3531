"""T2's run: cells -> resumable sweep -> summary -> files and figure."""

from __future__ import annotations

from typing import Any

from handoffq.experiments.common import RunContext, finish, write_config
from handoffq.experiments.synthetic.exact import SIMULATED_NOTE
from handoffq.experiments.t2.cells import t2_cell, t2_cells
from handoffq.experiments.t2.config import T2Config
from handoffq.experiments.t2.figures import t2_figure
from handoffq.experiments.t2.summary import summarise
from handoffq.runtime.sweep import run_sweep

__all__ = ["HEADLINE", "run"]

HEADLINE = ("budget_slope", "mixing_spearman", "mixing_spearman_excess", "floor_gap_by_rho")


def run(cfg: T2Config, ctx: RunContext) -> dict[str, Any]:
    """Run T2 into ``ctx.out`` (resumable: finished cells are read back, not recomputed)."""
    write_config("t2", cfg, ctx, True, SIMULATED_NOTE)
    scaled = cfg.scaled()
    cells = t2_cells(scaled, ctx.seed)
    with ctx.bar("T2 cells (budget, p and width scans)", len(cells)) as advance:
        rows = run_sweep(cells, t2_cell, ctx.out / "cells.jsonl", ctx.workers, ctx.runtime, advance)
    rows = [{k: v for k, v in r.items() if k not in ("synthetic", "settings")} for r in rows]
    summary = finish(ctx, rows, summarise(rows, scaled, ctx.seed), True, SIMULATED_NOTE)
    t2_figure(ctx.out / "t2_scans.png", rows, summary, scaled)
    return summary
