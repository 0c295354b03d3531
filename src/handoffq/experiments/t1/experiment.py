"""T1's run: cells -> resumable sweep -> summary -> files and figure."""

from __future__ import annotations

from typing import Any

from handoffq.experiments.common import RunContext, finish, write_config
from handoffq.experiments.synthetic.exact import SIMULATED_NOTE
from handoffq.experiments.t1.cells import t1_cell, t1_cells, t1_reference_cell
from handoffq.experiments.t1.config import T1Config
from handoffq.experiments.t1.figures import t1_figure
from handoffq.experiments.t1.summary import summarise
from handoffq.io import write_csv
from handoffq.runtime.sweep import run_sweep

__all__ = ["HEADLINE", "run"]

HEADLINE = ("pearson_r", "partial_r_given_rho", "icq_normalised_rho1", "naive_normalised_rho1")

_INTERNAL = ("synthetic", "learn", "central")  # cell plumbing, not results


def run(cfg: T1Config, ctx: RunContext) -> dict[str, Any]:
    """Run T1 into ``ctx.out`` (resumable: finished cells are read back, not recomputed)."""
    cells, refs = t1_cells(cfg, ctx.seed)
    write_config("t1", cfg, ctx, True, SIMULATED_NOTE)
    with ctx.bar("T1 cells (instance x rho x design x learner, then baselines)", len(cells) + len(refs)) as advance:
        rows = run_sweep(cells, t1_cell, ctx.out / "cells.jsonl", ctx.workers, ctx.runtime, advance)
        ref_rows = run_sweep(refs, t1_reference_cell, ctx.out / "baselines.jsonl", ctx.workers, ctx.runtime, advance)
    summary = summarise(rows, ref_rows, cfg, ctx.seed)
    rows = [{k: v for k, v in r.items() if k not in _INTERNAL} for r in rows]
    write_csv(ctx.out / "baselines.csv", [{k: v for k, v in r.items() if k not in _INTERNAL} for r in ref_rows])
    summary = finish(ctx, rows, summary, True, SIMULATED_NOTE)
    t1_figure(ctx.out / "t1_ais_vs_value_gap.png", rows, summary, cfg.learner)
    return summary
