"""T1: the AIS gap predicts the value gap (paper section 5.1).

For each seed ``s`` (an instance ``instance_seed = seed + s`` *and* a learning seed) and each
retention ratio ``rho``, IC-Q (tabular, uniform behaviour over admissible successors) is
trained to convergence on the synthetic IC-SMDP; then, exactly on the finite model:

* ``ais_gap``: the empirical AIS gap of the observation map under the behaviour's stationary
  distribution, in the form the AIS value-gap argument uses - the option-level Bellman
  residual ``|R - Rhat| + |E[gamma^tau Vhat] - Ehat[gamma^tau Vhat]|`` divided by
  ``1 - gamma_eff`` (see :mod:`handoffq.theory.ais`); the TV form ``(eps + gamma_eff L_V
  delta) / (1 - gamma_eff)`` is reported too (``ais_gap_tv``) with its own correlation;
* ``value_gap``: exact value of the converged IC-Q greedy policy at the highest retention
  (``rho = 1`` of the same seed) minus its exact value at ``rho``.

``summary.json``: ``pearson_r`` (Pearson correlation of ais_gap and value_gap over all
(rho, seed) points), ``pearson_r_tv``, ``pearson_r_per_seed``, ``rho_one_ratio`` (IC-Q value /
oracle at rho = 1, per seed).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from handoffq.config import ExperimentConfig, option
from handoffq.envs.synthetic import SyntheticConfig
from handoffq.experiments.common import ExperimentError, RunContext, finish, write_config
from handoffq.experiments.plotting import pyplot, save
from handoffq.experiments.registry import Experiment, register
from handoffq.experiments.stats import pearson
from handoffq.experiments.synthetic_common import (
    SIMULATED_NOTE,
    greedy_value,
    reference,
    team_q_error,
    train_icq,
)
from handoffq.learn.schedules import StepSize
from handoffq.runtime.sweep import run_sweep
from handoffq.theory.ais import ais_gap

__all__ = ["T1Config", "run", "t1_cell"]


@dataclasses.dataclass(frozen=True)
class T1Config(ExperimentConfig):
    """T1 settings (defaults: the full preset; :meth:`quick` the CI preset)."""

    rhos: tuple[float, ...] = option((1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1),
                                     "retention ratios to sweep (must include 1)", above=0.0, max=1.0)
    seeds: int = option(5, "instances (each also a learning seed)", min=1)
    budget: int = option(400_000, "handoffs of IC-Q training per cell", min=1)
    n_envs: int = option(256, "concurrent episodes of the batched runner", min=1)
    step_a0: float = option(1.0, "step size scale a0 (visit-count schedule)", above=0.0, max=10.0)
    step_power: float = option(0.7, "visit-count exponent of the step size", above=0.5, max=1.0)
    synthetic: SyntheticConfig = option(SyntheticConfig(), "the synthetic instance family")

    @classmethod
    def quick(cls) -> T1Config:
        """CI-sized: 6 retention ratios, 5 seeds, 100k handoffs per cell."""
        return cls(rhos=(1.0, 0.8, 0.6, 0.4, 0.2, 0.1), budget=100_000)

    def validate(self) -> None:
        """The highest-retention baseline must be in the sweep."""
        if 1.0 not in self.rhos:
            raise ExperimentError("option --rhos must include 1.0 (the highest-retention baseline)")


def t1_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Train and measure one (rho, seed) cell (module-level: runs in worker processes)."""
    syn = SyntheticConfig(**cell["synthetic"])
    base = dataclasses.replace(syn, rho=1.0)
    cfg = dataclasses.replace(syn, rho=cell["rho"])
    ref1 = reference(base)  # the behaviour distribution is that of the latent chain
    ref = reference(cfg)
    gap = ais_gap(ref.model, ref1.mu, ref1.behaviour)
    team = train_icq(cfg, cell["budget"], cell["learn_seed"], n_envs=cell["n_envs"],
                     schedule=StepSize("visits", cell["step_a0"], power=cell["step_power"]),
                     runtime=cell["runtime"])
    value = greedy_value(cfg, ref, team)
    return {
        "value": value,
        "oracle_value": ref.oracle_value,
        "random_value": ref.random_value,
        "q_error": team_q_error(ref, team),
        "ais_gap": gap.gap_value_mean,
        "ais_gap_tv": gap.gap_mean,
        "eps_mean": gap.eps_mean,
        "delta_mean": gap.delta_mean,
        "residual_mean": gap.residual_mean,
        "gamma_eff": gap.gamma_eff,
    }


def run(cfg: T1Config, ctx: RunContext) -> dict[str, Any]:
    """Run T1 into ``ctx.out``."""
    cells = [
        {"rho": rho, "seed": s, "learn_seed": ctx.seed + s, "budget": cfg.budget, "n_envs": cfg.n_envs,
         "step_a0": cfg.step_a0, "step_power": cfg.step_power, "runtime": ctx.runtime,
         "synthetic": dataclasses.replace(cfg.synthetic, instance_seed=ctx.seed + s).__dict__}
        for s in range(cfg.seeds)
        for rho in cfg.rhos
    ]
    write_config("t1", cfg, ctx, True, SIMULATED_NOTE)
    with ctx.bar("T1 cells (rho x seed)", len(cells)) as advance:
        rows = run_sweep(cells, t1_cell, ctx.out / "cells.jsonl", ctx.workers, ctx.runtime, advance)
    for r in rows:
        top = next(x for x in rows if x["seed"] == r["seed"] and x["rho"] == 1.0)
        r["value_gap"] = top["value"] - r["value"]
        r["value_ratio"] = r["value"] / r["oracle_value"]
        del r["synthetic"]
    gaps = [r["ais_gap"] for r in rows]
    vgaps = [r["value_gap"] for r in rows]
    per_seed = [pearson([r["ais_gap"] for r in rows if r["seed"] == s],
                        [r["value_gap"] for r in rows if r["seed"] == s]) for s in range(cfg.seeds)]
    summary = finish(ctx, rows, {
        "pearson_r": pearson(gaps, vgaps),
        "pearson_r_tv": pearson([r["ais_gap_tv"] for r in rows], vgaps),
        "pearson_r_per_seed": per_seed,
        "rho_one_ratio": [r["value_ratio"] for r in rows if r["rho"] == 1.0],
        "n_points": len(rows),
        "seeds": [ctx.seed + s for s in range(cfg.seeds)],
    }, True, SIMULATED_NOTE)
    _figure(ctx, rows, cfg, summary)
    return summary


def _figure(ctx: RunContext, rows: list[dict[str, Any]], cfg: T1Config, summary: dict[str, Any]) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    sc = ax.scatter([r["ais_gap"] for r in rows], [r["value_gap"] for r in rows],
                    c=[r["rho"] for r in rows], cmap="viridis", edgecolor="k")
    fig.colorbar(sc, ax=ax, label="retention ratio rho")
    ax.set_xlabel("empirical AIS gap (Bellman residual / (1 - gamma_eff))")
    ax.set_ylabel("value gap vs rho = 1 (exact)")
    ax.set_title(f"T1: Pearson r = {summary['pearson_r']:.3f} (synthetic)")
    ax = axes[1]
    for s in range(cfg.seeds):
        pts = sorted((r["rho"], r["value_ratio"]) for r in rows if r["seed"] == s)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"seed {ctx.seed + s}")
    ax.set_xlabel("retention ratio rho")
    ax.set_ylabel("IC-Q value / oracle value")
    ax.set_title("Converged IC-Q value vs retention")
    ax.legend(fontsize=7)
    save(fig, ctx.out / "t1_ais_vs_value_gap.png")


register(Experiment(name="t1", description="T1 (synthetic IC-SMDP): AIS gap vs value gap over retention ratio rho",
                    config=T1Config, run=run, headline=("pearson_r",)))
