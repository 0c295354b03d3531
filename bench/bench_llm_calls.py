"""LLM calls IC-Q spends until its greedy routing is within 0.01 of the best workflow,
against a UCB1 bandit over the five fixed workflows (simulated backend, labelled so).

For each calibration and seed, both learners draw training questions from the same pool
and are checked every ``--check`` episodes with the *exact* expected accuracy of their
current recommendation (IC-Q: its greedy routing table; UCB1: the arm with the best mean).
"Calls to reach" = LLM calls spent up to the first check from which the recommendation
stays within 0.01 of the best workflow until the end of the budget.

    python bench/bench_llm_calls.py [--episodes 8000] [--check 250] [--seeds 3]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from handoffq.envs.llm_math.data import generate_arith
from handoffq.envs.llm_math.env import LLMMathEnv, greedy_table, run_table_episode
from handoffq.envs.llm_math.exact import evaluate, hidden_table
from handoffq.envs.llm_math.workflows import WORKFLOWS, workflow_table
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.llm.simulated import SIMULATED_NOTE, SimulatedBackend
from handoffq.runtime.inprocess import InProcessRunner


def _reach(curve: list[tuple[int, float]], target: float) -> float:
    """Calls at the first check after which every check is within 0.01 of ``target``."""
    ok_from = None
    for calls, acc in curve:
        ok_from = (calls if ok_from is None else ok_from) if acc >= target - 0.01 else None
    return float(ok_from) if ok_from is not None else math.inf


def run_icq(ds: str, seed: int, episodes: int, check: int) -> list[tuple[int, float]]:
    """Train IC-Q on ``ds``; ``(LLM calls so far, exact greedy accuracy)`` every ``check`` episodes."""
    backend = SimulatedBackend(calibration=ds)
    hid = hidden_table(backend.params)
    env = LLMMathEnv(backend, generate_arith(1000, seed=17), seed=seed)
    team = make_team(
        env,
        seed=seed,
        exploration=Exploration(epsilon=0.5, epsilon_min=0.02, decay=0.9999),
        schedule=StepSize(kind="visits", a0=1.0, power=0.6),
    )
    runner, curve = InProcessRunner(env, team, seed=seed * 10**6), []
    for e in range(episodes):
        runner.train_episodes(1)
        if (e + 1) % check == 0:
            curve.append((backend.stats.calls, evaluate(greedy_table(team), hid)["accuracy"]))
    return curve


def run_ucb(ds: str, seed: int, episodes: int, check: int) -> list[tuple[int, float]]:
    """UCB1 over the five fixed workflows; ``(LLM calls so far, exact accuracy)`` every ``check``."""
    backend = SimulatedBackend(calibration=ds)
    hid = hidden_table(backend.params)
    qs = generate_arith(1000, seed=17)
    env = LLMMathEnv(backend, qs, seed=seed)
    rng = np.random.default_rng(seed)
    names = list(WORKFLOWS)
    tables = [workflow_table(w) for w in names]
    exact = [evaluate(t, hid)["accuracy"] for t in tables]
    n, s, curve = np.zeros(len(names)), np.zeros(len(names)), []
    for e in range(episodes):
        arm = e if e < len(names) else int(np.argmax(s / n + np.sqrt(2 * np.log(e) / n)))
        log = run_table_episode(env, tables[arm], qs[int(rng.integers(len(qs)))])
        n[arm] += 1
        s[arm] += log.correct
        if (e + 1) % check == 0:
            curve.append((backend.stats.calls, exact[int(np.argmax(s / np.maximum(n, 1)))]))
    return curve


def main() -> None:
    """Print calls-to-target for IC-Q and UCB1 per dataset and seed."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--episodes", type=int, default=8000)
    ap.add_argument("--check", type=int, default=250)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    print(SIMULATED_NOTE)
    print(f"{'dataset':10s} {'seed':>4s} {'IC-Q calls':>11s} {'UCB1 calls':>11s} {'ratio':>7s}")
    for ds in ("mathqa", "mmlu-hs", "mmlu-elem"):
        hid = hidden_table(SimulatedBackend(calibration=ds).params)
        best = max(evaluate(workflow_table(w), hid)["accuracy"] for w in WORKFLOWS)
        for seed in range(args.seeds):
            a = _reach(run_icq(ds, seed, args.episodes, args.check), best)
            b = _reach(run_ucb(ds, seed, args.episodes, args.check), best)
            ratio = a / b if math.isfinite(a) and math.isfinite(b) else float("nan")
            print(f"{ds:10s} {seed:4d} {a:11.0f} {b:11.0f} {ratio:7.2f}")


if __name__ == "__main__":
    main()
