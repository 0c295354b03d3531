"""Benchmark: routes learned from packets on large graphs, and the packet network's speed.

1. **Handoffs to full accuracy**, per graph family and size. IC-Q routers with the routing
   experiment's static settings (``(destination, detained)`` observations with ``detain_prob =
   0.5``, epsilon-greedy 0.1, ``visits_offset`` steps, the vectorised team on the shared episode
   loop) learn from packets between random pairs; all-pairs accuracy (both flag tables, against
   BFS shortest paths) is checked every ``--check`` handoffs per ordered pair; a run stops once
   accuracy has been 1.0 at ``--stay`` consecutive checks, or at ``--budget`` handoffs per pair.
   Reported: the first check of that final run of 1.0s (handoffs, and per ordered pair), the
   wall time, handoffs per second.
2. **Network speed**: steps and packet hops per second of
   :class:`~handoffq.envs.packet_network.PacketNetwork` with IC-Q routers (every reply through the
   audited channel) and with Q-routing, on Boyan and Littman's grid at load 2.

Usage: ``python bench/bench_routing.py [--families barabasi_albert] [--sizes 100,300,1000]
[--seed 0] [--json PATH]``. The JSON is rewritten after every check, so an interrupted run keeps
its curves. Simulated graphs and traffic; wall times depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from typing import Any

from handoffq.baselines.q_routing_family import QRoutingTeam
from handoffq.core.packets import PacketTeam
from handoffq.envs.packet_network import LoadConfig, PacketNetwork
from handoffq.envs.routing import FAMILIES, RoutingConfig, RoutingEnv, boyan_littman_6x6, hop_distances, make_graph
from handoffq.experiments.routing.config import RoutingExperimentConfig
from handoffq.experiments.routing.metrics import stays_full_from
from handoffq.experiments.routing.static import slots_for, static_accuracy, static_team
from handoffq.learn.router_load import ICQLoadTeam
from handoffq.runtime.packet_episodes import EpisodicRouterTrainer


def handoffs_to_full_accuracy(
    family: str, n: int, seed: int, args: argparse.Namespace, progress: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Train until accuracy has been 1.0 at ``args.stay`` consecutive checks (or the budget)."""
    cfg = RoutingExperimentConfig(n_slots=args.slots)
    g = make_graph(family, n, seed=seed)
    env = RoutingEnv(g, RoutingConfig(gamma=cfg.gamma, detain_prob=cfg.detain_prob))
    dist = hop_distances(env.graph)
    team = static_team(env, cfg, seed)
    tr = EpisodicRouterTrainer(g, team, env.config, n_slots=slots_for(n, cfg), seed=seed + 1)
    pairs = n * (n - 1)
    hist: list[tuple[int, float]] = []
    train_s = train_cpu_s = 0.0
    while tr.stats.handoffs < args.budget * pairs:
        t0, c0 = time.perf_counter(), time.process_time()
        tr.train(args.check * pairs)
        train_s += time.perf_counter() - t0
        train_cpu_s += time.process_time() - c0
        hist.append((tr.stats.handoffs, static_accuracy(team, dist)))
        progress({"handoffs": tr.stats.handoffs, "accuracy": hist[-1][1], "train_s": round(train_s, 1),
                  "train_cpu_s": round(train_cpu_s, 1)})
        print(f"  {family} n={n}: {tr.stats.handoffs:,} handoffs, accuracy {hist[-1][1]:.6f}, {train_s:.0f} s "
              f"({train_cpu_s:.0f} s CPU)", flush=True)
        if len(hist) >= args.stay and all(a == 1.0 for _, a in hist[-args.stay:]):
            break
    first = stays_full_from(hist) if hist[-1][1] == 1.0 else None
    return {
        "family": family, "n": n, "seed": seed, "edges": env.graph.number_of_edges(), "n_slots": tr.n_slots,
        "final_accuracy": hist[-1][1], "handoffs_to_full_accuracy": first,
        "handoffs_to_full_accuracy_per_pair": None if first is None else first / pairs,
        "handoffs_trained": tr.stats.handoffs, "train_s": round(train_s, 1), "train_cpu_s": round(train_cpu_s, 1),
        "handoffs_per_s": tr.stats.handoffs / max(train_s, 1e-9),
        "handoffs_per_cpu_s": tr.stats.handoffs / max(train_cpu_s, 1e-9),
    }


def network_speed(name: str, team: PacketTeam, obs_kind: str, seed: int, steps: int) -> dict[str, Any]:
    """Steps and packet hops per second of the network on the BL36 grid at load 2."""
    net = PacketNetwork(boyan_littman_6x6(), team, LoadConfig(load=2.0, steps=steps, drain=0), seed=seed,
                        obs_kind=obs_kind)
    t0, c0 = time.perf_counter(), time.process_time()
    res = net.run()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    hops = int(res.hops[res.delivered >= 0].sum()) + int(net.hops[net.pid >= 0].sum())
    return {"team": name, "steps": steps, "hops": hops, "hops_per_s": hops / dt, "steps_per_s": steps / dt,
            "hops_per_cpu_s": hops / max(cpu, 1e-9), "messages": res.messages}


def _check_args(ap: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[list[str], list[int]]:
    """The families and sizes asked for; a one-line error naming the option otherwise."""
    families = [f.strip() for f in args.families.split(",") if f.strip()]
    bad = [f for f in families if f not in FAMILIES]
    if bad or not families:
        got = bad[0] if bad else args.families
        ap.error(f"--families: unknown family {got!r} (expected some of {', '.join(FAMILIES)})")
    try:
        sizes = [int(x) for x in args.sizes.split(",")]
    except ValueError:
        ap.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if any(n < 2 for n in sizes):
        ap.error(f"--sizes: every size must be at least 2, got {args.sizes!r}")
    for opt in ("check", "stay", "budget"):
        if getattr(args, opt) < 1:
            ap.error(f"--{opt}: must be at least 1, got {getattr(args, opt)}")
    return families, sizes


def main() -> None:
    """Run the benchmark, print a table, optionally write JSON."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--families", default="barabasi_albert")
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", type=int, default=100, help="handoffs per ordered pair between accuracy checks")
    ap.add_argument("--stay", type=int, default=3, help="consecutive checks at 1.0 that end a run")
    ap.add_argument("--budget", type=int, default=20000, help="handoffs per ordered pair at most")
    ap.add_argument("--slots", type=int, default=0, help="packets in flight (0: the experiment's rule)")
    ap.add_argument("--sim-steps", type=int, default=2000, help="steps of each network-speed run (0: skip)")
    ap.add_argument("--json", default=None, help="write the results to this JSON file")
    args = ap.parse_args()
    families, sizes = _check_args(ap, args)
    out: dict[str, Any] = {
        "seed": args.seed, "simulated": True, "args": vars(args), "handoffs_to_full_accuracy": {}, "static": [],
        "curves": {}, "network": [],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()},
    }

    def save() -> None:  # after every measurement, so that an interrupted run keeps its results
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(out, fh, indent=2, default=float)

    if args.sim_steps:
        for name, team, kind in (("ic_q", ICQLoadTeam(seed=args.seed), "dest_wait"),
                                 ("q_routing", QRoutingTeam(seed=args.seed), "dest")):
            r = network_speed(name, team, kind, args.seed, args.sim_steps)
            out["network"].append(r)
            print(f"network BL36 load 2, {name}: {r['steps_per_s']:,.0f} steps/s, {r['hops_per_s']:,.0f} hops/s",
                  flush=True)
            save()
    for family in families:
        for n in sizes:
            curve: list[dict[str, Any]] = []
            out["curves"][f"{family}@{n}"] = curve
            r = handoffs_to_full_accuracy(family, n, args.seed, args, lambda rec, c=curve: (c.append(rec), save()))
            out["static"].append(r)
            out["handoffs_to_full_accuracy"][f"{family}@{n}"] = r["handoffs_to_full_accuracy"]
            print(f"{family} n={n}: handoffs to full accuracy {r['handoffs_to_full_accuracy']} "
                  f"({r['handoffs_to_full_accuracy_per_pair']} per pair), {r['train_s']} s, "
                  f"{r['handoffs_per_s']:,.0f} handoffs/s", flush=True)
            save()
    out["machine"]["load_avg_end"] = os.getloadavg()
    save()
    print("(simulated graphs and traffic; wall times depend on the machine's load)")


if __name__ == "__main__":
    main()
