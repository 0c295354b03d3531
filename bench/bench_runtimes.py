"""Throughput of the in-process and the Ray runner (episodes and handoffs per second).

Two workloads, each timed under both runners in the same run:

* the synthetic IC-SMDP (cheap, CPU-bound invocations: measures pure runtime overhead);
* the multi-LLM math workflow with the *simulated* LLM backend and a fixed per-call latency
  (default 50 ms) standing for a real model served elsewhere. The latency is a
  ``time.sleep`` in a wrapper backend: nothing here calls a language model.

For the LLM workload the batched in-process runner (a thread pool steps its slots, so
latency overlaps) and the Ray runner are also timed at several numbers of concurrent
episodes (environment actors x episodes per actor) to show how throughput grows with
concurrency. Actor start-up is timed separately and excluded from the rates.

Usage::

    python bench/bench_runtimes.py [--quick] [--seed N] [--latency 0.05] [--num-cpus N]
                                   [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.learn.exploration import Exploration
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import InProcessRunner

SIM_NOTE = (
    "LLM workload: simulated backend (handoffq.llm.simulated) behind a wrapper that sleeps a "
    "fixed latency per call to stand for a real LLM; no language model is called."
)


class LatencyBackend:
    """The simulated LLM backend plus a fixed per-call latency (picklable: the inner backend,
    which holds a lock, is rebuilt from its calibration and seed after unpickling)."""

    simulated = True

    def __init__(self, latency: float, calibration: str = "mathqa", seed: int = 0) -> None:
        self.latency = float(latency)
        self.calibration = calibration
        self.seed = int(seed)
        self._build()

    def _build(self) -> None:
        from handoffq.llm.simulated import SimulatedBackend

        self.inner = SimulatedBackend(calibration=self.calibration, seed=self.seed)
        self.name, self.model, self.stats = self.inner.name, self.inner.model, self.inner.stats

    def __getstate__(self) -> dict[str, Any]:
        return {"latency": self.latency, "calibration": self.calibration, "seed": self.seed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build()

    def complete(self, messages: Any, params: Any = None, sample: int = 0, meta: Any = None) -> Any:
        """Sleep ``latency`` seconds, then answer as the simulated backend."""
        time.sleep(self.latency)
        return self.inner.complete(messages, params=params, sample=sample, meta=meta)


def make_llm_env(latency: float, seed: int) -> Any:
    """The LLM math workflow on generated arithmetic questions, simulated backend."""
    from handoffq.envs.llm_math.data import generate_arith
    from handoffq.envs.llm_math.env import LLMMathEnv

    return LLMMathEnv(LatencyBackend(latency, seed=seed), generate_arith(200, seed=seed), seed=seed)


def synthetic_env(seed: int) -> SyntheticICSMDP:
    """The default synthetic instance (4 agents, 12 interface states)."""
    return SyntheticICSMDP(SyntheticConfig(instance_seed=seed), seed=seed)


def time_inprocess(env: Any, budget: int, seed: int) -> dict[str, float]:
    """Handoffs/s and episodes/s of the in-process runner over ``budget`` handoffs."""
    team = make_team(env, seed=seed, exploration=Exploration(epsilon=0.2))
    runner = InProcessRunner(env, team, seed=seed)
    t0 = time.perf_counter()
    stats = runner.train(budget)
    dt = time.perf_counter() - t0
    return {
        "concurrency": 1,
        "handoffs": stats.handoffs,
        "episodes": stats.episodes,
        "seconds": dt,
        "handoffs_per_s": stats.handoffs / dt,
        "episodes_per_s": stats.episodes / dt,
    }


def time_batched(env: Any, budget: int, seed: int, slots: int) -> dict[str, float]:
    """The batched runner over ``slots`` copies of ``env`` stepped in a thread pool."""
    from handoffq.core.vec import SyncVecEnv
    from handoffq.runtime.inprocess import BatchedRunner

    team = make_team(env, seed=seed, exploration=Exploration(epsilon=0.2))
    runner = BatchedRunner(SyncVecEnv(env, slots, seed=seed, threads=slots), team, seed=seed)
    t0 = time.perf_counter()
    stats = runner.train(budget)
    dt = time.perf_counter() - t0
    return {"concurrency": slots, "handoffs": stats.handoffs, "episodes": stats.episodes, "seconds": dt,
            "handoffs_per_s": stats.handoffs / dt, "episodes_per_s": stats.episodes / dt}


def time_ray(
    env: Any, budget: int, seed: int, actors: int, slots: int, **kw: Any
) -> dict[str, float]:
    """The same for the Ray runner with ``actors`` x ``slots`` concurrent episodes."""
    from handoffq.runtime.ray import RayRunner

    team = make_team(env, seed=seed, exploration=Exploration(epsilon=0.2))
    t0 = time.perf_counter()
    runner = RayRunner(env, team, seed=seed, num_env_actors=actors, episodes_per_actor=slots, **kw)
    startup = time.perf_counter() - t0
    try:
        runner.train(max(actors * slots, budget // 10))  # warm-up: workers, imports, caches
        runner.stats.episodes = runner.stats.handoffs = 0
        t0 = time.perf_counter()
        stats = runner.train(budget)
        dt = time.perf_counter() - t0
    finally:
        runner.close()
    return {
        "concurrency": actors * slots,
        "env_actors": actors,
        "episodes_per_actor": slots,
        **{k: v for k, v in kw.items() if k == "threaded_env"},
        "handoffs": stats.handoffs,
        "episodes": stats.episodes,
        "seconds": dt,
        "startup_seconds": startup,
        "handoffs_per_s": stats.handoffs / dt,
        "episodes_per_s": stats.episodes / dt,
    }


def _row(name: str, r: dict[str, Any], base: dict[str, Any]) -> str:
    ratio = r["episodes_per_s"] / base["episodes_per_s"]
    extra = f" startup {r['startup_seconds']:.1f}s" if "startup_seconds" in r else ""
    return (
        f"  {name:<34} conc {r['concurrency']:>3}  {r['handoffs_per_s']:9.1f} handoffs/s"
        f"  {r['episodes_per_s']:8.2f} episodes/s  x{ratio:6.2f} vs in-process{extra}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller budgets, fewer points")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds per simulated LLM call")
    ap.add_argument("--num-cpus", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--json", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)

    import ray

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    t0 = time.perf_counter()
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    ray_init_s = time.perf_counter() - t0
    q = args.quick
    res: dict[str, Any] = {
        "simulated": True,
        "simulated_note": SIM_NOTE,
        "seed": args.seed,
        "quick": q,
        "latency_s": args.latency,
        "num_cpus": args.num_cpus,
        "machine_cpus": os.cpu_count(),
        "load_avg_1min_at_start": os.getloadavg()[0],
        "ray_init_seconds": ray_init_s,
        "python": sys.version.split()[0],
        "ray": ray.__version__,
    }
    print(
        f"Ray {ray.__version__} local, num_cpus={args.num_cpus}; ray.init {ray_init_s:.1f}s;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    # ------------------------------------------------------------- synthetic
    env = synthetic_env(args.seed)
    base = time_inprocess(env, 5_000 if q else 20_000, args.seed)
    syn = {"inprocess": base, "ray": []}
    print("synthetic IC-SMDP (4 agents, 12 interface states; CPU-bound, ~0.1 ms per invocation)")
    print(_row("in-process", base, base))
    for actors, slots in [(2, 4)] if q else [(2, 4), (2, 32)]:
        r = time_ray(env, 1_000 if q else 3_000, args.seed, actors, slots)
        syn["ray"].append(r)
        print(_row(f"ray {actors} env actors x {slots}", r, base))
    res["synthetic"] = syn

    # ------------------------------------------------------------- LLM workflow
    try:
        llm_env = make_llm_env(args.latency, args.seed)
    except ImportError as exc:  # the LLM workflow is optional here
        print(f"LLM workflow unavailable ({exc}); skipped")
        llm_env = None
    if llm_env is not None:
        base = time_inprocess(llm_env, 60 if q else 150, args.seed)
        llm = {"inprocess": base, "ray": []}
        print(f"LLM math workflow, simulated backend, {args.latency * 1000:.0f} ms per LLM call")
        print(_row("in-process", base, base))
        llm["batched"] = []
        for slots in (4, 16) if q else (4, 16, 64):
            r = time_batched(llm_env, max(40, slots * (20 if q else 40)), args.seed, slots)
            llm["batched"].append(r)
            print(_row(f"batched in-process x {slots} (threads)", r, base))
        points = (
            [(1, 1), (2, 4), (2, 16)] if q else [(1, 1), (1, 4), (2, 4), (2, 8), (2, 16), (4, 16)]
        )
        for actors, slots in points:
            conc = actors * slots
            budget = max(40, int(conc * (20 if q else 40)))
            r = time_ray(llm_env, budget, args.seed, actors, slots)
            llm["ray"].append(r)
            print(_row(f"ray {actors} env actors x {slots}", r, base))
        res["llm_workflow"] = llm

    ray.shutdown()
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
