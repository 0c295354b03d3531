"""LLM calls IC-Q needs against a UCB1 bandit over the five workflows (SIMULATED backend).

For each calibration and seed both learners draw training questions from the same pool and
are checked every ``--check`` LLM calls with the *exact* expected accuracy of their current
recommendation (IC-Q: its greedy routing; UCB1: the arm with the best empirical mean), up to
a horizon of ``--horizon`` calls. "Calls to reach X" = calls spent up to the first check from
which the recommendation stays at X until the horizon (never reached: null).

* IC-Q to the best workflow's level: greedy accuracy >= the best workflow's accuracy;
* IC-Q to its class optimum: greedy accuracy >= class optimum - 0.005;
* UCB1 to the best workflow: its recommended arm is the best workflow.

``calls_ratio_icq_over_ucb`` (per dataset) = median over seeds of IC-Q's calls to the best
workflow's level / median over seeds of UCB1's calls to settle on the best workflow (<= 1:
IC-Q needs no more calls); ``calls_ratio_icq_over_ucb["overall"]`` = the same ratio of medians
over every (dataset, seed) run pooled. A run that never reaches its level counts as the horizon
and is flagged (``censored``). ``calls_ratio_definition`` says this in the JSON.

    python bench/bench_llm_calls.py [--quick] [--json F] [--seed 0] [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from handoffq.baselines.llm_math import ucb1_workflows
from handoffq.envs.llm_math.exact import evaluate, optimum
from handoffq.envs.llm_math.workflows import WORKFLOWS, workflow_table
from handoffq.experiments.llm_math.config import DEFAULT_LEARNER, SIM_DATASETS
from handoffq.experiments.llm_math.world import build_world, greedy_of, train_icq_plus
from handoffq.llm.simulated import SIMULATED_NOTE


def reach(curve: list[tuple[int, bool]]) -> float | None:
    """Calls at the first check from which every later check is ok (None: never)."""
    first = None
    for calls, ok in curve:
        first = (calls if first is None else first) if ok else None
    return float(first) if first is not None else None


def _median(xs: list[float | None], horizon: int) -> tuple[float, bool]:
    vals = [horizon if x is None else x for x in xs]
    return float(np.median(vals)), any(x is None for x in xs)


def bench(datasets: tuple[str, ...], seeds: list[int], horizon: int, check: int,
          interface: str = "budget", cap: int = 8) -> dict:
    """Run the benchmark; returns the JSON-ready result."""
    out: dict = {
        "simulated_note": SIMULATED_NOTE, "horizon_calls": horizon, "check_every_calls": check,
        "interface": interface, "max_handoffs": cap, "seeds": seeds,
        "icq_calls_to_best_workflow": {}, "icq_calls_to_optimum": {},
        "ucb_calls_to_best_workflow": {}, "median": {}, "calls_ratio_icq_over_ucb": {},
        "censored": {}, "icq_final_accuracy": {}, "ucb_final_arm": {},
    }
    for ds in datasets:
        icq_wf, icq_opt, ucb_wf, finals, arms = [], [], [], [], []
        for s in seeds:
            t0 = time.time()
            world = build_world(ds, s, None, cap, None, 100_000, 10)
            hid = world.hid
            wf = {w: evaluate(workflow_table(w), hid, cap)["accuracy"] for w in WORKFLOWS}
            best = max(wf.values())
            opt = optimum(hid, cap, 0.0, interface).accuracy
            curve: list[tuple[int, float]] = []

            def on_check(calls: int, team: list, _c: list = curve, _h: object = hid) -> None:
                tab = greedy_of(team, interface, cap)
                _c.append((calls, evaluate(tab, _h, cap, 0.0, interface)["accuracy"]))

            _team, _env, _ = train_icq_plus(world, interface, horizon, DEFAULT_LEARNER, seed=s,
                                          check_every=check, on_check=on_check)
            icq_wf.append(reach([(c, a >= best - 1e-9) for c, a in curve]))
            icq_opt.append(reach([(c, a >= opt - 0.005) for c, a in curve]))
            finals.append(curve[-1][1] if curve else float("nan"))
            u = ucb1_workflows(hid, world.pool, horizon, cap, seed=s, check_every=check)
            names = u.names
            ucb_wf.append(reach([(c, wf[names[a]] >= best - 1e-9) for c, a in u.curve]))
            arms.append(names[u.recommended])
            print(f"{ds} seed {s}: IC-Q to best-workflow level {icq_wf[-1]}, to optimum "
                  f"{icq_opt[-1]}; UCB1 settles {ucb_wf[-1]} ({time.time() - t0:.0f}s)",
                  file=sys.stderr, flush=True)
        out["icq_calls_to_best_workflow"][ds] = icq_wf
        out["icq_calls_to_optimum"][ds] = icq_opt
        out["ucb_calls_to_best_workflow"][ds] = ucb_wf
        out["icq_final_accuracy"][ds] = finals
        out["ucb_final_arm"][ds] = arms
        m_icq, c_icq = _median(icq_wf, horizon)
        m_opt, c_opt = _median(icq_opt, horizon)
        m_ucb, c_ucb = _median(ucb_wf, horizon)
        out["median"][ds] = {"icq_to_best_workflow": m_icq, "icq_to_optimum": m_opt,
                             "ucb_to_best_workflow": m_ucb}
        out["censored"][ds] = {"icq_to_best_workflow": c_icq, "icq_to_optimum": c_opt,
                               "ucb_to_best_workflow": c_ucb}
        out["calls_ratio_icq_over_ucb"][ds] = m_icq / m_ucb if m_ucb > 0 else math.inf
    out["calls_ratio_icq_over_ucb_max"] = max(out["calls_ratio_icq_over_ucb"].values())
    pooled_icq, _ = _median([x for d in datasets for x in out["icq_calls_to_best_workflow"][d]], horizon)
    pooled_ucb, _ = _median([x for d in datasets for x in out["ucb_calls_to_best_workflow"][d]], horizon)
    out["calls_ratio_icq_over_ucb"]["overall"] = pooled_icq / pooled_ucb if pooled_ucb > 0 else math.inf
    out["calls_ratio_definition"] = (
        "per dataset: median over seeds of IC-Q's LLM calls until its greedy routing stays at or above the "
        "best workflow's exact accuracy, divided by the median over seeds of UCB1's calls until it stays on "
        "the best workflow; overall: the same ratio of medians over all (dataset, seed) runs pooled")
    return out


def main() -> None:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="CI budget (horizon 300k calls)")
    ap.add_argument("--json", type=Path, default=None, help="write the result here")
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--seeds", type=int, default=5, help="number of seeds (>= 5 for medians)")
    ap.add_argument("--horizon", type=int, default=None, help="calls per learner and seed")
    ap.add_argument("--check", type=int, default=None, help="calls between checks")
    ap.add_argument("--dataset", choices=SIM_DATASETS, default=None)
    args = ap.parse_args()
    horizon = args.horizon or (300_000 if args.quick else 1_500_000)
    check = args.check or (2_000 if args.quick else 5_000)
    ds = (args.dataset,) if args.dataset else SIM_DATASETS
    res = bench(ds, list(range(args.seed, args.seed + args.seeds)), horizon, check)
    print(SIMULATED_NOTE)
    print(f"overall ratio (pooled medians): {res['calls_ratio_icq_over_ucb']['overall']:.2f}")
    for d in ds:
        m = res["median"][d]
        print(f"{d:10s} IC-Q->best wf {m['icq_to_best_workflow']:>9.0f}  IC-Q->opt "
              f"{m['icq_to_optimum']:>9.0f}  UCB1->best wf {m['ucb_to_best_workflow']:>9.0f}  "
              f"ratio {res['calls_ratio_icq_over_ucb'][d]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=lambda o: None) + "\n")


if __name__ == "__main__":
    main()
