"""The load part: Boyan and Littman's 36-node grid under load, the load trace, random graphs.

Every learner starts from empty tables and first routes at a moderate load ``warm_load`` for
``warm_steps`` steps (its own routes, learned from packets; nobody is given routes); the state
after this warm-up is copied into every test of that method and seed: each load level
(``load_steps`` steps; the delivery times of the packets injected in the last ``measure_steps``
are averaged, and every packet is drained, so no time is censored), the three-phase load trace
and the link failure (:mod:`~handoffq.experiments.routing.failure`). Every method sees the same
offered packets for a seed.

Methods (:data:`LABELS`): IC-Q (:class:`~handoffq.learn.router_load.ICQLoadTeam`; by default it
observes the destination and the *length* of the packet's detention - its own queue position,
beyond the paper's binary flag), shortest paths (the oracle), and the Q-routing family
(:mod:`~handoffq.baselines.q_routing_family`). Beside the headline, on the same cells: IC-Q with
the paper's binary flag (``ic_q_flag``), Q-routing given IC-Q's observation
(``q_routing_same_obs``) and IC-Q with another step size (``ic_q_alt_step``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np

from handoffq.baselines.q_routing_family import (
    ConfidenceQRoutingTeam,
    DualQRoutingTeam,
    PredictiveQRoutingTeam,
    QRoutingTeam,
    RandomWalkTeam,
    ShortestPathTeam,
)
from handoffq.core.packets import PacketTeam
from handoffq.envs.packet_network import LinkEvent, LoadConfig, PacketNetwork, SimResult
from handoffq.envs.routing import make_graph
from handoffq.experiments.common import RunContext
from handoffq.experiments.routing.config import RoutingExperimentConfig
from handoffq.experiments.routing.metrics import binned_delivery, sp_saturation_load
from handoffq.experiments.stats import mean_ci
from handoffq.learn.router_load import ICQLoadTeam

__all__ = [
    "LABELS",
    "Warmed",
    "continue_run",
    "make_team",
    "method_obs",
    "run_load",
    "run_load_level",
    "run_load_trace",
    "run_random",
    "seed_band",
    "warm_state",
]

LABELS = {
    "ic_q": "IC-Q (this library)",
    "ic_q_flag": "IC-Q seeing only a busy flag (the paper's)",
    "ic_q_alt_step": "IC-Q with another step size",
    "shortest_path": "Shortest paths (fixed, computed by an oracle)",
    "q_routing": "Q-routing (Boyan & Littman 1994)",
    "q_routing_same_obs": "Q-routing that also sees its queue",
    "pq_routing": "Predictive Q-routing (Choi & Yeung 1996)",
    "drq_routing": "Dual Q-routing (Kumar & Miikkulainen 1997)",
    "cq_routing": "Confidence Q-routing (Kumar & Miikkulainen 1998)",
    "random_walk": "Random walk",
}
RATIO_KEYS = (("shortest_path", "sp"), ("q_routing", "qrouting"), ("pq_routing", "pq"), ("drq_routing", "drq"),
              ("cq_routing", "cq"))


def make_team(method: str, cfg: RoutingExperimentConfig, seed: int) -> PacketTeam:
    """A fresh team of ``method`` (empty tables)."""
    makers: dict[str, Callable[[], PacketTeam]] = {
        "ic_q": lambda: ICQLoadTeam(cfg.icq, seed=seed),
        "ic_q_flag": lambda: ICQLoadTeam(cfg.icq, seed=seed),
        "ic_q_alt_step": lambda: ICQLoadTeam(dataclasses.replace(cfg.icq, step=cfg.icq_alt_step), seed=seed),
        "shortest_path": ShortestPathTeam,
        "random_walk": lambda: RandomWalkTeam(seed=seed),
        "q_routing": lambda: QRoutingTeam(cfg.q_eta, seed=seed),
        "q_routing_same_obs": lambda: QRoutingTeam(cfg.q_eta, seed=seed, observe_detention=True),
        "pq_routing": lambda: PredictiveQRoutingTeam(cfg.q_eta, cfg.pq_beta, cfg.pq_gamma, seed=seed),
        "drq_routing": lambda: DualQRoutingTeam(cfg.q_eta, seed=seed),
        "cq_routing": lambda: ConfidenceQRoutingTeam(cfg.cq_decay, seed=seed),
    }
    if method not in makers:
        raise ValueError(f"unknown routing method {method!r}")
    return makers[method]()


def method_obs(method: str, cfg: RoutingExperimentConfig) -> str:
    """What the method's routers observe of a packet (the network's ``obs_kind``)."""
    if method == "ic_q_flag":
        return "dest_flag"
    return cfg.icq_obs if method in ("ic_q", "ic_q_alt_step") else "dest"


def warm_state(graph: nx.Graph, method: str, cfg: RoutingExperimentConfig, seed: int,
               warm_load: float | None = None) -> PacketNetwork:
    """Empty tables, then ``warm_steps`` steps at ``warm_load`` (routes learned from packets)."""
    lc = LoadConfig(load=cfg.warm_load if warm_load is None else warm_load, steps=10**9, drain=0,
                    capacity=cfg.capacity, ttl=cfg.ttl)
    net = PacketNetwork(graph, make_team(method, cfg, seed), lc, seed=seed + 7919, obs_kind=method_obs(method, cfg))
    for _ in range(cfg.warm_steps):
        net.step()
    return net


def continue_run(warm: PacketNetwork, phases: tuple[tuple[int, float], ...], steps: int, drain: int,
                 events: tuple[LinkEvent, ...] = (), seed: int | None = None) -> SimResult:
    """Copy a warmed-up network and run it on (``phases`` and ``events`` in absolute steps)."""
    net = copy.deepcopy(warm)
    net.config = dataclasses.replace(net.config, load=phases[0][1], phases=phases, steps=net.t + steps, drain=drain,
                                     link_events=events)
    if seed is not None:
        net.inj_rng, net.rng = (np.random.default_rng(x) for x in np.random.SeedSequence(seed).spawn(2))
    return net.run()


class Warmed:
    """Warm-up states per ``(method, seed)`` on one graph, computed once and shared by the parts."""

    def __init__(self, graph: nx.Graph, cfg: RoutingExperimentConfig) -> None:
        self.graph, self.cfg = graph, cfg
        self._states: dict[tuple[str, int], PacketNetwork] = {}

    def __call__(self, method: str, seed: int) -> PacketNetwork:
        """The warmed network of ``method`` for ``seed`` (a fresh copy is made by each test)."""
        if (method, seed) not in self._states:
            self._states[(method, seed)] = warm_state(self.graph, method, self.cfg, seed)
        return self._states[(method, seed)]


def seed_band(per_seed: dict[str, list[np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
    """Binned curves over seeds, per method: the mean (``curves``) and the range (``low``, ``high``)
    of the seeds' curves (nan where no seed delivered a packet in a bin)."""
    out: dict[str, dict[str, np.ndarray]] = {"curves": {}, "low": {}, "high": {}}
    for m, curves in per_seed.items():
        a = np.asarray(curves, float)
        some = ~np.all(np.isnan(a), axis=0)
        for key, f in (("curves", np.nanmean), ("low", np.nanmin), ("high", np.nanmax)):
            v = np.full(a.shape[1], np.nan)
            v[some] = f(a[:, some], axis=0)
            out[key][m] = v
    return out


def _finite_mean(x: Any) -> float:
    a = np.asarray([v for v in x if v is not None and math.isfinite(v)], float)
    return float(a.mean()) if len(a) else float("nan")


def run_load_level(warm: PacketNetwork, load: float, cfg: RoutingExperimentConfig, seed: int) -> dict[str, Any]:
    """One load level after the warm-up: delivery times of the packets injected in the last
    ``measure_steps`` of ``load_steps`` steps (then drained)."""
    t0 = warm.t
    res = continue_run(warm, ((t0, load),), cfg.load_steps, drain=20 * cfg.load_steps, seed=seed + 104729)
    a, b = t0 + cfg.load_steps - cfg.measure_steps, t0 + cfg.load_steps
    dt = res.delivery_times(a, b)
    hops = res.hops[(res.birth >= a) & (res.birth < b) & (res.delivered >= 0)]
    return {
        "mean_delivery_time": float(dt.mean()) if len(dt) else float("nan"),
        "p90_delivery_time": float(np.percentile(dt, 90)) if len(dt) else float("nan"),
        "mean_hops": float(hops.mean()) if len(hops) else float("nan"),
        "scalars_per_delivered": res.scalars / max(1, int((res.delivered >= 0).sum())),
        **res.count(a, b),
    }


def run_load_trace(warm: PacketNetwork, cfg: RoutingExperimentConfig, seed: int) -> dict[str, Any]:
    """The load trace (e.g. 2.5 -> 3.5 -> 2.5): each phase's level (packets injected in its
    second half), the binned curve, and whether the last phase is back within ``1 + tol`` of
    the first phase's level."""
    t0, p = warm.t, cfg.trace_phase_steps
    phases = tuple((t0 + k * p, lo) for k, lo in enumerate(cfg.trace_loads))
    total = p * len(cfg.trace_loads)
    res = continue_run(warm, phases, total, drain=10 * total, seed=seed + 15485863)
    levels = [_finite_mean(res.delivery_times(t0 + k * p + p // 2, t0 + (k + 1) * p)) for k in range(len(phases))]
    starts, means = binned_delivery(res, cfg.bin_steps, t0, t0 + total)
    return {"levels": levels, "recovered": bool(levels[-1] <= (1 + cfg.tol) * levels[0]),
            "curve": (starts - t0 + cfg.bin_steps / 2, means), "lost": res.count(t0, t0 + total)}


# ----------------------------------------------------------------------- the parts
def _level_rows(cfg: RoutingExperimentConfig, ctx: RunContext, warmed: Warmed) -> list[dict[str, Any]]:
    top = max(cfg.loads)
    seeds = [ctx.seed + k for k in range(cfg.load_seeds)]
    cells = [(lo, m) for lo in cfg.loads for m in cfg.methods]
    cells += [(lo, m) for lo in cfg.loads for m in cfg.ablation_methods
              if m not in cfg.methods and (cfg.ablation_all_loads or lo == top)]
    rows = []
    with ctx.bar("routing: BL36 loads", len(cells) * len(seeds)) as advance:
        for load, m in cells:
            for s in seeds:
                t = time.perf_counter()
                r = run_load_level(warmed(m, s), load, cfg, s)
                rows.append({"part": "bl36_load", "method": m, "load": load, "seed": s, **r,
                             "run_s": round(time.perf_counter() - t, 2)})
                advance(1)
            ctx.log(f"BL36 load {load} {m}: " + ", ".join(f"{r['mean_delivery_time']:.1f}" for r in rows[-len(seeds):]))
    return rows


def _at(rows: list[dict[str, Any]], m: str, load: float) -> list[float]:
    return [r["mean_delivery_time"] for r in rows if r["method"] == m and r["load"] == load]


def summarise_load(rows: list[dict[str, Any]], cfg: RoutingExperimentConfig) -> tuple[dict[str, Any], dict[str, Any]]:
    """Summary keys and figure data of the load levels."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    top = max(cfg.loads)
    curves: dict[str, list[tuple[float, float, float, float]]] = {}
    for m in methods:
        pts = []
        for lo in cfg.loads:
            vals = [v for v in _at(rows, m, lo) if math.isfinite(v)]
            if vals:
                pts.append((lo, *mean_ci(vals)))
        curves[m] = pts
    by = {m: _finite_mean(_at(rows, m, top)) for m in methods}
    s: dict[str, Any] = {
        "bl36_highest_load": top,
        "bl36_delivery_time_at_highest_load": by,
        "bl36_delivery_time": {f"{m}@{lo}": mu for m in methods for lo, mu, _, _ in curves[m]},
        "bl36_delivery_time_ci95": {f"{m}@{lo}": hi - mu for m in methods for lo, mu, _, hi in curves[m]},
        "bl36_highest_load_per_seed": {m: _at(rows, m, top) for m in methods},
        "control_overhead_scalars_per_delivered": {
            m: _finite_mean([r["scalars_per_delivered"] for r in rows if r["method"] == m]) for m in methods},
        "bl36_lost_fraction": {m: _lost_fraction([r for r in rows if r["method"] == m]) for m in methods},
    }
    s.update(_ratios(by, cfg))
    return s, {"delivery_vs_load": {"curves": curves}}


def _ratios(by: dict[str, float], cfg: RoutingExperimentConfig) -> dict[str, Any]:
    """IC-Q's mean delivery time at the highest load over each other method's (and the ablations)."""
    out: dict[str, Any] = {}
    if "ic_q" in by:
        for m, key in RATIO_KEYS:
            if m in by:
                out[f"bl36_high_load_ratio_vs_{key}"] = by["ic_q"] / by[m]
        if "q_routing_same_obs" in by:
            out["bl36_high_load_ratio_vs_qrouting_same_obs"] = by["ic_q"] / by["q_routing_same_obs"]
        if "ic_q_alt_step" in by:
            out["bl36_high_load_step_sensitivity"] = {str(cfg.icq.step): by["ic_q"],
                                                      str(cfg.icq_alt_step): by["ic_q_alt_step"]}
    if "q_routing" in by:
        if "ic_q_flag" in by:
            out["bl36_high_load_ratio_vs_qrouting_flag"] = by["ic_q_flag"] / by["q_routing"]
        if "q_routing_same_obs" in by:
            out["bl36_high_load_ratio_qrouting_same_obs_vs_qrouting"] = by["q_routing_same_obs"] / by["q_routing"]
    return out


def _lost_fraction(rows: list[dict[str, Any]]) -> float:
    lost = sum(r["lost_ttl"] + r["lost_link"] + r["refused"] for r in rows)
    return float(lost / max(1, sum(r["injected"] + r["refused"] for r in rows)))


def run_load(cfg: RoutingExperimentConfig, ctx: RunContext, warmed: Warmed
             ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The load levels on the BL36 grid: rows, summary keys, figure data."""
    rows = _level_rows(cfg, ctx, warmed)
    summary, figs = summarise_load(rows, cfg)
    summary["bl36_sp_saturation_load"] = sp_saturation_load(warmed.graph)
    return rows, summary, figs


def run_trace(cfg: RoutingExperimentConfig, ctx: RunContext, warmed: Warmed
              ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """The load trace for every detail method and seed: rows, summary keys, figure data."""
    seeds = [ctx.seed + k for k in range(cfg.load_seeds)]
    tr: dict[str, list[dict[str, Any]]] = {}
    with ctx.bar("routing: load trace", len(cfg.detail_methods) * len(seeds)) as advance:
        for m in cfg.detail_methods:
            tr[m] = []
            for s in seeds:
                tr[m].append(run_load_trace(warmed(m, s), cfg, s))
                advance(1)
            ctx.log(f"trace {m}: " + "; ".join(str([round(x, 1) for x in t["levels"]]) for t in tr[m]))
    rows = [{"part": "trace", "method": m, "seed": s, "levels": t["levels"], "recovered": t["recovered"], **t["lost"]}
            for m in cfg.detail_methods for s, t in zip(seeds, tr[m])]
    levels = {m: [_finite_mean([t["levels"][k] for t in tr[m]]) for k in range(len(cfg.trace_loads))]
              for m in cfg.detail_methods}
    per_method = {m: bool(lv[-1] <= (1 + cfg.tol) * lv[0]) for m, lv in levels.items()}
    summary: dict[str, Any] = {"load_trace_levels": levels, "load_drop_recovered_per_method": per_method}
    if "ic_q" in tr:
        summary["load_drop_recovered"] = per_method["ic_q"]
        summary["load_drop_recovered_per_seed"] = [t["recovered"] for t in tr["ic_q"]]
    steps = tr[cfg.detail_methods[0]][0]["curve"][0]
    figs = {"load_trace": {"steps": steps, **seed_band({m: [t["curve"][1] for t in tr[m]] for m in cfg.detail_methods}),
                           "phase_steps": cfg.trace_phase_steps, "loads": list(cfg.trace_loads)}}
    return rows, summary, figs


def run_random(cfg: RoutingExperimentConfig, ctx: RunContext) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Random graphs under load, at multiples of each graph's shortest-path saturation load; the
    warm-up load is ``min(warm_load, 0.45 * saturation)``."""
    rows = []
    cells = [(f, ctx.seed + k) for f in cfg.random_families for k in range(cfg.random_seeds)]
    with ctx.bar("routing: random graphs", len(cells) * len(cfg.random_methods)) as advance:
        for fam, s in cells:
            g = make_graph(fam, cfg.random_n, seed=s)
            lam = sp_saturation_load(g)
            for m in cfg.random_methods:
                w = warm_state(g, m, cfg, s, warm_load=min(cfg.warm_load, 0.45 * lam))
                for fac in cfg.random_load_factors:
                    r = run_load_level(w, fac * lam, cfg, s)
                    rows.append({"part": "random_load", "family": fam, "seed": s, "method": m, "load": fac * lam,
                                 "load_factor": fac, "sp_saturation": lam, **r})
                advance(1)
            ctx.log(f"random {fam} seed {s} (saturation {lam:.2f}): " + ", ".join(
                f"{r['method']}@{r['load_factor']}={r['mean_delivery_time']:.1f}" for r in rows if r["seed"] == s
                and r["family"] == fam))
    summary = {"random_graphs_delivery_time": {
        f"{fam}|{m}@{fac}xsat": _finite_mean([r["mean_delivery_time"] for r in rows if r["family"] == fam
                                              and r["method"] == m and r["load_factor"] == fac])
        for fam in cfg.random_families for m in cfg.random_methods for fac in cfg.random_load_factors}}
    return rows, summary
