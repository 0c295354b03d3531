"""llm-math with a real LLM backend (``--backend openai|llamacpp``): the text environment end
to end, as before issue 11.

Four role agents route a conversation on the four AIS bits (``--interface`` is not used here).
Columns: Direct, the four predefined workflows and IC-Q's learned routing (plain IC-Q: the
audited :class:`~handoffq.learn.agent.ICQAgent`, trained on a training split of ``--episodes``
episodes, evaluated greedily on a test split), each with LLM calls and tokens per question;
every test question is played and every LLM call cached. The simulated backend runs
:mod:`handoffq.experiments.llm_math.experiment` instead (exact class optima, ICQ+, baselines).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import numpy as np

from handoffq.config import config_to_dict
from handoffq.envs.llm_math.data import generate_arith, load_dataset, split_questions
from handoffq.envs.llm_math.env import LLMMathEnv, evaluate_table, greedy_table
from handoffq.envs.llm_math.roles import ROLE_NAMES
from handoffq.envs.llm_math.workflows import (
    WORKFLOW_LABELS,
    WORKFLOWS,
    describe_table,
    equivalent_workflows,
    workflow_table,
)
from handoffq.experiments.common import ExperimentError, RunContext, write_config
from handoffq.experiments.llm_math.config import LLMMathConfig
from handoffq.experiments.plotting import pyplot, save
from handoffq.io import write_csv, write_json
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime import make_runner

__all__ = ["COLUMNS", "resolve", "run"]

COLUMNS = ("direct", "cot", "reflect", "comb_e", "comb_t", "icq")
HANDOFFS_PER_EPISODE = 4
"""Training budget in handoffs per ``--episodes`` (an exploring episode takes about four)."""


def resolve(config: LLMMathConfig, ctx: RunContext) -> dict[str, Any]:
    """The run's settings as a dict, real-backend defaults filled in (small splits: a real
    backend pays per call; every call is cached)."""
    return {
        **config_to_dict(config),
        "episodes": config.episodes or 300,
        "n_train": config.n_train or 100,
        "n_test": config.n_test or 100,
        "n_play": config.n_play or 100,
        "max_handoffs": config.resolved()[1],
        "seed": ctx.seed,
        "quick": ctx.quick,
        "runtime": ctx.runtime,
        "simulated": False,
        "datasets": [config.dataset or "arith"],
    }


def _backend(cfg: dict[str, Any], dataset: str, out: Path) -> Any:
    from handoffq.llm.registry import make_backend

    if cfg["backend"] == "simulated":
        return make_backend("simulated", calibration=dataset, seed=cfg["seed"])
    from handoffq.llm.cache import CachedBackend, RequestCache

    if cfg["backend"] == "openai":
        inner = make_backend(
            "openai",
            model=cfg["model"],
            base_url=cfg["base_url"],
            api_key_env=cfg["api_key_env"],
            concurrency=cfg["concurrency"],
        )
    else:
        inner = make_backend("llamacpp", model_path=cfg["model"])
    return CachedBackend(inner, RequestCache(cfg["cache"] or out / "llm_cache.sqlite"))


@functools.lru_cache(maxsize=2)
def _arith(n: int, seed: int, n_options: int) -> list:
    """Generated questions, shared by the calibrations that use the same options count."""
    return generate_arith(n, seed=seed, n_options=n_options)


def _questions(cfg: dict[str, Any], dataset: str) -> tuple[list, list]:
    n_opt = 5 if dataset == "mathqa" else 4
    if cfg["backend"] == "simulated" or dataset == "arith":
        # carriers for the simulator (its behaviour does not read the text)
        qs = _arith(cfg["n_train"] + cfg["n_test"], cfg["seed"] + 17, n_opt)
        return qs[: cfg["n_train"]], qs[cfg["n_train"] :]
    qs = load_dataset(dataset, cfg["data"])
    train, test = split_questions(qs, 0.5, seed=cfg["seed"])
    return train[: cfg["n_train"]], test[: cfg["n_test"]]


def _column_stats(logs: list) -> dict[str, float]:
    n = max(len(logs), 1)
    return {
        "accuracy": sum(lg.correct for lg in logs) / n,
        "calls_per_question": sum(lg.calls for lg in logs) / n,
        "tokens_per_question": sum(lg.prompt_tokens + lg.completion_tokens for lg in logs) / n,
        "truncated": sum(lg.truncated for lg in logs) / n,
    }


def _simulated_outcomes(
    cfg: dict[str, Any],
    backend: Any,
    tables: dict[str, np.ndarray],
    test_q: list,
    logs_by: dict[str, list],
    stats: dict[str, dict[str, float]],
) -> dict[str, np.ndarray]:
    """Per-question correctness of every column on the whole test split (simulated backend).

    A simulated question's episode under a routing table is fixed by its nine hidden
    variables, so its outcome is the rollout of its hidden configuration
    (:func:`~handoffq.envs.llm_math.exact.rollout`, checked configuration by configuration
    against the environment in tests/envs/llm_math). The questions that were also played
    through the environment must agree question by question (else ExperimentError).
    Updates ``stats[c]`` accuracy and calls with the whole-split figures.
    """
    from operator import attrgetter

    from handoffq.envs.llm_math.exact import config_indices, hidden_table, rollout
    from handoffq.llm.simulated import HIDDEN_NAMES

    get = attrgetter(*HIDDEN_NAMES)
    idx = config_indices(np.array([get(backend.hidden(q.qid)) for q in test_q], dtype=bool))
    hid = hidden_table(backend.params)
    correct = {}
    for c in COLUMNS:
        r = rollout(tables[c], hid, cfg["max_handoffs"])
        correct[c] = r.correct[idx].astype(float)
        calls = r.calls[idx]
        played = logs_by[c]
        pc = np.array([lg.correct for lg in played], float)
        pk = np.array([lg.calls for lg in played])
        same = np.array_equal(pc, correct[c][: len(played)])
        if not (same and np.array_equal(pk, calls[: len(played)])):
            raise ExperimentError(
                f"{c}: played episodes disagree with the simulator's per-question model"
            )
        stats[c]["accuracy"] = float(correct[c].mean())
        stats[c]["calls_per_question"] = float(calls.mean())
    return correct


def _paired_figures(correct: dict[str, np.ndarray]) -> dict[str, Any]:
    """Standard errors of each column's accuracy and of IC-Q minus the best workflow.

    All columns are scored on the same questions, so the difference's standard error is
    that of the per-question differences (paired).
    """
    n = len(correct["icq"])
    se = {
        c: float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
        for c, v in correct.items()
    }
    wfs = [c for c in COLUMNS if c != "icq"]
    best = max(wfs, key=lambda c: float(correct[c].mean()))
    d = correct["icq"] - correct[best]
    return {
        "se": se,
        "best": best,
        "best_accuracy": float(correct[best].mean()),
        "diff": float(d.mean()),
        "diff_se": float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
    }


def _train_icq(
    ctx: RunContext, cfg: dict[str, Any], env: LLMMathEnv, dataset: str
) -> tuple[list, int]:
    kwargs = (
        {"width": cfg["mlp_width"], "depth": cfg["mlp_depth"], "lr": cfg["mlp_lr"]}
        if cfg["estimator"] == "mlp"
        else {}
    )
    team = make_team(
        env,
        seed=ctx.seed,
        estimator=cfg["estimator"],
        estimator_kwargs=kwargs,
        exploration=Exploration(
            epsilon=cfg["epsilon"], epsilon_min=cfg["epsilon_min"], decay=cfg["epsilon_decay"]
        ),
        # tabular: 1 / n(o, k)**power, power 0.8: forgets the early bootstrap targets (taken
        # before the successors' values settle) yet averages enough to resolve the small gaps
        # between workflows; MLP: lr * a0 / (1 + t / t0)
        schedule=(
            StepSize(kind="visits", a0=1.0, power=cfg["step_power"])
            if cfg["estimator"] == "tabular"
            else StepSize(kind="decay", a0=1.0, t0=20000.0)
        ),
    )
    runner = make_runner(ctx.runtime, env, team, seed=ctx.seed)
    budget = int(cfg["episodes"]) * HANDOFFS_PER_EPISODE
    threads = None
    if cfg["estimator"] == "mlp":
        import torch

        # one-sample updates of a width-512 MLP: thread start-up costs more than it saves
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
    try:
        with ctx.bar(f"IC-Q {dataset}", budget) as advance:
            stats = runner.train(budget, progress=advance)
    finally:
        if threads is not None:
            torch.set_num_threads(threads)
    return team, int(getattr(stats, "episodes", 0))


def _draw_routing(path: Path, table: np.ndarray, visited: set, title: str) -> None:
    plt = pyplot()

    pos = {0: (0.0, 1.0), 1: (-1.0, 0.0), 2: (0.0, -1.0), 3: (1.0, 0.0)}
    edges: dict[tuple[int, int], list[str]] = {}
    for a, o in sorted(visited):
        b = "".join(str((o >> s) & 1) for s in (3, 2, 1, 0))
        edges.setdefault((a, int(table[a, o])), []).append(b)
    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    for (a, k), labels in edges.items():
        (x0, y0), (x1, y1) = pos[a], pos[k]
        ax.annotate(
            "",
            xy=(x1, y1),
            xytext=(x0, y0),
            arrowprops={
                "arrowstyle": "-|>",
                "lw": 1.5,
                "shrinkA": 22,
                "shrinkB": 22,
                "connectionstyle": "arc3,rad=0.15",
            },
        )
        mx, my = (x0 + x1) / 2 + 0.12 * (y1 - y0), (y0 + y1) / 2 - 0.12 * (x1 - x0)
        ax.text(
            mx,
            my,
            ",".join(labels),
            fontsize=7,
            ha="center",
            va="center",
            bbox={"fc": "white", "ec": "none", "alpha": 0.8},
        )
    for i, (x, y) in pos.items():
        ax.scatter([x], [y], s=1400, c="#cde", edgecolors="k", zorder=3)
        ax.text(x, y, ROLE_NAMES[i], ha="center", va="center", fontsize=8, zorder=4)
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.5, 1.5)
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save(fig, path)


def _bar_chart(path: Path, acc: dict[str, dict[str, float]], simulated: bool) -> None:
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(acc)
    w = 0.13
    for j, col in enumerate(COLUMNS):
        ax.bar(
            np.arange(len(names)) + (j - 2.5) * w,
            [acc[d][col] for d in names],
            w,
            label=WORKFLOW_LABELS.get(col, "IC-Q"),
        )
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=6, loc="lower center")
    ax.set_title("llm-math" + (" (SIMULATED LLM)" if simulated else ""), fontsize=9)
    fig.tight_layout()
    save(fig, path)


def run(config: LLMMathConfig, ctx: RunContext) -> dict[str, Any]:
    """Run the experiment; write config.json, results.csv, table1.md, summary.json, PNGs."""
    cfg = resolve(config, ctx)
    out = Path(ctx.out)
    out.mkdir(parents=True, exist_ok=True)
    write_config("llm-math", config, ctx, cfg["simulated"], cfg.get("simulated_note", ""))
    rows: list[dict[str, Any]] = []
    summary: dict[str, Any] = {
        "simulated": cfg["simulated"],
        "backend": cfg["backend"],
        "model": cfg["model"],
        "accuracy": {},
        "recovered_best": {},
        "llm_calls": {},
        "calls_per_question": {},
        "tokens_per_question": {},
        "icq_equals": {},
        "icq_routing": {},
        "malformed_outputs": {},
        "accuracy_se": {},
        "best_workflow": {},
        "icq_minus_best": {},
        "icq_minus_best_se": {},
        "n_test": {},
        "n_played": {},
        "icq_training_episodes": {},
    }
    if cfg["simulated"]:
        summary["simulated_note"] = cfg["simulated_note"]
        for key in (
            "expected_accuracy",
            "icq_expected_accuracy",
            "optimum_accuracy",
            "optimum_equals",
            "optimum_routing",
            "icq_gap_to_optimum",
        ):
            summary[key] = {}
    for dataset in cfg["datasets"]:
        t0 = time.time()
        backend = _backend(cfg, dataset, out)
        train_q, test_q = _questions(cfg, dataset)
        gen = {"temperature": 0.0, "max_tokens": cfg["max_tokens"]}

        def make_env(qs: list = test_q, b: Any = backend, g: dict = gen) -> LLMMathEnv:
            return LLMMathEnv(
                b,
                qs,
                max_handoffs=cfg["max_handoffs"],
                call_cost=cfg["call_cost"],
                gen_params=g,
                samples_per_prompt=cfg["samples_per_prompt"],
            )

        workers = 1 if cfg["simulated"] else int(cfg["concurrency"])
        tables = {w: workflow_table(w) for w in WORKFLOWS}
        calls_before = backend.stats.calls
        train_env = make_env(train_q)
        team, train_episodes = _train_icq(ctx, cfg, train_env, dataset)
        # under Ray the environment (and its backend) is copied into actors: the driver's
        # counters do not see training calls, so none are reported
        train_calls = backend.stats.calls - calls_before if ctx.runtime == "inprocess" else None
        tables["icq"] = greedy_table(team)
        # real backends: every test question is played; simulated: the first n_play are
        # played (tokens, and a per-question cross-check) and the whole split is scored
        # per question from its hidden configuration (see _simulated_outcomes)
        play_q = test_q[: cfg["n_play"]] if cfg["simulated"] else test_q
        stats, logs_by = {}, {}
        with ctx.bar(f"evaluate {dataset}", len(COLUMNS)) as advance:
            for col in COLUMNS:
                logs = evaluate_table(make_env, tables[col], play_q, workers=workers)
                logs_by[col] = logs
                stats[col] = _column_stats(logs)
                advance(1)
        if cfg["simulated"]:
            correct = _simulated_outcomes(cfg, backend, tables, test_q, logs_by, stats)
        else:
            correct = {c: np.array([lg.correct for lg in logs_by[c]], float) for c in COLUMNS}
        visited = {p for lg in logs_by["icq"] for p in lg.visited}
        acc = {c: stats[c]["accuracy"] for c in COLUMNS}
        fig = _paired_figures(correct)
        summary["accuracy"][dataset] = acc
        summary["recovered_best"][dataset] = bool(acc["icq"] >= fig["best_accuracy"] - 0.01)
        summary["accuracy_se"][dataset] = fig["se"]
        summary["best_workflow"][dataset] = fig["best"]
        summary["icq_minus_best"][dataset] = fig["diff"]
        summary["icq_minus_best_se"][dataset] = fig["diff_se"]
        summary["n_test"][dataset] = len(test_q)
        summary["n_played"][dataset] = len(play_q)
        summary["icq_training_episodes"][dataset] = train_episodes
        summary["calls_per_question"][dataset] = {
            c: stats[c]["calls_per_question"] for c in COLUMNS
        }
        summary["tokens_per_question"][dataset] = {
            c: stats[c]["tokens_per_question"] for c in COLUMNS
        }
        summary["llm_calls"][dataset] = {
            "icq_training": train_calls,
            "evaluation": int(sum(lg.calls for c in COLUMNS for lg in logs_by[c])),
            "backend_calls": backend.stats.calls,
            "cache_hits": backend.stats.cache_hits,
        }
        summary["malformed_outputs"][dataset] = dict(train_env.extract_stats.malformed)
        routing_lines = describe_table(tables["icq"], visited)
        summary["icq_routing"][dataset] = routing_lines
        equals = equivalent_workflows(tables["icq"], visited)
        row: dict[str, Any] = {"dataset": dataset, "simulated": cfg["simulated"]}
        if cfg["simulated"]:
            from handoffq.envs.llm_math.exact import evaluate, hidden_table, optimum, rollout

            hid = hidden_table(backend.params)
            ex = {
                c: evaluate(tables[c], hid, cfg["max_handoffs"], cfg["call_cost"])["accuracy"]
                for c in COLUMNS
            }
            opt = optimum(hid, cfg["max_handoffs"], cfg["call_cost"])
            visited = rollout(tables["icq"], hid, cfg["max_handoffs"]).visited
            equals = equivalent_workflows(tables["icq"], visited)
            summary["icq_routing"][dataset] = describe_table(tables["icq"], visited)
            summary["expected_accuracy"][dataset] = {c: ex[c] for c in COLUMNS if c != "icq"}
            summary["icq_expected_accuracy"][dataset] = ex["icq"]
            summary["optimum_accuracy"][dataset] = opt.accuracy
            summary["optimum_equals"][dataset] = equivalent_workflows(opt.table, opt.visited)
            summary["optimum_routing"][dataset] = describe_table(opt.table, opt.visited)
            summary["icq_gap_to_optimum"][dataset] = opt.accuracy - ex["icq"]
            row.update({f"exact_{c}": ex[c] for c in COLUMNS})
            row["exact_optimum"] = opt.accuracy
        summary["icq_equals"][dataset] = equals
        label = "/".join(WORKFLOW_LABELS[e] for e in equals) or "none"
        _draw_routing(
            out / f"routing_{dataset}.png",
            tables["icq"],
            visited,
            f"IC-Q routing, {dataset} (= {label})"
            + (" [SIMULATED LLM]" if cfg["simulated"] else ""),
        )
        for c in COLUMNS:
            row[f"acc_{c}"] = acc[c]
            row[f"calls_{c}"] = stats[c]["calls_per_question"]
            row[f"tokens_{c}"] = stats[c]["tokens_per_question"]
        row["icq_equals"] = label
        row["seconds"] = time.time() - t0
        rows.append(row)
        ctx.log(
            f"{dataset}: " + ", ".join(f"{c}={acc[c]:.3f}" for c in COLUMNS) + f" (IC-Q = {label})"
        )
        write_csv(out / "results.csv", rows)
    _bar_chart(out / "accuracy.png", summary["accuracy"], cfg["simulated"])
    _write_table(out / "table1.md", summary, cfg)
    write_json(out / "summary.json", summary)
    return summary


def _write_table(path: Path, summary: dict[str, Any], cfg: dict[str, Any]) -> None:
    lines = []
    if cfg["simulated"]:
        lines += [f"**{cfg['simulated_note']}**", ""]
    lines += [
        "| dataset | Direct | CoT | Reflect | Comb-E | Comb-T | IC-Q learned |",
        "|---|---|---|---|---|---|---|",
    ]
    for d, acc in summary["accuracy"].items():
        eq = "/".join(WORKFLOW_LABELS[e] for e in summary["icq_equals"][d]) or "none"
        se = summary["accuracy_se"][d]
        cells = [f"{acc[c]:.3f} ± {se[c]:.3f}" for c in COLUMNS[:-1]]
        cells.append(f"{acc['icq']:.3f} ± {se['icq']:.3f} ({eq})")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Test accuracy ± standard error; every column is scored on the same test questions.",
        "IC-Q minus the best predefined workflow (paired standard error); recovered_best:",
        "IC-Q within 0.01 of the best workflow's test accuracy, or above it.",
        "",
        "| dataset | test questions | best workflow | IC-Q - best | recovered_best |",
        "|---|---|---|---|---|",
    ]
    for d in summary["accuracy"]:
        lines.append(
            f"| {d} | {summary['n_test'][d]} | {WORKFLOW_LABELS[summary['best_workflow'][d]]} | "
            f"{summary['icq_minus_best'][d]:+.4f} ± {summary['icq_minus_best_se'][d]:.4f} | "
            f"{summary['recovered_best'][d]} |"
        )
    lines += [
        "",
        "LLM calls / tokens per question"
        + (
            " (calls: whole test split; tokens: the played questions):"
            if cfg["simulated"]
            else ":"
        ),
        "",
        "| dataset | " + " | ".join(WORKFLOW_LABELS.get(c, "IC-Q") for c in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for d in summary["accuracy"]:
        cells = [
            f"{summary['calls_per_question'][d][c]:.2f} / "
            f"{summary['tokens_per_question'][d][c]:.0f}"
            for c in COLUMNS
        ]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    if cfg["simulated"]:
        lines += [
            "",
            "Exact expected accuracy on the simulator's model:",
            "",
            "| dataset | IC-Q greedy | optimum over all routings | optimum equals |",
            "|---|---|---|---|",
        ]
        for d in summary["accuracy"]:
            eq = "/".join(WORKFLOW_LABELS[e] for e in summary["optimum_equals"][d]) or "none"
            lines.append(
                f"| {d} | {summary['icq_expected_accuracy'][d]:.4f} | "
                f"{summary['optimum_accuracy'][d]:.4f} | {eq} |"
            )
    path.write_text("\n".join(lines) + "\n")
