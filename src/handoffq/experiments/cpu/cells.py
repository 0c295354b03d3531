"""The CPU experiment's cells: one (method, training fraction, seed) trained and scored.

A cell is a plain dict (its hash keys the resumable sweep; the seed and every option that
matters live in it). :func:`cpu_cell` trains the method on tasks whose every value lies in the
training part of the range, and evaluates the greedy team at ``checkpoints`` points of the
budget on two fixed test sets of that seed: *seen* (fresh tasks of the training part) and
*unseen* (tasks whose every value lies in the held-out part), the same number per task kind.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from handoffq.baselines.cpu import pipeline_feasible
from handoffq.config import config_from_dict, config_to_dict
from handoffq.envs.cpu import KINDS, TaskSet, VecCPUEnv, sample_tasks, split_range
from handoffq.experiments.cpu.config import HEADLINE_FRACTION, CPUExperimentConfig
from handoffq.experiments.cpu.team import Trainer, build_team, evaluate
from handoffq.learn.blas import blas_threads

__all__ = ["cpu_cell", "cpu_cells", "make_test_sets"]


def cpu_cells(cfg: CPUExperimentConfig, seed: int = 0) -> list[dict[str, Any]]:
    """Every (fraction, seed, method) cell; ``seed`` shifts every seed."""
    options = config_to_dict(cfg)
    cells = []
    for f in cfg.fractions:
        methods = cfg.methods if f == HEADLINE_FRACTION else cfg.methods_all_fractions
        for s in range(cfg.seeds):
            cells += [{"method": m, "fraction": f, "seed": seed + s, "options": options} for m in methods]
    return cells


def make_test_sets(cfg: CPUExperimentConfig, fraction: float, seed: int) -> tuple[TaskSet, TaskSet]:
    """The seen and unseen test tasks of ``seed`` at ``fraction`` (the same for every method)."""
    train_vals, test_vals = split_range(cfg.env.value_range, fraction)
    seen = sample_tasks(cfg.n_test, train_vals, cfg.env, np.random.default_rng([seed, 1]), stratified=True)
    unseen = sample_tasks(cfg.n_test, test_vals, cfg.env, np.random.default_rng([seed, 2]), stratified=True)
    return seen, unseen


def _by_kind(ok: np.ndarray, tasks: TaskSet) -> dict[str, float]:
    return {KINDS[k]: float(ok[tasks.kind == k].mean()) for k in np.unique(tasks.kind)}


def _point(team: list[Any], view: Any, seen: TaskSet, unseen: TaskSet, cfg: CPUExperimentConfig) -> dict[str, Any]:
    ok_s = evaluate(team, view, seen, cfg.env)
    ok_u = evaluate(team, view, unseen, cfg.env)
    return {"seen_accuracy": float(ok_s.mean()), "unseen_accuracy": float(ok_u.mean()),
            "seen_by_kind": _by_kind(ok_s, seen), "unseen_by_kind": _by_kind(ok_u, unseen)}


def cpu_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Train one cell and evaluate it along its budget (module-level: runs in workers).

    The small networks run with one BLAS thread (:func:`~handoffq.learn.blas.blas_threads`).
    """
    with blas_threads(1):
        return _run_cell(cell)


def _run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    cfg = config_from_dict(CPUExperimentConfig, cell["options"], "cell")
    method, f, seed = cell["method"], float(cell["fraction"]), int(cell["seed"])
    t0 = time.time()
    seen, unseen = make_test_sets(cfg, f, seed)
    train_vals, _ = split_range(cfg.env.value_range, f)
    pool = sample_tasks(max(cfg.train_pool, cfg.n_envs), train_vals, cfg.env, np.random.default_rng([seed, 3]))
    env = VecCPUEnv(cfg.env, cfg.n_envs, pool, seed)
    team, view = build_team(method, env, cfg, seed)
    curve = []
    if method == "random":
        curve.append({"budget": 0, **_point(team, view, seen, unseen, cfg)})
    else:
        trainer = Trainer(team, view, env)
        for k in range(cfg.checkpoints):
            trainer.train(round(cfg.budget * (k + 1) / cfg.checkpoints) - trainer.activations)
            curve.append({"budget": trainer.activations, "train_episodes": trainer.episodes,
                          **_point(team, view, seen, unseen, cfg)})
    final = curve[-1]
    return {**final, "curve": curve, "seconds": round(time.time() - t0, 1),
            "pipeline_ceiling_unseen": float(pipeline_feasible(unseen, cfg.env.value_range).mean()),
            "pipeline_ceiling_seen": float(pipeline_feasible(seen, cfg.env.value_range).mean())}
