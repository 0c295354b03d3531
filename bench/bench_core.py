"""Core benchmarks: throughput of the batched episode loop and sample efficiency (prints
figures; ``--json PATH`` writes them; never run as tests).

1. **Throughput** on the default synthetic IC-SMDP (workflow family), tabular IC-Q, uniform
   behaviour, on one core (the process is pinned to one CPU and BLAS to one thread). Measured
   in one run, so that the ratios compare like with like on a shared machine:

   * ``batched_updates_per_s``: the :class:`~handoffq.runtime.inprocess.BatchedRunner` (the
     shared episode loop: environment step, each agent's decisions on its own observations,
     successor values, replies through the audited channel, one update per receiving agent)
     with ``--slots`` parallel episodes (16,384 by default), per second of wall time and
     (``batched_updates_per_cpu_s``) per second of the process's CPU time;
   * ``per_handoff_loop_updates_per_s``: a plain per-handoff Python loop on the *same*
     environment (:class:`~handoffq.envs.synthetic.SyntheticICSMDP`, same instance): ``decide``
     -> ``step`` -> ``value`` -> ``receive(HandoffMessage)``, one handoff at a time;
   * ``inprocess_runner_updates_per_s``: the library's one-episode-at-a-time runner on that
     scalar environment;
   * ``update_only_per_s``: the agents' ``receive_batch`` alone on one round's replies
     (``--slots`` of them), and ``env_step_per_s``: the vectorised environment step alone;
   * ratios: ``speedup_vs_per_handoff_loop``, ``speedup_vs_inprocess_runner`` and
     ``update_share_of_round`` (the share of a batched round spent in the update);
   * the machine's load average before and after (figures at different loads differ by up
     to 4x on a shared machine).

2. **Sample efficiency** at rho = 1: the normalised exact value ``(V - V_random) / (V_oracle -
   V_random)`` of the greedy policies of IC-Q, naive independent Q and centralised Q on the
   latent state after each budget (mean and minimum over instances).

Usage: ``python bench/bench_core.py [--quick] [--slots 16384] [--json PATH] [--no-pin]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: before numpy loads its BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from handoffq.core.channel import MessageBatch
from handoffq.core.messages import HandoffMessage
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP, SyntheticVecEnv
from handoffq.experiments.synthetic.exact import greedy_value, latent_policy_value, normalised, reference
from handoffq.experiments.synthetic.learners import TabularLearner, train_centralised, train_tabular
from handoffq.learn.exploration import Exploration
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import BatchedRunner, InProcessRunner


def _rate(fn: Callable[[], int], reps: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Best rate over ``reps`` repetitions of ``fn`` (which returns the units it did), by ``clock``."""
    best = float("inf")
    for _ in range(reps):
        t = clock()
        n = fn()
        best = min(best, (clock() - t) / n)
    return 1.0 / best


def per_handoff_loop(env: SyntheticICSMDP, team: list[Any], handoffs: int, seed: int = 0) -> int:
    """A plain per-handoff loop with the scalar agent API (the reference for the batched loop)."""
    done, episode = 0, 0
    while done < handoffs:
        env.reset(seed + episode)
        episode += 1
        ended = False
        while not ended and done < handoffs:
            i = env.active_agent
            k = team[i].decide(env.observe(i), env.admissible(i), key=episode)
            tr = env.step(k)
            v = 0.0 if tr.terminated else team[k].value(env.observe(k), env.admissible(k))
            team[i].receive(HandoffMessage(v, tr.duration, tr.reward), key=episode)
            done += 1
            ended = tr.terminated or tr.truncated
    return done


def throughput(cfg: SyntheticConfig, slots: int, rounds: int, loop_handoffs: int, reps: int = 3) -> dict[str, Any]:
    """Handoff updates per second of the batched loop, its parts and the per-handoff loops."""
    out: dict[str, Any] = {"slots": slots, "rounds": rounds, "loadavg_1min_before": os.getloadavg()[0]}
    explore = Exploration(epsilon=1.0)
    venv = SyntheticVecEnv(cfg, n_envs=slots, seed=0)
    team = make_team(venv, seed=0, exploration=explore)
    runner = BatchedRunner(venv, team, seed=0)
    runner.train(slots * 3)  # warm up
    out["batched_updates_per_s"] = _rate(lambda: (runner.train(slots * rounds), slots * rounds)[1], reps)
    # the same per second of this process's CPU time: what a shared machine's load does not take away
    out["batched_updates_per_cpu_s"] = _rate(lambda: (runner.train(slots * rounds), slots * rounds)[1], reps,
                                             time.process_time)

    env1 = SyntheticICSMDP(cfg, seed=0)
    loop_team = make_team(env1, seed=0, exploration=explore)
    out["per_handoff_loop_updates_per_s"] = _rate(lambda: per_handoff_loop(env1, loop_team, loop_handoffs), 1)
    inproc = InProcessRunner(env1, make_team(env1, seed=0, exploration=explore), seed=0)
    out["inprocess_runner_updates_per_s"] = _rate(lambda: (inproc.train(loop_handoffs), loop_handoffs)[1], 1)

    out["update_only_per_s"] = _update_only_rate(venv, team, rounds, reps)
    out["env_step_per_s"] = _env_step_rate(venv, rounds, reps)
    out["speedup_vs_per_handoff_loop"] = out["batched_updates_per_s"] / out["per_handoff_loop_updates_per_s"]
    out["speedup_vs_inprocess_runner"] = out["batched_updates_per_s"] / out["inprocess_runner_updates_per_s"]
    out["update_share_of_round"] = out["batched_updates_per_s"] / out["update_only_per_s"]
    out["loadavg_1min_after"] = os.getloadavg()[0]
    return out


def _update_only_rate(venv: SyntheticVecEnv, team: list[Any], rounds: int, reps: int) -> float:
    """``receive_batch`` alone: each agent updates a quarter of the slots' decisions per round."""
    rng = np.random.default_rng(0)
    per = venv.n_envs // len(team)
    batches = []
    for a, agent in enumerate(team):
        sl = np.arange(a * per, (a + 1) * per)
        obs = rng.integers(venv.m, size=(per, 1))
        cols = agent.decide_batch(sl, obs, venv.mask(sl, a))
        batches.append((sl, obs, cols, MessageBatch(rng.random(per), rng.integers(1, 5, size=per), rng.random(per))))

    def run() -> int:
        for _ in range(rounds):
            for agent, (sl, obs, cols, msg) in zip(team, batches):
                agent._slot_store().put(sl, obs, cols)  # re-arm the pending decisions (not timed apart)
                agent.receive_batch(sl, msg)
        return per * len(team) * rounds

    return _rate(run, reps)


def _env_step_rate(venv: SyntheticVecEnv, rounds: int, reps: int) -> float:
    succ = np.zeros(venv.n_envs, dtype=np.int64)

    def run() -> int:
        for _ in range(rounds):
            succ[:] = venv.active()  # continue (always admissible)
            tr = venv.step(succ)
            venv.reset_slots(np.flatnonzero(tr.terminated | tr.truncated))
        return venv.n_envs * rounds

    return _rate(run, reps)


def sample_efficiency(seeds: int, budgets: tuple[int, ...]) -> dict[str, dict[str, list[float]]]:
    """Normalised exact value of each learner's greedy policy after each budget, per instance."""
    out: dict[str, dict[str, list[float]]] = {k: {str(b): [] for b in budgets} for k in ("icq", "naive", "centralised")}
    for s in range(seeds):
        cfg = SyntheticConfig(instance_seed=s)
        ref = reference(cfg)
        for b in budgets:
            icq = train_tabular(cfg, TabularLearner(), b, s, 256)
            naive = train_tabular(cfg, TabularLearner(), b, s, 256, learner="naive")
            out["icq"][str(b)].append(normalised(greedy_value(ref, icq), ref))
            out["naive"][str(b)].append(normalised(greedy_value(ref, naive), ref))
            q = train_centralised(cfg, b, s)
            out["centralised"][str(b)].append(normalised(latent_policy_value(ref, q), ref))
    return out


def _pin() -> list[int]:
    """Pin this process to one CPU (the last one it may use); return the CPUs it runs on."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    return sorted(os.sched_getaffinity(0))


def main() -> None:
    """Print (and with ``--json`` write) the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds, seeds and budgets")
    ap.add_argument("--slots", type=int, default=16_384, help="parallel episodes of the batched loop")
    ap.add_argument("--seeds", type=int, default=5, help="instances of the sample-efficiency part")
    ap.add_argument("--json", type=str, default=None, help="write the figures to this JSON file")
    ap.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    args = ap.parse_args()
    if args.slots < 1 or args.seeds < 1:
        ap.error("--slots and --seeds must be >= 1")
    cpus = sorted(os.sched_getaffinity(0)) if args.no_pin else _pin()
    print(f"# machine: {os.cpu_count()} CPUs, running on {cpus}, load average {os.getloadavg()}")
    print(f"# throughput: tabular IC-Q, default synthetic instance, {args.slots} slots, one core")
    tp = throughput(SyntheticConfig(), args.slots, 20 if args.quick else 60,
                    loop_handoffs=5_000 if args.quick else 20_000)
    for k, v in tp.items():
        print(f"{k:32s} {v:>16,.2f}" if isinstance(v, float) else f"{k:32s} {v}")
    seeds = 3 if args.quick else args.seeds
    budgets = (10_000, 30_000, 100_000) if args.quick else (10_000, 30_000, 100_000, 300_000)
    print(f"\n# normalised exact value at rho = 1 (instances 0..{seeds - 1}; 0 = random successors, 1 = oracle)")
    se = sample_efficiency(seeds, budgets)
    for k, by in se.items():
        print(f"{k:12s} " + "  ".join(f"{b}: mean {np.mean(v):.3f} min {np.min(v):.3f}" for b, v in by.items()))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**tp, "sample_efficiency": se, "cpus": cpus, "cpu_count": os.cpu_count(),
                       "omp_threads": os.environ.get("OMP_NUM_THREADS")}, fh, indent=2)


if __name__ == "__main__":
    main()
