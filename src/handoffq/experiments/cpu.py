"""Experiment ``cpu`` (paper section 5.3): six adaptable agents, generalisation to unseen integers.

For each training fraction ``f`` (default 0.1, 0.2, 0.5, 1.0) and seed, a team of adaptable
IC-Q agents (:mod:`handoffq.envs.cpu`; tabular ``Q`` and ``Qa`` over each agent's own register
block plus the scoreboard, zero-initialised, constant step size, epsilon-greedy) trains on tasks
whose every memory and target value lies in ``[0, ceil(f * V))`` and is evaluated greedily on
tasks whose every value lies in the rest of the range (unseen). ``f = 1`` holds nothing out: its
test tasks are fresh tasks over the whole range (in-distribution). The headline
``unseen_accuracy`` is the mean exact-match accuracy at ``f = 0.2`` over the seeds.

What makes the team learn (all recorded in config.json): value-free potential-based reward
shaping (``--shaping``, default 0.2 per completed pipeline stage, read from provenance tags;
``F = gamma * Phi(s') - Phi(s)`` with ``Phi = 0`` at the end, which leaves optimal policies
unchanged, Ng et al. 1999); the scoreboard (ready bits) in every block; a bus fault (failure)
when a unit that is not ready is called, and a failed episode when the cycle budget is spent
(both ground the values instead of letting loops bootstrap on each other). Measured while
building this: see the ablations below.

Baselines (at ``f = 0.2``, same seeds and test tasks): random agents; a fixed pipeline with
learned local actions only (same tabular learner and shaped rewards); a centralised learner
that sees the whole machine state, values included (one shared MLP pair over one-hot inputs,
run with one torch thread). ``--central_curve true`` also runs the centralised learner at
every fraction.

Options: ``--fractions``, ``--seeds``, ``--budget`` (handoffs per IC-Q run), ``--central_budget``,
``--n_test``, ``--epsilon``, ``--init`` (initial Q value), ``--alpha`` (constant step size),
``--shaping`` (potential per stage; 0 = unshaped), ``--scoreboard`` and ``--fault_on_unready``
(interface ablations, both ``true`` by default), ``--central_curve``.

Ablations measured with the quick learner (8k handoffs, f = 0.2, seeds 0-2, 300 unseen tasks;
accuracy per seed): default 1.0 / 1.0 / 1.0; ``--shaping 0`` 0.0 / 0.0 / 0.0; ``--scoreboard false``
0.62 / 0.76 / 0.94 (the ALU and the loaders cannot tell whether the selector already fired, and
the team gets stuck in coordination traps); ``--fault_on_unready false`` 1.0 / 1.0 / 0.93.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from handoffq.baselines.cpu import make_centralised_team, make_pipeline_team, make_random_team
from handoffq.config import ExperimentConfig, option
from handoffq.envs.cpu import CPUConfig, CPUEnv, CPUTask, sample_tasks, split_range
from handoffq.experiments.common import RunContext, finish, write_config
from handoffq.experiments.plotting import pyplot, save
from handoffq.experiments.registry import Experiment, register
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime import make_runner
from handoffq.runtime.inprocess import evaluate_team

__all__ = ["HEADLINE_FRACTION", "evaluate", "run"]

HEADLINE_FRACTION = 0.2
SIM_NOTE = (
    "the CPU is a software model (handoffq.envs.cpu): no hardware or external service is "
    "involved; the paper's task is itself a simulated machine"
)


def evaluate(env: Any, agents: list[Any], tasks: list[CPUTask], seed: int = 0) -> float:
    """Exact-match accuracy of greedy play over ``tasks`` (memory == target at the end)."""
    base = env.env if hasattr(env, "env") and not isinstance(env, CPUEnv) else env
    ok = 0
    for k, task in enumerate(tasks):
        base.set_next_task(task)
        evaluate_team(env, agents, 1, seed=seed + k)
        ok += bool(base.success)
    return ok / max(len(tasks), 1)


@dataclasses.dataclass(frozen=True)
class CPUExperimentConfig(ExperimentConfig):
    """CPU experiment settings (defaults: the full preset; :meth:`quick` the CI preset)."""

    fractions: tuple[float, ...] = option((0.1, 0.2, 0.5, 1.0), "shares of the integer range seen in training",
                                          above=0.0, max=1.0)
    seeds: int = option(5, "seeds", min=1)
    budget: int = option(50_000, "handoffs of IC-Q training per cell", min=1)
    central_budget: int = option(50_000, "handoffs of the centralised learner", min=1)
    n_test: int = option(500, "test tasks per cell", min=1)
    epsilon: float = option(0.1, "exploration rate", min=0.0, max=1.0)
    init: float = option(0.0, "initial Q values")
    alpha: float = option(0.5, "constant step size", above=0.0, max=1.0)
    shaping: float = option(0.2, "potential per pipeline stage", min=0.0)
    scoreboard: bool = option(True, "show the units' ready bits in every block")
    fault_on_unready: bool = option(True, "calling an unready unit ends the episode")
    central_curve: bool = option(True, "train the centralised learner at every fraction")

    @classmethod
    def quick(cls) -> CPUExperimentConfig:
        """CI-sized preset."""
        return cls(seeds=3, budget=8_000, central_budget=3_000, n_test=200, central_curve=False)


def run(config: CPUExperimentConfig, ctx: RunContext) -> dict:
    """Train and evaluate; write config.json, results.csv, summary.json and two figures."""
    fractions = sorted(set(config.fractions) | {HEADLINE_FRACTION})
    n_seeds, budget, central_budget, n_test = config.seeds, config.budget, config.central_budget, config.n_test
    epsilon, init, alpha, central_curve = config.epsilon, config.init, config.alpha, config.central_curve
    cfg = CPUConfig(shaping=config.shaping, scoreboard=config.scoreboard, fault_on_unready=config.fault_on_unready)
    exploration = Exploration(epsilon=epsilon)
    schedule = StepSize(kind="constant", a0=alpha)
    seeds = [ctx.seed + s for s in range(n_seeds)]
    write_config("cpu", config, ctx, True, SIM_NOTE)
    rows: list[dict[str, Any]] = []
    n_cells = len(fractions) * len(seeds)
    t0 = time.time()
    with ctx.bar("cpu: IC-Q over fractions x seeds", n_cells) as advance:
        for f in fractions:
            train_vals, test_vals = split_range(cfg.value_range, f)
            for s in seeds:
                test_tasks = sample_tasks(n_test, test_vals, cfg, seed=10_000 + s)
                seen_tasks = sample_tasks(n_test, train_vals, cfg, seed=20_000 + s)
                env = CPUEnv(cfg, values=train_vals, seed=s)
                team = make_team(
                    env, seed=s, estimator="tabular", estimator_kwargs={"init": init},
                    exploration=exploration, schedule=schedule,
                )
                tr = time.time()
                make_runner(ctx.runtime, env, team, seed=s).train(budget)
                rows.append({
                    "method": "icq", "fraction": f, "seed": s, "heldout": f < 1.0,
                    "unseen_accuracy": evaluate(env, team, test_tasks),
                    "seen_accuracy": evaluate(env, team, seen_tasks),
                    "budget": budget, "train_s": round(time.time() - tr, 2),
                })
                if central_curve or f == HEADLINE_FRACTION:
                    rows += _baselines(ctx, cfg, f, s, test_tasks, seen_tasks, central_budget,
                                       exploration, schedule, init, budget,
                                       with_others=f == HEADLINE_FRACTION)
                ctx.log(f"cpu f={f} seed={s}: {rows[-1]}")
                advance(1)
    summary = _summarise(rows, fractions, seeds, time.time() - t0)
    summary = finish(ctx, rows, summary, True, SIM_NOTE)
    _figures(ctx, rows, fractions)
    return summary


def _baselines(
    ctx: RunContext, cfg: CPUConfig, f: float, s: int, test_tasks: list[CPUTask],
    seen_tasks: list[CPUTask], central_budget: int, exploration: Exploration,
    schedule: StepSize, init: float, budget: int, with_others: bool,
) -> list[dict[str, Any]]:
    train_vals, _ = split_range(cfg.value_range, f)
    out = []
    if with_others:
        env = CPUEnv(cfg, values=train_vals, seed=s)
        rnd = make_random_team(env, seed=s)
        out.append({"method": "random", "fraction": f, "seed": s, "heldout": f < 1.0,
                    "unseen_accuracy": evaluate(env, rnd, test_tasks),
                    "seen_accuracy": evaluate(env, rnd, seen_tasks), "budget": 0})
        env = CPUEnv(cfg, values=train_vals, seed=s)
        pipe = make_pipeline_team(env, s, exploration, schedule, init)
        make_runner(ctx.runtime, env, pipe, seed=s).train(budget)
        out.append({"method": "fixed_pipeline", "fraction": f, "seed": s, "heldout": f < 1.0,
                    "unseen_accuracy": evaluate(env, pipe, test_tasks),
                    "seen_accuracy": evaluate(env, pipe, seen_tasks), "budget": budget})
    env = CPUEnv(cfg, values=train_vals, seed=s)
    view, central = make_centralised_team(
        env, s, Exploration(epsilon=0.2, epsilon_min=0.05, decay=0.9999),
        StepSize(kind="constant", a0=1.0),
    )
    with _one_torch_thread():
        make_runner(ctx.runtime, view, central, seed=s).train(central_budget)
        out.append({"method": "centralised", "fraction": f, "seed": s, "heldout": f < 1.0,
                    "unseen_accuracy": evaluate(view, central, test_tasks),
                    "seen_accuracy": evaluate(view, central, seen_tasks),
                    "budget": central_budget})
    return out


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded (batch-1 MLP steps: extra threads only contend, ~10x slower
    on a shared 2-core machine); restores the previous setting."""
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def _mean_std(vals: list[float]) -> tuple[float, float]:
    a = np.asarray(vals, float)
    return (float(a.mean()), float(a.std())) if a.size else (float("nan"), float("nan"))


def _summarise(rows: list[dict[str, Any]], fractions: list[float], seeds: list[int],
               seconds: float) -> dict[str, Any]:
    def sel(method: str, f: float, key: str) -> list[float]:
        return [r[key] for r in rows if r["method"] == method and r["fraction"] == f]

    by_frac = {str(f): _mean_std(sel("icq", f, "unseen_accuracy"))[0] for f in fractions}
    head, head_std = _mean_std(sel("icq", HEADLINE_FRACTION, "unseen_accuracy"))
    baselines = {}
    for m in ("random", "fixed_pipeline", "centralised"):
        vals = sel(m, HEADLINE_FRACTION, "unseen_accuracy")
        if vals:
            baselines[m] = {"unseen_accuracy": _mean_std(vals)[0],
                            "unseen_accuracy_std": _mean_std(vals)[1],
                            "seen_accuracy": _mean_std(sel(m, HEADLINE_FRACTION,
                                                           "seen_accuracy"))[0]}
    central_by = {str(f): _mean_std(sel("centralised", f, "unseen_accuracy"))[0]
                  for f in fractions if sel("centralised", f, "unseen_accuracy")}
    return {
        "unseen_accuracy": head,
        "unseen_accuracy_std": head_std,
        "unseen_accuracy_by_seed": sel("icq", HEADLINE_FRACTION, "unseen_accuracy"),
        "seen_accuracy": _mean_std(sel("icq", HEADLINE_FRACTION, "seen_accuracy"))[0],
        "accuracy_by_fraction": by_frac,
        "centralised_accuracy_by_fraction": central_by,
        "baselines": baselines,
        "paper_target": 0.8,
        "meets_paper_target": bool(head >= 0.8),
        "n_seeds": len(seeds),
        "headline_fraction": HEADLINE_FRACTION,
        "wall_seconds": round(seconds, 1),
        "simulated": True,
        "simulated_note": SIM_NOTE,
    }


def _figures(ctx: RunContext, rows: list[dict[str, Any]], fractions: list[float]) -> None:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for m, label in (("icq", "IC-Q (adaptable agents)"), ("centralised", "centralised full state")):
        fs = [f for f in fractions if any(r["method"] == m and r["fraction"] == f for r in rows)]
        if not fs:
            continue
        stats = [_mean_std([r["unseen_accuracy"] for r in rows
                            if r["method"] == m and r["fraction"] == f]) for f in fs]
        ax.errorbar(fs, [s[0] for s in stats], yerr=[s[1] for s in stats], marker="o",
                    capsize=3, label=label)
    ax.axhline(0.8, color="grey", ls="--", lw=1, label="paper: 0.8")
    ax.set_xlabel("training fraction of the integer range")
    ax.set_ylabel("exact-match accuracy on unseen targets")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("CPU: unseen accuracy vs training fraction\n(f = 1: in-distribution)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save(fig, ctx.out / "accuracy_by_fraction.png", dpi=120)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    names = ["icq", "fixed_pipeline", "centralised", "random"]
    stats = [_mean_std([r["unseen_accuracy"] for r in rows
                        if r["method"] == m and r["fraction"] == HEADLINE_FRACTION])
             for m in names]
    ax.bar(range(len(names)), [s[0] for s in stats], yerr=[s[1] for s in stats], capsize=3)
    ax.set_xticks(range(len(names)), ["IC-Q", "fixed pipeline", "centralised", "random"])
    ax.axhline(0.8, color="grey", ls="--", lw=1)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("exact-match accuracy on unseen targets")
    ax.set_title(f"CPU: methods trained on {int(HEADLINE_FRACTION * 100)}% of the range")
    fig.tight_layout()
    save(fig, ctx.out / "methods_unseen_accuracy.png", dpi=120)


register(Experiment(
    name="cpu",
    description="six adaptable agents program a toy CPU; accuracy on unseen integers (sec. 5.3)",
    config=CPUExperimentConfig,
    run=run,
    headline=("unseen_accuracy", "accuracy_by_fraction"),
))
