"""Core benchmarks (print figures; never run as tests).

1. Throughput of tabular IC-Q handoff updates per second on the default synthetic IC-SMDP:
   the plain in-process runner, the batched runner, and a naive reference loop (a
   PettingZoo AEC ``agent_iter`` loop with dict-based Q-learning, the way a typical research
   script does it), measured in one run and reported as ratios to the reference.
2. Sample efficiency at rho = 1: handoffs that IC-Q, centralised Q-learning (sees the latent
   state) and naive independent Q need before the greedy policy reaches 0.99 of the oracle's
   exact value (median over seeds; checked every ``check_every`` handoffs).

Usage: ``python bench/bench_core.py [--quick]``
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from handoffq.baselines.centralised import CentralisedQ
from handoffq.baselines.naive import NaiveIndependentAgent
from handoffq.core.pettingzoo_adapter import PettingZooAdapter
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP, SyntheticVecEnv
from handoffq.experiments.synthetic_common import greedy_value, reference
from handoffq.learn.agent import ICQAgent
from handoffq.learn.exploration import Exploration
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import BatchedRunner, InProcessRunner


def reference_loop(cfg: SyntheticConfig, budget: int, seed: int = 0) -> int:
    """A typical research script: PettingZoo AEC loop, dict Q-tables, IC-Q's update."""
    env = PettingZooAdapter(lambda: SyntheticICSMDP(cfg))
    rng = np.random.default_rng(seed)
    q: dict = defaultdict(float)
    gamma, updates, ep = cfg.gamma, 0, 0
    while updates < budget:
        env.reset(seed=seed + ep)
        ep += 1
        pending = None  # (agent, obs, action)
        for agent in env.agent_iter():
            obs, reward, term, trunc, _info = env.last()
            o = tuple(obs["observation"].tolist())
            legal = [i for i, m in enumerate(obs["action_mask"]) if m]
            if pending is not None:
                pa, po, pact = pending
                tau = env.infos[pa].get("tau", 1)
                v = 0.0 if term else max(q[(agent, o, a)] for a in legal) if legal else 0.0
                key = (pa, po, pact)
                q[key] += 0.1 * (reward + gamma**tau * v - q[key])
                updates += 1
                pending = None
            if updates >= budget:
                break
            if term or trunc:
                env.step(None)
                continue
            action = int(rng.choice(legal))
            pending = (agent, o, action)
            env.step(action)
    return updates


def throughput(cfg: SyntheticConfig, budget: int, n_envs: int) -> dict[str, float]:
    """Updates per second of the three loops (same instance, same budget)."""
    out = {}
    t = time.perf_counter()
    n = reference_loop(cfg, budget)
    out["reference_pettingzoo_dict"] = n / (time.perf_counter() - t)
    env = SyntheticICSMDP(cfg)
    team = make_team(env, seed=0, exploration=Exploration(epsilon=1.0))
    t = time.perf_counter()
    stats = InProcessRunner(env, team, seed=0).train(budget)
    out["inprocess"] = stats.handoffs / (time.perf_counter() - t)
    venv = SyntheticVecEnv(cfg, n_envs=n_envs, seed=0)
    team = make_team(venv, seed=0, exploration=Exploration(epsilon=1.0))
    runner = BatchedRunner(venv, team, seed=0)
    t = time.perf_counter()
    stats = runner.train(budget * 10)
    out["batched"] = stats.handoffs / (time.perf_counter() - t)
    return out


def samples_to_target(cfg: SyntheticConfig, kind: str, seed: int, limit: int, check_every: int,
                      target: float = 0.99) -> int | None:
    """Handoffs until the greedy policy reaches ``target`` x oracle (None if never)."""
    ref = reference(cfg)
    env = SyntheticICSMDP(cfg, seed=seed)
    explore = Exploration(epsilon=1.0)
    if kind == "centralised":
        learner = CentralisedQ(ref.model.n_states, cfg.n_agents, cfg.gamma, explore, seed=seed)
        done = 0
        while done < limit:
            learner.train(env, check_every, seed=seed * 1_000_003 + done)
            done += check_every
            q = np.where(ref.model.admissible, learner.q, -np.inf)
            from handoffq.theory.solve import policy_value

            if policy_value(ref.model, q.argmax(axis=1)) >= target * ref.oracle_value:
                return done
        return None
    cls = ICQAgent if kind == "icq" else NaiveIndependentAgent
    team = make_team(env, seed=seed, exploration=explore, agent_cls=cls)
    runner = InProcessRunner(env, team, seed=seed)
    while runner.stats.handoffs < limit:
        runner.train(check_every)
        if greedy_value(cfg, ref, team) >= target * ref.oracle_value:
            return runner.stats.handoffs
    return None


def main() -> None:
    """Print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    cfg = SyntheticConfig()
    budget = 5_000 if args.quick else 20_000
    print(f"# throughput, tabular IC-Q, default synthetic instance ({budget} handoffs; batched x10)")
    tp = throughput(cfg, budget, n_envs=1024)
    base = tp["reference_pettingzoo_dict"]
    for k, v in tp.items():
        print(f"{k:28s} {v:12.0f} updates/s   ratio to reference {v / base:6.1f}x")
    seeds = 2 if args.quick else args.seeds
    limit = 60_000 if args.quick else 300_000
    every = 1_000
    print(f"\n# handoffs to reach 0.99 x oracle at rho = 1 (seeds 0..{seeds - 1}, checked every {every})")
    med = {}
    for kind in ("icq", "centralised", "naive"):
        res = [samples_to_target(cfg, kind, s, limit, every) for s in range(seeds)]
        reached = [r for r in res if r is not None]
        med[kind] = float(np.median(reached)) if len(reached) == len(res) else None
        shown = ", ".join("never" if r is None else str(r) for r in res)
        print(f"{kind:12s} median {med[kind] if med[kind] is not None else 'not reached':>10}   per seed: {shown}")
    if med["icq"] and med["centralised"]:
        print(f"IC-Q / centralised sample ratio: {med['icq'] / med['centralised']:.2f}")


if __name__ == "__main__":
    main()
