"""Experiment ``routing``: routes learned from packets, and the classic Q-routing benchmark.

The parts (each in its own module; ``run`` composes them):

* **static** (:mod:`.static`, paper section 5.3): IC-Q routers learn shortest-path routes from
  packets sent between random pairs on ER, BA, WS and chain graphs (20 and 100 routers), on the
  shared episode loop; accuracy, handoffs to full accuracy, naive Q and a random walk beside.
* **load** (:mod:`.load`, beyond the paper): Boyan and Littman's 36-router grid in a packet
  simulator after their ``netsim1.c``; delivery time against load for IC-Q, shortest paths and
  the Q-routing family (Q, PQ, DRQ, CQ), each from empty tables; beside the headline, on the same
  cells, IC-Q with the paper's binary flag, Q-routing given IC-Q's observation and IC-Q with
  another step size.
* **trace** (:mod:`.load`): the load steps 2.5 -> 3.5 -> 2.5; is each method back at its level?
* **failure** (:mod:`.failure`): the busiest bridge fails at load 1.0; recovery and losses.
* **random** (:mod:`.load`): ER, BA and WS graphs of 36 routers at multiples of each graph's
  shortest-path saturation load.

Figures (:mod:`.figures`), ``results.csv`` (one row per cell and seed), ``summary.json`` and
``figures.json`` (the plotted data) go to the output directory. Everything is simulated.
"""

from __future__ import annotations

import time
from typing import Any

from handoffq.envs.routing import boyan_littman_6x6
from handoffq.experiments.common import RunContext, finish, write_config
from handoffq.experiments.registry import Experiment, register
from handoffq.experiments.routing.config import RoutingExperimentConfig
from handoffq.experiments.routing.failure import run_failure
from handoffq.experiments.routing.figures import write_figures
from handoffq.experiments.routing.load import Warmed, run_load, run_random, run_trace
from handoffq.experiments.routing.static import run_static, summarise_static
from handoffq.io import write_json

__all__ = ["SIMULATED_NOTE", "RoutingExperimentConfig", "run"]

SIMULATED_NOTE = (
    "Routing is simulated: synthetic random graphs and Boyan and Littman's 36-router grid in a simulated "
    "packet network (FIFO queues, Poisson injection); no real network traffic."
)
HEADLINE = (
    "min_accuracy",
    "bl36_high_load_ratio_vs_sp",
    "bl36_high_load_ratio_vs_qrouting",
    "recovery_steps_to_shortest_path_level",
    "load_drop_recovered",
)


def run(config: RoutingExperimentConfig, ctx: RunContext) -> dict[str, Any]:
    """Run the selected parts; write the outputs; return the summary."""
    cfg = config
    write_config("routing", cfg, ctx, True, SIMULATED_NOTE)
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"static_training": cfg.static_training}
    figs: dict[str, Any] = {}
    static_rows: list[dict[str, Any]] = []
    if "static" in cfg.parts:
        static_rows, sfigs = run_static(cfg, ctx)
        rows += static_rows
        summary.update(summarise_static(static_rows, cfg))
        figs.update(sfigs)
    warmed = Warmed(boyan_littman_6x6(), cfg)
    for part, step in (("load", run_load), ("trace", run_trace), ("failure", run_failure)):
        if part in cfg.parts:
            r, s, f = step(cfg, ctx, warmed)
            rows += r
            summary.update(s)
            figs.update(f)
    if "random" in cfg.parts:
        r, s = run_random(cfg, ctx)
        rows += r
        summary.update(s)
    summary["runtime_s"] = round(time.perf_counter() - t_start, 1)
    summary = finish(ctx, rows, summary, True, SIMULATED_NOTE)
    write_json(ctx.out / "figures.json", figs)
    write_figures(ctx.out, figs, static_rows, summary.get("bl36_sp_saturation_load"))
    return summary


register(
    Experiment(
        name="routing",
        description="IC-Q routers: routes learned from packets on random graphs (static accuracy), and the "
        "Q-routing benchmark on Boyan and Littman's grid under load, a load trace and a link failure (simulated).",
        config=RoutingExperimentConfig,
        run=run,
        headline=HEADLINE,
    )
)
