"""Benchmark: how many tasks, and which settings, a Router needs for choices that only a small
cost separates, under reward noise that no agent can see.

The task is a document pipeline written only from ``docs/router.md`` (the independent review's
held-out task). ``intake`` sees ``(language, length)``, ``translate`` sees the length,
``summarize`` sees whether the text is readable (English or translated). The reward is 1 when
a non-English document was translated and a long one summarised, kept with probability
``--keep`` (0.9: 10 % noise nobody sees), minus ``--cost`` (0.05) per invocation. Two kinds
of choice:

* **view-dependent**: translate iff non-English, summarise iff long (a margin of about 0.9);
* **cost-only**: do not summarise a short document, do not translate an English one (a margin
  of one invocation's cost, about 0.05).

For each setting (exploration rate, step-size schedule, number of training tasks) it trains
``--seeds`` routers and reports in how many the greedy routes of all six document kinds are
optimal, and in how many the view-dependent ones are.

Usage: ``python bench/bench_router_noise.py --json PATH [--seeds 10]``.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import warnings
from pathlib import Path
from typing import Any

from handoffq import END, Router
from handoffq.learn.schedules import StepSize
from handoffq.router import Tabular

KINDS = [(lang, length) for lang in ("en", "fr", "de") for length in ("short", "long")]
VIEWS = {
    "intake": lambda d: (d["lang"], d["len"]),
    "translate": lambda d: d["len"],
    "summarize": lambda d: d["lang"] == "en" or "translate" in d["done"],
}
SUCCESSORS = {"intake": ["translate", "summarize", END], "translate": ["summarize", END], "summarize": [END]}

# name -> (epsilon, step size, training tasks)
SETTINGS: dict[str, tuple[float, StepSize, int]] = {
    "default, 500 tasks": (0.1, StepSize(), 500),
    "default, 3000 tasks": (0.1, StepSize(), 3000),
    "default, 10000 tasks": (0.1, StepSize(), 10000),
    "epsilon 0.3, 3000 tasks": (0.3, StepSize(), 3000),
    "1/visits steps, 3000 tasks": (0.1, StepSize(power=1.0), 3000),
    "1/visits steps, epsilon 0.3, 500 tasks": (0.3, StepSize(power=1.0), 500),
    "1/visits steps, epsilon 0.3, 1000 tasks": (0.3, StepSize(power=1.0), 1000),
    "1/visits steps, epsilon 0.3, 3000 tasks": (0.3, StepSize(power=1.0), 3000),
}


def best(doc: dict[str, Any]) -> list[str]:
    """The cheapest route that earns the reward."""
    return ["intake"] + (["translate"] if doc["lang"] != "en" else []) + (["summarize"] if doc["len"] == "long" else [])


def build(seed: int, epsilon: float, step: StepSize) -> Router:
    """The pipeline's router."""
    router = Router(seed=seed, epsilon=epsilon, diagnostics=False)
    for name, succ in SUCCESSORS.items():
        router.add_agent(name, observe=VIEWS[name], successors=succ, learner=Tabular(step_size=step))
    return router


def run_task(router: Router, doc: dict[str, Any], cost: float, reward: float | None, mode: str) -> list[str]:
    """One task through the router; the route taken."""
    task = router.start_task(mode=mode)  # type: ignore[arg-type]
    agent = "intake"
    while agent != END:
        doc["done"].append(agent)
        agent = task.next(agent, doc, cost=cost)
    ok = (doc["lang"] == "en" or "translate" in doc["done"]) and (doc["len"] == "short" or "summarize" in doc["done"])
    task.finish(reward=float(ok) * (1.0 if reward is None else reward))
    return doc["done"]


def trial(seed: int, epsilon: float, step: StepSize, n: int, cost: float, keep: float) -> tuple[bool, bool]:
    """Train one router; ``(all six routes optimal, the view-dependent parts optimal)``."""
    rng = random.Random(1000 + seed)
    router = build(seed, epsilon, step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            doc = {"lang": rng.choice(["en", "fr", "de"]), "len": rng.choice(["short", "long"]), "done": []}
            run_task(router, doc, cost, 1.0 if rng.random() < keep else 0.0, "train")
    all_ok = view_ok = True
    for lang, length in KINDS:
        doc = {"lang": lang, "len": length, "done": []}
        route = run_task(router, doc, cost, 0.0, "frozen")
        want = best({"lang": lang, "len": length})
        all_ok &= route == want
        # view-dependent: every needed step is there (a cost-only mistake adds an unneeded one)
        view_ok &= set(want) <= set(route)
    return all_ok, view_ok


def main() -> None:
    """Run every setting and write the summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, required=True, help="where to write the summary (JSON)")
    ap.add_argument("--seeds", type=int, default=10, help="routers trained per setting")
    ap.add_argument("--cost", type=float, default=0.05, help="cost of one invocation")
    ap.add_argument("--keep", type=float, default=0.9, help="probability that a correct route is rewarded")
    args = ap.parse_args()
    if args.seeds < 1 or not 0.0 < args.keep <= 1.0:
        ap.error("--seeds must be >= 1 and --keep in (0, 1]")
    out: dict[str, Any] = {"seeds": args.seeds, "cost": args.cost, "keep": args.keep, "settings": {}}
    for name, (epsilon, step, n) in SETTINGS.items():
        t0 = time.perf_counter()
        results = [trial(seed, epsilon, step, n, args.cost, args.keep) for seed in range(args.seeds)]
        row = {"epsilon": epsilon, "step_power": step.power, "tasks": n,
               "all_routes_optimal": sum(a for a, _ in results), "view_dependent_optimal": sum(v for _, v in results),
               "seconds": time.perf_counter() - t0}
        out["settings"][name] = row
        print(f"{name:42s} all optimal {row['all_routes_optimal']:2d}/{args.seeds}   "
              f"view-dependent {row['view_dependent_optimal']:2d}/{args.seeds}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
