"""T2: the three error sources of Theorem 1, each along its own axis (paper section 5.1).

Error is the behaviour-weighted RMS distance between the learned ``Q_i(o(x), k)`` and the
latent oracle ``Q*(x, k)`` (exact, on the finite model), under the uniform behaviour's
stationary distribution - the left side of Theorem 1. Three scans:

1. **Sample budget** at ``rho = 1`` (tabular IC-Q): the mixing residual decays with the budget;
   ``budget_slope`` is the log-log slope of mean error against budget.
2. **Handoff probability** ``p`` at ``rho = 1`` (tabular IC-Q, a fixed budget of handoffs).
   Smaller ``p`` means longer, more variable invocations (``tau`` about ``1/p``): the option
   reward sums more primitive rewards and the primitive-time chain mixes more slowly between
   decision epochs. Shorter effective horizons would confound this (``E[gamma^tau]`` falls
   with ``p`` at a fixed primitive ``gamma``), so each ``p`` uses the primitive discount
   ``gamma_p = g / (p + g (1 - p))`` that keeps the per-handoff effective discount
   ``E[gamma_p^tau] = g`` of a geometric ``tau`` equal to the default instance's
   (``g = 0.9 * 0.5 / (1 - 0.9 * 0.5)``). ``handoff_spearman`` is the Spearman correlation
   between ``p`` and the final error over all (p, seed) cells (negative: error grows as ``p``
   shrinks). Raw errors are reported with the scale of ``Q*`` (``q_star_rms``) per cell.
3. **Width** ``m`` of a 3-layer MLP (two hidden layers, one-hot inputs) at several ``rho``:
   error floors at a level set by ``rho`` (the AIS term); ``width_floor_by_rho`` is the mean
   error of the widest network per ``rho``. The exact floor of a perfectly fitted learner (the
   distance between IC-Q's tabular fixed point and ``Q*``) is reported as
   ``exact_floor_by_rho``. The networks are trained with Adam (a decaying rate): plain SGD's
   stable step size shrinks with the width (it diverged at the wide end of the scan with one
   shared rate), and a scan over widths needs one optimiser setting for all of them.

Budgets count handoffs (decision epochs), the sample unit of Theorem 1.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from handoffq.config import ExperimentConfig, option
from handoffq.envs.synthetic import SyntheticConfig
from handoffq.experiments.common import RunContext, finish, write_config
from handoffq.experiments.plotting import pyplot, save
from handoffq.experiments.registry import Experiment, register
from handoffq.experiments.stats import loglog_slope, spearman
from handoffq.experiments.synthetic_common import SIMULATED_NOTE, reference, team_q_error, train_icq
from handoffq.learn.schedules import StepSize
from handoffq.runtime.sweep import run_sweep
from handoffq.theory.mixing import behaviour_chain, mixing

__all__ = ["T2Config", "run", "t2_cell"]


@dataclasses.dataclass(frozen=True)
class T2Config(ExperimentConfig):
    """T2 settings (defaults: the full preset; :meth:`quick` the CI preset)."""

    seeds: int = option(5, "seeds of the budget and p scans", min=1)
    budgets: tuple[int, ...] = option((1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000),
                                      "sample budgets (handoffs) of the budget scan", min=1)
    ps: tuple[float, ...] = option((1.0, 0.7, 0.5, 0.3, 0.2, 0.1), "handoff probabilities of the p scan",
                                   above=0.0, max=1.0)
    p_budget: int = option(100_000, "budget (handoffs) of each p-scan cell", min=1)
    p_tau_max: int = option(60, "longest invocation in the p scan", min=1)
    p_gamma_eff: float = option(0.45 / 0.55, "per-handoff effective discount held fixed across p", above=0.0,
                                max=0.999)
    widths: tuple[int, ...] = option((2, 4, 8, 16, 64, 256), "MLP widths of the width scan", min=1)
    width_rhos: tuple[float, ...] = option((1.0, 0.6, 0.3), "retention ratios of the width scan",
                                           above=0.0, max=1.0)
    width_budget: int = option(300_000, "budget (handoffs) of each width-scan cell", min=1)
    width_seeds: int = option(3, "seeds of the width scan", min=1)
    mlp_lr: float = option(0.003, "MLP learning rate", above=0.0)
    mlp_t0: float = option(20_000, "MLP step-size decay constant t0", above=0.0)
    mlp_envs: int = option(256, "concurrent episodes when training MLPs", min=1)
    n_envs: int = option(256, "concurrent episodes of the batched runner", min=1)
    budget_scale: float = option(1.0, "multiply every budget by this factor", above=0.0, max=100.0)
    synthetic: SyntheticConfig = option(SyntheticConfig(), "the synthetic instance family")

    @classmethod
    def quick(cls) -> T2Config:
        """CI-sized preset."""
        return cls(
            seeds=3,
            budgets=(1_000, 3_000, 10_000, 30_000, 100_000),
            ps=(1.0, 0.5, 0.25, 0.1),
            p_budget=30_000,
            widths=(4, 64),
            width_rhos=(1.0, 0.5, 0.2),
            width_budget=100_000,
            width_seeds=1,
        )


def t2_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Train and measure one cell of any of the three scans."""
    cfg = dataclasses.replace(SyntheticConfig(**cell["synthetic"]), rho=cell["rho"], p=cell["p"])
    ref = reference(cfg)
    if cell["scan"] == "width":
        team = train_icq(cfg, cell["budget"], cell["learn_seed"], estimator="mlp",
                         estimator_kwargs={"width": cell["width"], "depth": 2, "lr": cell["lr"],
                                           "optimizer": "adam"},
                         schedule=StepSize("decay", 1.0, t0=cell["t0"]), n_envs=cell["n_envs"],
                         runtime=cell["runtime"])
    else:
        team = train_icq(cfg, cell["budget"], cell["learn_seed"], n_envs=cell["n_envs"],
                         unit=cell["unit"], runtime=cell["runtime"])
    from handoffq.experiments.synthetic_common import rms

    out = {"error": team_q_error(ref, team), "q_star_rms": rms(ref.q_star, ref.mu, ref.model.admissible)}
    if cell["scan"] == "p":
        out["mixing_time"] = mixing(behaviour_chain(ref.model, ref.behaviour)).mixing_time
        out["mean_tau"] = float(1.0 / cfg.p) if cfg.p > 0 else float("nan")
    return out


def _exact_floor(syn: SyntheticConfig, rho: float) -> float:
    """Distance between IC-Q's exact tabular fixed point at ``rho`` and ``Q*`` (no sampling,
    no approximation error: the AIS term alone)."""
    from handoffq.theory.ais import ais_induced_q, obs_q_tables
    from handoffq.theory.solve import q_error

    ref = reference(dataclasses.replace(syn, rho=rho))
    return q_error(ref.model, obs_q_tables(ref.model, ais_induced_q(ref.model, ref.mu)), ref.q_star, ref.mu)


def _cells(cfg: T2Config, ctx: RunContext) -> list[dict[str, Any]]:
    syn = cfg.synthetic.__dict__
    common = {"runtime": ctx.runtime, "synthetic": syn}
    cells: list[dict[str, Any]] = []
    for s in range(cfg.seeds):
        for b in cfg.budgets:
            cells.append({"scan": "budget", "budget": b, "unit": "handoffs", "rho": 1.0,
                          "p": cfg.synthetic.p, "seed": s, "learn_seed": ctx.seed + s,
                          "n_envs": min(cfg.n_envs, max(8, b // 50)), **common})
        for p in cfg.ps:
            g = cfg.p_gamma_eff
            gamma_p = g / (p + g * (1.0 - p))
            cells.append({"scan": "p", "budget": cfg.p_budget, "unit": "handoffs", "rho": 1.0,
                          "p": p, "seed": s, "learn_seed": ctx.seed + s, "n_envs": 128,
                          **{**common, "synthetic": {**syn, "tau_max": cfg.p_tau_max, "gamma": gamma_p}}})
    for s in range(cfg.width_seeds):
        for rho in cfg.width_rhos:
            for w in cfg.widths:
                cells.append({"scan": "width", "budget": cfg.width_budget, "unit": "handoffs",
                              "rho": rho, "p": cfg.synthetic.p, "width": w, "lr": cfg.mlp_lr, "t0": cfg.mlp_t0,
                              "seed": s, "learn_seed": ctx.seed + s, "n_envs": cfg.mlp_envs,
                              **common})
    return cells


def run(cfg: T2Config, ctx: RunContext) -> dict[str, Any]:
    """Run T2 into ``ctx.out``."""
    scale = cfg.budget_scale
    cfg = dataclasses.replace(
        cfg,
        budgets=tuple(max(100, int(b * scale)) for b in cfg.budgets),
        p_budget=max(100, int(cfg.p_budget * scale)),
        width_budget=max(100, int(cfg.width_budget * scale)),
    )
    cells = _cells(cfg, ctx)
    write_config("t2", cfg, ctx, True, SIMULATED_NOTE)
    with ctx.bar("T2 cells (budget, p, width scans)", len(cells)) as advance:
        rows = run_sweep(cells, t2_cell, ctx.out / "cells.jsonl", ctx.workers, ctx.runtime, advance)
    for r in rows:
        r.pop("synthetic", None)

    def mean_by(scan: str, key: str, rho: float | None = None) -> dict[float, float]:
        sel = [r for r in rows if r["scan"] == scan and (rho is None or r["rho"] == rho)]
        keys = sorted({r[key] for r in sel})
        return {k: float(np.mean([r["error"] for r in sel if r[key] == k])) for k in keys}

    budget_err = mean_by("budget", "budget")
    p_rows = [r for r in rows if r["scan"] == "p"]
    p_err = mean_by("p", "p")
    floors = {str(rho): mean_by("width", "width", rho)[max(cfg.widths)] for rho in cfg.width_rhos}
    exact = {str(rho): _exact_floor(cfg.synthetic, rho) for rho in cfg.width_rhos}
    summary = finish(ctx, rows, {
        "budget_slope": loglog_slope(list(budget_err), list(budget_err.values())),
        "handoff_spearman": spearman([r["p"] for r in p_rows], [r["error"] for r in p_rows]),
        "width_floor_by_rho": floors,
        "exact_floor_by_rho": exact,
        "error_by_budget": {str(k): v for k, v in budget_err.items()},
        "error_by_p": {str(k): v for k, v in p_err.items()},
        "error_by_width": {str(rho): {str(w): e for w, e in mean_by("width", "width", rho).items()}
                           for rho in cfg.width_rhos},
        "seeds": [ctx.seed + s for s in range(cfg.seeds)],
    }, True, SIMULATED_NOTE)
    _figure(ctx, rows, cfg, summary)
    return summary


def _figure(ctx: RunContext, rows: list[dict[str, Any]], cfg: T2Config, summary: dict[str, Any]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    b = [r for r in rows if r["scan"] == "budget"]
    ax.scatter([r["budget"] for r in b], [r["error"] for r in b], alpha=0.4, color="C0")
    eb = summary["error_by_budget"]
    ax.plot([float(k) for k in eb], list(eb.values()), "o-", color="C0")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sample budget T (handoffs)")
    ax.set_ylabel("RMS error ||Q_T - Q*|| (mu-weighted)")
    ax.set_title(f"budget at rho=1: slope {summary['budget_slope']:.2f}")
    ax = axes[1]
    p = [r for r in rows if r["scan"] == "p"]
    ax.scatter([r["p"] for r in p], [r["error"] for r in p], alpha=0.4, color="C1")
    ep = summary["error_by_p"]
    ax.plot([float(k) for k in ep], list(ep.values()), "o-", color="C1")
    ax.set_xlabel("handoff probability p")
    ax.set_ylabel("RMS error")
    ax.set_title(f"p (fixed budget, fixed E[gamma^tau]): Spearman {summary['handoff_spearman']:.2f}")
    ax = axes[2]
    for n, (rho, errs) in enumerate(summary["error_by_width"].items()):
        ax.plot([int(w) for w in errs], list(errs.values()), "o-", color=f"C{n}", label=f"rho={rho}")
        ax.axhline(summary["exact_floor_by_rho"][rho], color=f"C{n}", ls=":", lw=1)
    ax.set_xscale("log")
    ax.set_xticks(list(cfg.widths), [str(w) for w in cfg.widths])
    ax.minorticks_off()
    ax.set_xlabel("MLP width m")
    ax.set_ylabel("RMS error")
    ax.set_title("width at several rho (dotted: exact AIS floor)")
    ax.legend()
    fig.suptitle("T2 (synthetic IC-SMDP)")
    save(fig, ctx.out / "t2_scans.png")


register(Experiment(name="t2", description="T2 (synthetic IC-SMDP): error vs budget, handoff probability and width",
                    config=T2Config, run=run, headline=("budget_slope", "handoff_spearman", "width_floor_by_rho")))
