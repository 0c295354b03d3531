"""The router's own overhead per handoff (tabular and MLP), against the agents' work.

Runs the four-agent document pipeline of :mod:`handoffq.router.demo` (agents' work is plain
Python), in one process and one run:

* **router overhead** (``router_overhead_us_<kind>``): the time spent inside the router's API
  (``start_task``, every ``task.next``, ``finish``; diagnostics on, as by default) divided by
  the number of ``task.next`` calls (one per agent invocation: a report, a reply to the
  predecessor, a decision), with the agents' own work only (a hot loop). Measured in
  ``--repeats`` batches of ``--tasks`` tasks after a warm-up: the minimum over batches is the
  figure least disturbed by other load; the median is reported too;
* **overhead between work** (``..._between_work``): the same, with ``--work-us`` of busy CPU
  work per invocation standing in for a real agent (default 1000 us, far faster than any LLM
  call): caches are cold when the router is called, as in an application;
* **loop ratio**: the loop's time with the router over the same loop with a fixed routing
  (the same tasks, agents and work), in alternating batches;
* **reference units**: a fixed pure-Python workload timed in the same run
  (``python_reference_us``), so that the overhead can be read as a ratio that does not depend
  on how loaded the machine was (``router_overhead_<kind>_in_reference_units``).

The MLP router uses numeric-vector views (an MLP of width 64, depth 2, one torch thread).
The machine's load average, CPU count and versions are written beside the figures.

Usage: ``python bench/bench_router.py --json PATH [--tasks 200] [--repeats 15] [--work-us 1000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from handoffq.router import MLP, Router
from handoffq.router.demo import SUCCESSORS, WORK, Doc, make_doc, views
from handoffq.router.errors import END
from handoffq.router.evaluate import FixedRouting

LABEL = {None: 0.0, "prose": 0.5, "code": 1.0}


def vector_views() -> dict[str, Callable[[Doc], list[float]]]:
    """The demo's views as numeric vectors (for the MLP router)."""
    return {
        "classifier": lambda d: [float(d.long), LABEL[d.label]],
        "summariser": lambda d: [LABEL[d.label]],
        "checker": lambda d: [float(d.summary is not None), LABEL[d.label]],
        "finisher": lambda d: [float(d.long), float(d.summary is not None), float(d.checked), LABEL[d.label]],
    }


def build(kind: str) -> Router:
    """The demo router with tabular or MLP learners."""
    router = Router(seed=0)
    obs = views() if kind == "tabular" else vector_views()
    for name, view in obs.items():
        router.add_agent(name, observe=view, successors=SUCCESSORS[name],
                         learner="tabular" if kind == "tabular" else MLP(width=64, depth=2))
    return router


def busy(us: float) -> None:
    """Keep the CPU busy for ``us`` microseconds (a stand-in for an agent's own work)."""
    end = time.perf_counter() + us * 1e-6
    while time.perf_counter() < end:
        pass


class Clock:
    """Accumulates time spent in the router's API and in the agents' work."""

    def __init__(self, work_us: float) -> None:
        self.work_us = work_us
        self.router = 0.0
        self.work = 0.0
        self.calls = 0

    def run(self, policy: Any, seed: int) -> None:
        """One task through ``policy`` (a Router or a FixedRouting), timing both sides."""
        import random

        rng = random.Random(seed)
        doc = make_doc(rng)
        t0 = time.perf_counter()
        task = policy.start_task()
        self.router += time.perf_counter() - t0
        agent = "classifier"
        while agent != END:
            t0 = time.perf_counter()
            cost, duration = WORK[agent](doc, rng)
            busy(self.work_us)
            t1 = time.perf_counter()
            agent = task.next(agent, doc, cost=cost, duration=duration)
            t2 = time.perf_counter()
            self.work += t1 - t0
            self.router += t2 - t1
            self.calls += 1
        reward = 1.0 if doc.published and (not doc.long or doc.summary) and not doc.hallucinated else 0.0
        t0 = time.perf_counter()
        task.finish(reward)
        self.router += time.perf_counter() - t0


def batch(policy: Any, seeds: range, work_us: float) -> tuple[float, float, float, int]:
    """(router seconds, work seconds, wall seconds, next() calls) for one batch of tasks."""
    clock = Clock(work_us)
    t0 = time.perf_counter()
    for s in seeds:
        clock.run(policy, s)
    return clock.router, clock.work, time.perf_counter() - t0, clock.calls


def reference_us(rounds: int = 200) -> float:
    """The minimum time of a fixed pure-Python workload (dict building and summing), in us."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        d = {}
        for i in range(200):
            d[i] = i * 2
        sum(d.values())
        best = min(best, time.perf_counter() - t0)
    return best * 1e6


def measure(kind: str, tasks: int, repeats: int, warmup: int, work_us: float) -> dict[str, float]:
    """Overhead per handoff (hot and between work) and loop ratio for one learner kind."""
    router = build(kind)
    fixed = FixedRouting(lambda agent, doc: {"classifier": "summariser" if doc.long else "finisher",
                                             "summariser": "checker" if doc.label == "code" else "finisher",
                                             "checker": "finisher", "finisher": END}[agent])
    batch(router, range(warmup), 0.0)
    hot, cold, work, ratios = [], [], [], []
    for r in range(repeats):
        seeds = range(10_000 + r * tasks, 10_000 + (r + 1) * tasks)
        rt, _, _, calls = batch(router, seeds, 0.0)
        hot.append(rt / calls * 1e6)
        rt, wk, wall, calls = batch(router, seeds, work_us)
        _, _, fixed_wall, _ = batch(fixed, seeds, work_us)
        cold.append(rt / calls * 1e6)
        work.append(wk / calls * 1e6)
        ratios.append(wall / fixed_wall)
    return {
        f"router_overhead_us_{kind}": min(hot),
        f"router_overhead_us_{kind}_median": statistics.median(hot),
        f"router_overhead_us_{kind}_between_work": min(cold),
        f"router_overhead_us_{kind}_between_work_median": statistics.median(cold),
        f"agent_work_us_{kind}": statistics.median(work),
        f"overhead_over_work_{kind}": min(cold) / statistics.median(work),
        f"loop_ratio_{kind}_median": statistics.median(ratios),
    }


def conditions() -> dict[str, Any]:
    """What the machine was doing and what ran."""
    import numpy
    import torch

    return {
        "loadavg_after": list(os.getloadavg()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }


def main() -> None:
    """Measure both learners and write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, required=True, help="where to write the figures")
    ap.add_argument("--tasks", type=int, default=200, help="tasks per measured batch")
    ap.add_argument("--repeats", type=int, default=15, help="measured batches per learner")
    ap.add_argument("--warmup", type=int, default=1000, help="tasks before measuring")
    ap.add_argument("--work-us", type=float, default=1000.0, help="busy work per agent invocation (microseconds)")
    args = ap.parse_args()
    before = os.getloadavg()
    ref = reference_us()
    out: dict[str, Any] = {}
    out.update(measure("tabular", args.tasks, args.repeats, args.warmup, args.work_us))
    out.update(measure("mlp", max(args.tasks // 4, 10), args.repeats, args.warmup // 4, args.work_us))
    ref = min(ref, reference_us())
    out["python_reference_us"] = ref
    for kind in ("tabular", "mlp"):
        out[f"router_overhead_{kind}_in_reference_units"] = out[f"router_overhead_us_{kind}"] / ref
    out["conditions"] = {**conditions(), "loadavg_before": list(before), "tasks": args.tasks,
                         "repeats": args.repeats, "warmup": args.warmup, "work_us": args.work_us,
                         "note": "overhead = time inside start_task/next/finish per next() call, min over batches; "
                                 "'between_work': with work_us of busy work per invocation between router calls"}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
