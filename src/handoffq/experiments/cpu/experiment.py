"""The CPU experiment's run: cells -> resumable sweep -> summary -> files and figures."""

from __future__ import annotations

import time
from typing import Any

from handoffq.experiments.common import RunContext, finish, write_config
from handoffq.experiments.cpu.cells import cpu_cell, cpu_cells
from handoffq.experiments.cpu.config import CPUExperimentConfig
from handoffq.experiments.cpu.figures import fraction_figure, learning_curve_figure, methods_figure
from handoffq.experiments.cpu.summary import summarise
from handoffq.io import read_json, write_json
from handoffq.runtime.sweep import run_sweep

__all__ = ["HEADLINE", "SIM_NOTE", "TASK_FACTS", "run"]

HEADLINE = ("unseen_accuracy", "seen_accuracy", "memorising_unseen_accuracy", "fixed_pipeline_unseen_accuracy",
            "centralised_unseen_accuracy", "random_unseen_accuracy")
SIM_NOTE = ("the CPU is a software model (handoffq.envs.cpu): no hardware or external service is involved; "
            "the paper's task is itself a simulated machine")
TASK_FACTS = {
    "opcode_given": False,
    "obs_contains_values": True,
    "observation": "each unit: memory M and target T (raw integers) and the datapath registers as "
                   "(valid, value); no opcode, program, provenance tag or ready bit of another unit",
    "network_inputs": "each agent's network reads only its own observation through a fixed feature map "
                      "(--inputs, --value-transform); the environment computes nothing about correctness",
    "shaping": "F = gamma*Phi(s') - Phi(s), Phi = 0 at the end; Phi = cell_weight per memory cell equal to "
               "its target + register_weight per unmet target value held in a register (names no kind, unit "
               "or order; leaves every policy's ranking unchanged)",
}


def _annotate_config(ctx: RunContext) -> None:
    """Add the task facts the issue checks to ``config.json``."""
    path = ctx.out / "config.json"
    data = read_json(path)
    if isinstance(data, dict):
        write_json(path, {**data, **TASK_FACTS})


def run(cfg: CPUExperimentConfig, ctx: RunContext) -> dict[str, Any]:
    """Run the CPU experiment into ``ctx.out`` (resumable: finished cells are read back)."""
    cells = cpu_cells(cfg, ctx.seed)
    write_config("cpu", cfg, ctx, True, SIM_NOTE)
    _annotate_config(ctx)
    t0 = time.time()
    with ctx.bar("CPU cells (method x training fraction x seed)", len(cells)) as advance:
        rows = run_sweep(cells, cpu_cell, ctx.out / "cells.jsonl", ctx.workers, ctx.runtime, advance)
    summary = {**summarise(rows, cfg, ctx.seed, time.time() - t0), **TASK_FACTS}
    flat = [{k: v for k, v in r.items() if k not in ("options", "curve")} for r in rows]
    summary = finish(ctx, flat, summary, True, SIM_NOTE)
    learning_curve_figure(ctx.out / "learning_curve.png", summary)
    fraction_figure(ctx.out / "accuracy_by_fraction.png", summary)
    methods_figure(ctx.out / "methods_at_20_percent.png", summary,
                   tuple(m for m in ("icq", "fixed_pipeline", "centralised", "memorising", "random")
                         if m in cfg.methods))
    return summary
