"""One (dataset, seed) cell of the simulated llm-math experiment: train IC-Q (ICQ+) under each
interface, UCB1 over the workflows at the same calls, and score every routing column on the
seed's test split (per-question outcomes read from each question's hidden configuration, and
cross-checked by playing the first questions through the text environment)."""

from __future__ import annotations

from typing import Any

import numpy as np

from handoffq.baselines.llm_math import ucb1_workflows
from handoffq.envs.llm_math.exact import empirical_table, evaluate, optimum, rollout
from handoffq.envs.llm_math.workflows import WORKFLOWS, describe_table, equivalent_workflows, workflow_table
from handoffq.experiments.common import ExperimentError
from handoffq.experiments.llm_math.analysis import DatasetExact
from handoffq.experiments.llm_math.config import LLMMathConfig
from handoffq.experiments.llm_math.world import World, build_world, greedy_of, train_icq_plus

__all__ = ["play_check", "seed_cell", "train_with_curve"]

WF = tuple(WORKFLOWS)
Tables = dict[str, tuple[np.ndarray, str]]


def train_with_curve(cfg: LLMMathConfig, world: World, ex: DatasetExact, interface: str,
                     seed: int) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """Train ICQ+ for ``cfg.icq_calls`` calls; its greedy table and learning curve (LLM calls,
    exact accuracy of the greedy routing at each checkpoint)."""
    curve: list[tuple[int, float]] = []
    cap = world.cap

    def on_check(calls: int, team: list) -> None:
        curve.append((calls, evaluate(greedy_of(team, interface, cap), ex.hid, cap, 0.0, interface)["accuracy"]))

    team, _, _ = train_icq_plus(
        world, interface, cfg.icq_calls, cfg.learner, seed=seed, n_envs=cfg.n_envs, estimator=cfg.estimator,
        mlp={"width": cfg.mlp_width, "depth": cfg.mlp_depth, "lr": cfg.mlp_lr, "steps": cfg.mlp_steps},
        check_every=max(1, cfg.icq_calls // cfg.curve_points), on_check=on_check,
    )
    table = greedy_of(team, interface, cap)
    curve.append((cfg.icq_calls, evaluate(table, ex.hid, cap, 0.0, interface)["accuracy"]))
    return table, curve


def play_check(world: World, tables: Tables, n_play: int) -> dict[str, float]:
    """Play ``n_play`` test questions per column through the text environment (prompts,
    simulated text, extractor); fail unless every outcome and call count equals the model's
    rollout; return tokens per question of each column."""
    from handoffq.envs.llm_math.env import LLMMathEnv, run_table_episode
    from handoffq.llm.simulated import SimulatedBackend

    out = {}
    qs, rows = world.test[:n_play], world.test_rows[:n_play]
    for name, (table, iface) in tables.items():
        env = LLMMathEnv(SimulatedBackend(world.params, seed=world.seed), qs, max_handoffs=world.cap,
                         interface=iface)
        logs = [run_table_episode(env, table, q) for q in qs]
        r = rollout(table, world.hid, world.cap, iface)
        if not all(lg.correct == bool(r.correct[c]) and lg.calls == int(r.calls[c])
                   for lg, c in zip(logs, rows, strict=True)):
            raise ExperimentError(f"{name}: the text environment disagrees with the simulator model")
        out[name] = float(np.mean([lg.prompt_tokens + lg.completion_tokens for lg in logs]))
    return out


def _icq_runs(cfg: LLMMathConfig, world: World, ex: DatasetExact, interfaces: list[str], seed: int,
              tables: Tables) -> dict[str, Any]:
    """IC-Q under each interface: exact accuracy, gap to its class optimum, learning curve."""
    out: dict[str, Any] = {}
    for i in interfaces:
        table, curve = train_with_curve(cfg, world, ex, i, seed)
        tables[f"icq_{i}"] = (table, i)
        acc = evaluate(table, ex.hid, world.cap, 0.0, i)["accuracy"]
        out[i] = {"accuracy": acc, "gap": ex.optima[i]["accuracy"] - acc, "curve": curve}
        if i == "bits4" and "budget" in ex.optima:
            out[i]["gap_to_budget_optimum"] = ex.optima["budget"]["accuracy"] - acc
    return out


def _pool_gap(world: World, ex: DatasetExact, table: np.ndarray, interface: str) -> float:
    """Gap to the optimum of the training pool's own configuration frequencies."""
    pool_hid = empirical_table(ex.hid, world.pool)
    best = optimum(pool_hid, world.cap, 0.0, interface).accuracy
    return best - evaluate(table, pool_hid, world.cap, 0.0, interface)["accuracy"]


def seed_cell(cfg: LLMMathConfig, ex: DatasetExact, seed: int, interfaces: list[str]) -> dict[str, Any]:
    """Everything measured on one (dataset, seed); see the module docstring."""
    copy, cap = cfg.resolved()
    world = build_world(ex.dataset, seed, copy, cap, cfg.data, cfg.n_train or 100_000, cfg.n_test or 100_000)
    tables: Tables = {w: (workflow_table(w), "bits4") for w in WF}
    icq = _icq_runs(cfg, world, ex, interfaces, seed, tables)
    main = cfg.interface
    tab = tables[f"icq_{main}"][0]
    visited = rollout(tab, ex.hid, cap, main).visited
    ucb = ucb1_workflows(ex.hid, world.pool, cfg.icq_calls, cap, seed=seed)
    tables["ucb1"] = (workflow_table(WF[ucb.recommended]), "bits4")
    tables["optimum"] = (ex.optima[main]["table"], main)
    test_acc, calls = {}, {}
    for name, (t, i) in tables.items():
        r = rollout(t, ex.hid, cap, i)
        test_acc[name] = float(r.correct[world.test_rows].mean())
        calls[name] = float(r.calls[world.test_rows].mean())
    test_acc["clairvoyant"] = float(ex.clairvoyant_right[world.test_rows].mean())
    n_play = min(cfg.n_play or 300, len(world.test))
    return {
        "dataset": ex.dataset, "seed": seed, "source": world.source, "icq": icq,
        "pool_gap": _pool_gap(world, ex, tab, main),
        "equals": equivalent_workflows(tab, visited, main, cap),
        "routing": describe_table(tab, visited, main, cap),
        "ucb1": WF[ucb.recommended], "test_accuracy": test_acc, "calls": calls,
        "tokens": play_check(world, tables, n_play),
        "sc_inputs": (world.test_rows.copy(), [q.qid for q in world.test], [len(q.options) for q in world.test]),
    }
