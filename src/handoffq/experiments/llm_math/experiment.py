"""llm-math's run: exact analysis -> (dataset, seed) cells -> summary -> files and figures."""

from __future__ import annotations

import time
from typing import Any

from handoffq.experiments.common import RunContext, finish, write_config
from handoffq.experiments.llm_math.analysis import DatasetExact, dataset_exact, sensitivity
from handoffq.experiments.llm_math.cells import seed_cell
from handoffq.experiments.llm_math.config import LLMMathConfig
from handoffq.experiments.llm_math.figures import learning_curve_figure, sensitivity_figure
from handoffq.experiments.llm_math.summary import ARRANGED_NOTE, dataset_summary, result_rows, table1_markdown
from handoffq.io import write_csv
from handoffq.llm.simulated import SIMULATED_NOTE, TABLE1

__all__ = ["HEADLINE", "run"]

HEADLINE = ("gap_to_optimum", "optimum_is_workflow", "icq_minus_best_workflow")

_PER_DATASET = (  # summary key -> key of dataset_summary
    ("gap_to_optimum", "gap_to_optimum"), ("optimum_is_workflow", "optimum_is_workflow"),
    ("icq_minus_best_workflow", "icq_minus_best_workflow"),
    ("icq_minus_best_workflow_per_seed", "icq_minus_best_workflow_per_seed"),
    ("gap_to_pool_optimum", "gap_to_pool_optimum"), ("icq_equals_workflow", "icq_equals_workflow"),
    ("icq_routing_first_seed", "icq_routing_first_seed"), ("ucb1", "ucb1"), ("cot_sc", "cot_sc"),
    ("table1", "table1"), ("calls_per_question", "calls_per_question"),
    ("tokens_per_question", "tokens_per_question"), ("data_source", "data_source"),
    ("bits4_gap_to_default_optimum", "bits4_gap_to_default_optimum"),
)


def _interfaces(cfg: LLMMathConfig) -> list[str]:
    other = [i for i in ("budget", "bits4") if i != cfg.interface]
    return [cfg.interface, *(other if cfg.compare_interfaces else [])]


def _header(cfg: LLMMathConfig, ctx: RunContext) -> dict[str, Any]:
    copy, cap = cfg.resolved()
    return {
        "simulated": True, "simulated_note": SIMULATED_NOTE, "simulator": cfg.simulator,
        "arranged": cfg.arranged, "arranged_note": ARRANGED_NOTE if cfg.arranged else None,
        "copy": copy, "max_handoffs": cap, "interface": cfg.interface, "interfaces": _interfaces(cfg),
        "seeds": list(range(ctx.seed, ctx.seed + cfg.seeds)),
        "inputs_not_results": {ds: TABLE1[ds] for ds in cfg.datasets()},
        "estimator": cfg.estimator, "icq_calls": cfg.icq_calls,
    }


def _exact_keys(s: dict[str, Any], ex: DatasetExact) -> None:
    ds = ex.dataset
    s.setdefault("exact", {})[ds] = {"workflows": ex.workflows,
                                     "optimum_calls": {i: o["calls"] for i, o in ex.optima.items()}}
    for i, o in ex.optima.items():
        s.setdefault("class_optimum", {}).setdefault(i, {})[ds] = o["accuracy"]
    main = ex.optima[s["interface"]]
    s.setdefault("optimum_equals", {})[ds] = main["equals"]
    s.setdefault("optimum_routing", {})[ds] = main["routing"]
    s.setdefault("perfect_recall_optimum", {})[ds] = ex.perfect_recall
    s.setdefault("clairvoyant", {})[ds] = ex.clairvoyant
    s.setdefault("best_workflow", {})[ds] = ex.best_workflow
    if "budget" in ex.optima and "bits4" in ex.optima:
        s.setdefault("interface_value_lost", {})[ds] = ex.optima["budget"]["accuracy"] - ex.optima["bits4"]["accuracy"]


def _file_keys(s: dict[str, Any], ds: str, d: dict[str, Any]) -> None:
    for key, src in _PER_DATASET:
        s.setdefault(key, {})[ds] = d[src]
    for name in ("icq_accuracy", "gap_by_interface"):
        for i, v in d[name].items():
            s.setdefault(name if name != "gap_by_interface" else "gap_to_optimum_by_interface", {}).setdefault(
                i, {})[ds] = v


def run(cfg: LLMMathConfig, ctx: RunContext) -> dict[str, Any]:
    """Run llm-math into ``ctx.out`` (a real backend: :mod:`handoffq.experiments.llm_math.real`)."""
    if cfg.backend != "simulated":
        from handoffq.experiments.llm_math import real

        return real.run(cfg, ctx)
    t_start = time.time()
    write_config("llm-math", cfg, ctx, True, SIMULATED_NOTE)
    s = _header(cfg, ctx)
    copy, cap = cfg.resolved()
    ifaces = _interfaces(cfg)
    rows: list[dict[str, Any]] = []
    curves: dict[str, dict[str, list[list[tuple[int, float]]]]] = {}
    n_cmp = cfg.compare_seeds or cfg.seeds
    with ctx.bar("llm-math (dataset x seed)", len(cfg.datasets()) * cfg.seeds) as advance:
        for ds in cfg.datasets():
            ex = dataset_exact(ds, copy, cap, ifaces)
            _exact_keys(s, ex)
            cells = []
            for k, seed in enumerate(s["seeds"]):
                t0 = time.time()
                cells.append(seed_cell(cfg, ex, seed, ifaces if k < n_cmp else ifaces[:1]))
                icq = cells[-1]["icq"][cfg.interface]
                ctx.log(f"{ds} seed {seed}: IC-Q ({cfg.interface}) {icq['accuracy']:.4f}, optimum "
                        f"{ex.optima[cfg.interface]['accuracy']:.4f}, best workflow "
                        f"{ex.workflows[ex.best_workflow]:.4f}; {time.time() - t0:.0f} s [SIMULATED]")
                advance(1)
            d = dataset_summary(cfg, ex, cells)
            _file_keys(s, ds, d)
            rows += result_rows(cells, ex, d)
            curves[ds] = {i: [c["icq"][i]["curve"] for c in cells if i in c["icq"]] for i in ifaces}
    curve_rows = [{"dataset": ds, "interface": i, "seed": s["seeds"][k], "llm_calls": calls, "accuracy": acc,
                   "simulated": True}
                  for ds, by in curves.items() for i, cs in by.items() for k, c in enumerate(cs) for calls, acc in c]
    write_csv(ctx.out / "learning_curves.csv", curve_rows)
    if cfg.sensitivity:
        s["sensitivity"] = sensitivity(cfg.datasets(), cfg.sens_copies, cfg.sens_caps)
        sensitivity_figure(ctx.out / "sensitivity.png", s["sensitivity"], cfg.datasets(), (copy, cap))
    learning_curve_figure(ctx.out / "learning_curves.png", curves, s)
    s["runtime_s"] = time.time() - t_start
    (ctx.out / "table1.md").write_text(table1_markdown(s))
    return finish(ctx, rows, s, True, SIMULATED_NOTE)
