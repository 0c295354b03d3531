"""Benchmark: IC-Q routers on Barabasi-Albert graphs of 100, 300 and 1000 nodes.

Prints, per size, the wall time and the samples (handoffs) until the greedy routes are 100%
accurate (every ordered pair on a shortest path) with the sweep runner's ``"probe"`` schedule
(every router probes every ``(destination, neighbour)`` pair once per sweep, so the sweeps
needed grow with the diameter, not the maximum degree), the training throughput (handoffs per
second), and the multi-packet simulator's throughput (packets routed per second, IC-Q
routers). The episodic in-process runner's throughput on the 100-node graph is measured in
the same run as the baseline for the speed-up ratio.

Usage: ``python bench/bench_routing.py [--sizes 100,300,1000] [--seed 0]`` (simulated graphs).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from handoffq.envs.routing import (
    RoutingConfig,
    RoutingEnv,
    hop_distances,
    make_graph,
    route_accuracy,
)
from handoffq.envs.routing_dynamic import DynamicConfig, PacketNetwork
from handoffq.experiments.routing import greedy_tables, pair_accuracy
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import InProcessRunner
from handoffq.runtime.routing_sweep import RouterSweepRunner


def _team(env: RoutingEnv, seed: int) -> list:
    return make_team(
        env, seed=seed, exploration=Exploration(epsilon=0.0), schedule=StepSize("constant", a0=1.0)
    )


def bench_size(n: int, seed: int, max_sweeps: int = 400) -> dict[str, float]:
    """Train until 100% accuracy; return timings."""
    g = make_graph("barabasi_albert", n, seed=seed)
    cfg = RoutingConfig()
    env = RoutingEnv(g, cfg)
    dist = hop_distances(env.graph)
    team = _team(env, seed)
    runner = RouterSweepRunner(g, team, cfg, seed=seed)
    train_s, acc = 0.0, 0.0
    while runner.sweeps < max_sweeps:
        t0 = time.perf_counter()
        runner.sweep()
        train_s += time.perf_counter() - t0
        acc = pair_accuracy(route_accuracy(greedy_tables(team, n), dist))
        if acc == 1.0:
            break
    return {
        "n": n,
        "edges": env.graph.number_of_edges(),
        "accuracy": acc,
        "sweeps": runner.sweeps,
        "samples": runner.stats.handoffs,
        "train_s": train_s,
        "handoffs_per_s": runner.stats.handoffs / max(train_s, 1e-9),
    }


def episodic_throughput(n: int, seed: int, budget: int = 20000) -> float:
    """Handoffs per second of the episodic in-process runner (the baseline)."""
    env = RoutingEnv(make_graph("barabasi_albert", n, seed=seed), RoutingConfig())
    team = make_team(env, seed=seed, exploration=Exploration(epsilon=0.1))
    runner = InProcessRunner(env, team, seed=seed)
    t0 = time.perf_counter()
    runner.train(budget)
    return budget / (time.perf_counter() - t0)


def packets_per_second(n: int, seed: int, steps: int = 300) -> float:
    """Packet hops routed per second by IC-Q routers in the multi-packet simulator."""
    g = make_graph("barabasi_albert", n, seed=seed)
    team = make_team(
        RoutingEnv(g, RoutingConfig(gamma=1.0)),
        seed=seed,
        exploration=Exploration(epsilon=0.0),
        schedule=StepSize("constant", a0=0.1),
    )
    net = PacketNetwork(g, team, DynamicConfig(load=n / 20, steps=steps, drain=0), seed=seed)
    t0 = time.perf_counter()
    net.run()
    hops = int(net.hops[net.pid >= 0].sum()) + int(sum(h for h in net._hops if h > 0))
    return hops / (time.perf_counter() - t0)


def main() -> None:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    base = episodic_throughput(100, args.seed)
    print(f"baseline: episodic in-process runner, BA n=100: {base:,.0f} handoffs/s")
    print(
        f"{'n':>6} {'edges':>6} {'acc':>6} {'sweeps':>6} {'samples to 100%':>16} {'time (s)':>9} "
        f"{'handoffs/s':>11} {'x episodic':>10} {'pkt hops/s (dyn)':>16}"
    )
    for n in (int(x) for x in args.sizes.split(",")):
        r = bench_size(n, args.seed)
        pps = packets_per_second(n, args.seed)
        print(
            f"{n:>6} {r['edges']:>6} {r['accuracy']:>6.4f} {r['sweeps']:>6} {r['samples']:>16,} "
            f"{r['train_s']:>9.1f} {r['handoffs_per_s']:>11,.0f} "
            f"{r['handoffs_per_s'] / base:>10.1f}"
            f" {pps:>16,.0f}",
            flush=True,
        )
    print("(simulated graphs and traffic; wall times depend on machine load)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
