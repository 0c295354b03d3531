"""The link-failure part: the busiest bridge of the BL36 grid fails for good under load.

After each method's warm-up, ``fail_after`` steps at ``fail_load``, then the link with the
highest edge betweenness whose loss keeps the graph connected (``20 - 21``) goes down; packets on
it are lost. Delivery-time curve: bins of ``bin_steps`` delivery steps.
``recovery_steps_to_shortest_path_level``: steps from the failure until the binned mean, after
rising above the threshold (0 if it never does), is back within ``(1 + tol)`` of the reference
level and stays there for ``hold`` more bins; the reference is the recomputed shortest paths'
level (the mean over the last quarter of their run after the failure) or the method's own level
before the failure if that is higher. The worst seed is reported. ``post_failure_level_ratio``:
IC-Q's final level (last quarter) over shortest paths'. ``packets_lost_while_converging``: TTL
drops, link losses and refusals during the steps after the failure, counted when they happen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handoffq.envs.packet_network import LinkEvent, PacketNetwork, SimResult
from handoffq.experiments.common import RunContext
from handoffq.experiments.routing.config import RoutingExperimentConfig
from handoffq.experiments.routing.load import Warmed, continue_run, seed_band
from handoffq.experiments.routing.metrics import binned_delivery, busiest_bridge, recovery_steps

__all__ = ["run_failure", "run_link_failure"]


def run_link_failure(warm: PacketNetwork, edge: tuple[int, int], cfg: RoutingExperimentConfig,
                     seed: int) -> SimResult:
    """After the warm-up, ``fail_after`` steps at ``fail_load``; then the link fails for good."""
    t0 = warm.t
    total = cfg.fail_after + cfg.fail_steps
    return continue_run(warm, ((t0, cfg.fail_load),), total, drain=10 * total,
                        events=(LinkEvent(t0 + cfg.fail_after, *edge),), seed=seed + 32452843)


def _per_seed(res: SimResult, seed: int, ref: float, cfg: RoutingExperimentConfig) -> tuple[dict[str, Any], np.ndarray]:
    t0 = cfg.warm_steps
    fail_at, end = t0 + cfg.fail_after, t0 + cfg.fail_after + cfg.fail_steps
    settle = end - cfg.fail_steps // 4
    starts, means = binned_delivery(res, cfg.bin_steps, t0, end)
    before = float(res.delivery_times(t0, fail_at).mean())
    rec = recovery_steps(starts, means, fail_at, (1 + cfg.tol) * max(ref, before), cfg.hold)
    lost = res.losses(fail_at, end)
    row = {"seed": seed, "before": before, "final": float(res.delivery_times(settle, end).mean()),
           "recovery_steps_to_shortest_path_level": rec,
           "lost_while_converging": lost["lost_ttl"] + lost["lost_link"] + lost["refused"], **lost}
    return row, means


def run_failure(cfg: RoutingExperimentConfig, ctx: RunContext, warmed: Warmed
                ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The failure run of every detail method and seed: rows, summary keys, figure data."""
    edge = busiest_bridge(warmed.graph)
    seeds = [ctx.seed + k for k in range(cfg.load_seeds)]
    results: dict[str, list[SimResult]] = {}
    with ctx.bar("routing: link failure", len(cfg.detail_methods) * len(seeds)) as advance:
        for m in cfg.detail_methods:
            results[m] = []
            for s in seeds:
                results[m].append(run_link_failure(warmed(m, s), edge, cfg, s))
                advance(1)
    end = cfg.warm_steps + cfg.fail_after + cfg.fail_steps
    settle = end - cfg.fail_steps // 4
    ref = float(np.mean([r.delivery_times(settle, end).mean() for r in results["shortest_path"]]))
    rows: list[dict[str, Any]] = []
    info: dict[str, Any] = {}
    curves: dict[str, list[np.ndarray]] = {}
    for m in cfg.detail_methods:
        per, means = zip(*(_per_seed(res, s, ref, cfg) for s, res in zip(seeds, results[m])))
        recs = [p["recovery_steps_to_shortest_path_level"] for p in per]
        final = float(np.mean([p["final"] for p in per]))
        info[m] = {"per_seed": list(per), "final_level": final, "final_over_sp": final / ref,
                   "recovery_steps_to_shortest_path_level": None if None in recs else float(max(recs)),
                   "lost_while_converging": float(np.mean([p["lost_while_converging"] for p in per]))}
        rows += [{"part": "failure", "method": m, **p} for p in per]
        curves[m] = list(means)
        ctx.log(f"failure {m}: final {final:.2f} (shortest paths {ref:.2f}), recovery {recs}")
    summary: dict[str, Any] = {"failed_link": list(edge), "failure_shortest_path_level": ref, "failure": info,
                               "packets_lost_while_converging": {m: info[m]["lost_while_converging"] for m in info}}
    if "ic_q" in info:
        summary["recovery_steps_to_shortest_path_level"] = info["ic_q"]["recovery_steps_to_shortest_path_level"]
        summary["post_failure_level_ratio"] = info["ic_q"]["final_over_sp"]
    # bin centres, relative to the failure
    starts = np.arange(len(next(iter(curves.values()))[0])) * cfg.bin_steps + cfg.bin_steps / 2 - cfg.fail_after
    figs = {"failure": {"steps": starts, **seed_band(curves), "edge": list(edge), "load": cfg.fail_load,
                        "shortest_path_level": ref, "tol": cfg.tol}}
    return rows, summary, figs
