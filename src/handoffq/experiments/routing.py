"""Experiment ``routing`` (paper section 5.3): IC-Q routers on random graphs.

**Static part.** For every graph family (Erdos-Renyi, Barabasi-Albert, Watts-Strogatz, chain),
size and seed, a team of IC-Q routers (tabular, zero-initialised - optimistic, since every hop
costs - greedy, step size 1) is trained with :class:`~handoffq.runtime.routing_sweep.RouterSweepRunner`
(``"probe"`` schedule: in each sweep every router hands one probe packet to each neighbour
for each destination and learns from the three-number replies, so the sweeps needed grow with
the diameter, not the degree) until a whole sweep leaves every router's table unchanged (or
``max-sweeps``). In a
deterministic network, a stable sweep certifies the greedy routes: the greedy entries are
consistent with the successors' values and every other entry is still an upper bound. Then
*routing accuracy* = the fraction of ordered ``(source, destination)`` pairs whose greedy route
delivers the packet along a shortest path. Baselines: the shortest-path oracle (1 by
construction; a check of the metric), a random walk (exact probability of following a
shortest path) and naive independent Q (own bootstrap; as many sweeps as IC-Q, capped at
``naive-sweeps``).

**Dynamic part** (beyond the paper). Packets injected at a Poisson load into the two-cluster
grid (:func:`~handoffq.envs.routing.two_cluster_grid`), FIFO queues serving one packet per step
(:mod:`handoffq.envs.routing_dynamic`). IC-Q (sees ``(destination, detained)``, replies when
it serves a packet), Boyan-Littman Q-routing (destination only, replies on arrival) and static
shortest paths. Both learners start from the routes learned offline at zero load (static
sweeps with ``gamma = 1``; detained rows start like the fresh ones) and keep learning online
with a constant step ``eta`` (default 0.05; greedy, no exploration at run time). A packet is
never handed straight back to the router it came from unless that is the only live link (the
simulator's loop guard, ``DynamicConfig.no_backtrack``, the same for every policy), and every
policy sees the same injected packet sequence (same seed). Mean delivery time of the packets injected after a warm-up
(the network is drained afterwards, so no delivery time is censored). Then a link failure
(the bridge link carrying most shortest paths) half-way through a run: delivery time before
and after. ``recovery_steps`` (a *settling* time): steps from the failure until the mean
delivery time (bins of ``bin`` steps, by delivery step), after first rising above the
threshold (0 if it never does), is back within ``(1 + tol)`` of the
larger of its own pre-failure level and its own post-failure steady level (the mean over the
last quarter of the run) and stays there for three more bins (``None`` - JSON null - if it
never is). It does *not* say the post-failure level is good: ``post_failure_level_ratio`` =
IC-Q's steady level / recomputed shortest paths' steady level, and the strict
``recovery_steps_to_shortest_path_level`` uses the oracle's level after the failure (shortest
paths recomputed on the new graph) instead of IC-Q's own. The
default failure load (1.0) leaves the one remaining bridge uncongested under shortest paths;
the highest default load (2.5) congests shortest paths (delivery time ~1.8x its low-load level)
without saturating a load-balancing policy. In development runs (1000 steps, seed 0) shortest
paths saturate at load 3.0, and IC-Q (``eta`` 0.02-0.1) is unstable there and worse still.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Literal, cast

import networkx as nx
import numpy as np

from handoffq.baselines.routing import (
    NaiveRoutingAgent,
    ShortestPathRouter,
    q_routing_team,
    random_walk_accuracy,
    shortest_path_next_hops,
)
from handoffq.config import ExperimentConfig, option
from handoffq.envs.routing import (
    FAMILIES,
    RoutingConfig,
    RoutingEnv,
    hop_distances,
    make_graph,
    route_accuracy,
    two_cluster_grid,
)
from handoffq.envs.routing_dynamic import DynamicConfig, DynamicResult, PacketNetwork
from handoffq.experiments.common import ExperimentError, RunContext, finish, write_config
from handoffq.experiments.plotting import pyplot, save
from handoffq.experiments.registry import Experiment, register
from handoffq.learn.estimators import TabularEstimator
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime.routing_sweep import RouterSweepRunner

__all__ = [
    "SIMULATED_NOTE",
    "greedy_tables",
    "pair_accuracy",
    "recovery_steps",
    "run",
    "train_static",
]

SIMULATED_NOTE = (
    "Routing is simulated: synthetic random graphs, a simulated packet network with FIFO "
    "queues and Poisson injection; no real network traffic."
)


# ------------------------------------------------------------------ static part
def greedy_tables(team: list[Any], n: int, flags: tuple[int, ...] = (0,)) -> list[np.ndarray]:
    """Each router's greedy successor per destination, one ``(N, N)`` table per flag."""
    tables = []
    for f in flags:
        tab = np.tile(np.arange(n)[:, None], (1, n))
        obs = np.stack([np.arange(n), np.full(n, f)], axis=1)
        for i, agent in enumerate(team):
            q = agent.q.values_batch(obs)
            tab[i] = np.asarray(agent.candidates)[np.argmax(q, axis=1)]
        tables.append(tab)
    return tables


def pair_accuracy(good: np.ndarray) -> float:
    """Mean of a per-pair ``(N, N)`` score over ``s != d``."""
    n = good.shape[0]
    off = ~np.eye(n, dtype=bool)
    return float(np.asarray(good, float)[off].mean())


def _tables(team: list[Any]) -> list[np.ndarray]:
    return [a.q.table.copy() for a in team]


def train_static(
    graph: nx.Graph,
    cfg: RoutingConfig,
    seed: int,
    max_sweeps: int,
    agent_cls: type | None = None,
    sweeps: int | None = None,
    stop_when_stable: bool = True,
) -> tuple[list[Any], RouterSweepRunner, bool]:
    """Train a router team with sweeps; returns ``(team, runner, stable)``.

    Deterministic networks (``detain_prob = 0``) use step size 1 and stop at the first sweep
    that changes no table; otherwise visit-count steps ``1 / n^0.7`` for ``max_sweeps``.
    ``sweeps`` forces an exact number of sweeps (used to give baselines the same budget).
    """
    stochastic = cfg.detain_prob > 0
    schedule = StepSize("visits", a0=1.0, power=0.7) if stochastic else StepSize("constant", a0=1.0)
    kwargs: dict[str, Any] = {"agent_cls": agent_cls} if agent_cls is not None else {}
    team = make_team(
        RoutingEnv(graph, cfg),
        seed=seed,
        exploration=Exploration(epsilon=0.0),
        schedule=schedule,
        **kwargs,
    )
    runner = RouterSweepRunner(graph, team, cfg, seed=seed + 1)
    stable = False
    limit = sweeps if sweeps is not None else max_sweeps
    while runner.sweeps < limit:
        before = _tables(team) if stop_when_stable and not stochastic and sweeps is None else None
        runner.sweep()
        pairs = zip(team, before or [], strict=False)
        if before is not None and all(np.array_equal(a.q.table, b) for a, b in pairs):
            stable = True
            break
    return team, runner, stable


def _static_cell(
    family: str, n: int, seed: int, cfg: RoutingConfig, max_sweeps: int, naive_sweeps: int
) -> dict[str, Any]:
    t0 = time.perf_counter()
    graph = make_graph(family, n, seed=seed)
    env = RoutingEnv(graph, cfg)
    g = env.graph
    dist = hop_distances(g)
    flags = (0, 1) if cfg.detain_prob > 0 else (0,)
    team, runner, stable = train_static(graph, cfg, seed, max_sweeps)
    train_s = time.perf_counter() - t0
    acc = pair_accuracy(route_accuracy(greedy_tables(team, n, flags), dist))
    naive, _, _ = train_static(
        graph,
        cfg,
        seed,
        max_sweeps,
        agent_cls=NaiveRoutingAgent,
        sweeps=min(runner.sweeps, naive_sweeps),
    )
    naive_acc = pair_accuracy(route_accuracy(greedy_tables(naive, n, flags), dist))
    sp_acc = pair_accuracy(route_accuracy([shortest_path_next_hops(g, dist)], dist))
    rw_acc = pair_accuracy(random_walk_accuracy(g, dist))
    degs = [d for _, d in g.degree()]
    return {
        "part": "static",
        "family": family,
        "n": n,
        "seed": seed,
        "edges": g.number_of_edges(),
        "diameter": int(dist.max()),
        "max_degree": max(degs),
        "accuracy": acc,
        "naive_accuracy": naive_acc,
        "random_walk_accuracy": rw_acc,
        "shortest_path_accuracy": sp_acc,
        "sweeps": runner.sweeps,
        "stable": stable,
        "handoffs": runner.stats.handoffs,
        "messages": runner.stats.messages,
        "train_s": round(train_s, 3),
    }


# ----------------------------------------------------------------- dynamic part
def _pretrained(graph: nx.Graph, seed: int, max_sweeps: int) -> list[np.ndarray]:
    """Zero-load estimates per router (flag-0 rows), learned with static sweeps, gamma = 1."""
    team, _, _ = train_static(graph, RoutingConfig(gamma=1.0), seed, max_sweeps)
    return [a.q.table[0::2].copy() for a in team]


def _icq_team(graph: nx.Graph, pre: list[np.ndarray], eta: float, seed: int) -> list[Any]:
    team = make_team(
        RoutingEnv(graph, RoutingConfig(gamma=1.0)),
        seed=seed,
        exploration=Exploration(epsilon=0.0),
        schedule=StepSize("constant", a0=eta),
    )
    for agent, table in zip(team, pre, strict=True):
        q = cast(TabularEstimator, agent.q)
        q.table[0::2] = table
        q.table[1::2] = table  # a detained packet starts with the fresh packet's estimate
    return team


def _bl_team(graph: nx.Graph, pre: list[np.ndarray], eta: float, seed: int) -> list[Any]:
    team = q_routing_team(graph, eta=eta, seed=seed)
    for agent, table in zip(team, pre, strict=True):
        cast(TabularEstimator, agent.q).table[:] = table
    return team


def _sp_team(graph: nx.Graph) -> tuple[list[ShortestPathRouter], Any]:
    table = shortest_path_next_hops(graph, hop_distances(graph))
    team = [ShortestPathRouter(i, sorted(graph.neighbors(i)), table[i]) for i in range(graph.number_of_nodes())]

    def on_failure(g: nx.Graph) -> None:
        new = shortest_path_next_hops(g, hop_distances(g))
        for i, r in enumerate(team):
            r.set_table(new[i])

    return team, on_failure


def _run_method(
    method: str, graph: nx.Graph, pre: list[np.ndarray], dcfg: DynamicConfig, eta: float, seed: int
) -> DynamicResult:
    on_failure = None
    timing, obs_kind = "service", "dest_flag"
    if method == "ic_q":
        team: list[Any] = _icq_team(graph, pre, eta, seed)
    elif method == "q_routing":
        team = _bl_team(graph, pre, eta, seed)
        timing, obs_kind = "arrival", "dest"
    else:
        team, on_failure = _sp_team(graph)
        timing = "none"
    net = PacketNetwork(graph, team, dcfg, seed=seed + 1000, on_failure=on_failure, timing=timing, obs_kind=obs_kind)
    return net.run()


def binned_delivery(res: DynamicResult, bin_steps: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean delivery time per bin of delivery steps ``[0, end)`` (nan for empty bins)."""
    ok = (res.delivered >= 0) & (res.delivered < end)
    times = (res.delivered - res.birth)[ok]
    b = res.delivered[ok] // bin_steps
    nb = int(np.ceil(end / bin_steps))
    sums = np.bincount(b, weights=times, minlength=nb)[:nb]
    cnt = np.bincount(b, minlength=nb)[:nb]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.arange(nb) * bin_steps, sums / cnt


def recovery_steps(
    starts: np.ndarray, means: np.ndarray, fail_at: int, threshold: float, hold: int = 3
) -> int | None:
    """Steps from ``fail_at`` to recovery: the start of the first bin, after the degradation,
    whose mean and the next ``hold`` bins' means are all ``<= threshold``.

    The degradation is the first bin at or after ``fail_at`` whose mean exceeds the threshold
    (a failure's effect can take a while to build up, so the search starts there); when no bin
    does, the result is 0. ``None`` if the means never come back; empty (nan) bins count as
    not recovered.
    """
    idx = np.flatnonzero(starts >= fail_at)
    over = [j for j in idx if not means[j] <= threshold]
    if not over:
        return 0
    for j in idx[idx >= over[0]]:
        window = means[j : j + hold + 1]
        if len(window) == hold + 1 and np.all(np.nan_to_num(window, nan=np.inf) <= threshold):
            return int(starts[j] - fail_at)
    return None


def _failure_edge(graph: nx.Graph) -> tuple[int, int]:
    """The link carrying the most shortest paths whose loss keeps the graph connected."""
    eb = nx.edge_betweenness_centrality(graph)
    for (u, v), _ in sorted(eb.items(), key=lambda kv: (-kv[1], kv[0])):
        g2 = graph.copy()
        g2.remove_edge(u, v)
        if nx.is_connected(g2):
            return (int(min(u, v)), int(max(u, v)))
    raise ExperimentError("every link of the dynamic graph is a bridge: no failure can be simulated")


# ------------------------------------------------------------------------ figures
def _figures(
    ctx: RunContext,
    static_rows: list[dict[str, Any]],
    dyn_rows: list[dict[str, Any]],
    route_graph: tuple[nx.Graph, list[Any]] | None,
    fail: dict[str, Any] | None,
) -> None:
    plt = pyplot()
    if static_rows:
        fams = [f for f in FAMILIES if any(r["family"] == f for r in static_rows)]
        keys = [
            ("accuracy", "IC-Q"),
            ("naive_accuracy", "naive Q"),
            ("random_walk_accuracy", "random walk"),
        ]
        fig, ax = plt.subplots(figsize=(7, 4))
        w = 0.8 / len(keys)
        for j, (k, label) in enumerate(keys):
            vals = [np.mean([r[k] for r in static_rows if r["family"] == f]) for f in fams]
            ax.bar(np.arange(len(fams)) + j * w, vals, w, label=label)
        ax.set_xticks(np.arange(len(fams)) + w, fams)
        ax.set_ylabel("routing accuracy (shortest-path pairs)")
        ax.set_ylim(0, 1.05)
        ax.legend()
        ax.set_title("Static routing accuracy per family (simulated)")
        fig.tight_layout()
        save(fig, ctx.out / "accuracy_per_family.png")
    if dyn_rows:
        fig, ax = plt.subplots(figsize=(6, 4))
        for m, label in (
            ("ic_q", "IC-Q"),
            ("q_routing", "Q-routing (Boyan-Littman)"),
            ("shortest_path", "shortest path"),
        ):
            rows = [r for r in dyn_rows if r["method"] == m]
            ax.plot(
                [r["load"] for r in rows],
                [r["mean_delivery_time"] for r in rows],
                "o-",
                label=label,
            )
        ax.set_xlabel("load (packets injected per step)")
        ax.set_ylabel("mean delivery time (steps)")
        ax.set_yscale("log")
        ax.legend()
        ax.set_title("Delivery time vs load, two-cluster grid (simulated)")
        fig.tight_layout()
        save(fig, ctx.out / "delivery_vs_load.png")
    if fail is not None:
        fig, ax = plt.subplots(figsize=(6, 4))
        for m, (starts, means) in fail["curves"].items():
            ax.plot(starts, means, label=m)
        ax.axvline(fail["fail_at"], color="k", ls="--", lw=1, label="link fails")
        ax.set_xlabel("delivery step")
        ax.set_ylabel("mean delivery time (per bin)")
        ax.legend()
        ax.set_title(f"Link failure at load {fail['load']} (simulated)")
        fig.tight_layout()
        save(fig, ctx.out / "failure_recovery.png")
    if route_graph is not None:
        g, team = route_graph
        n = g.number_of_nodes()
        dest = int(np.argmax([d for _, d in g.degree()]))
        nh = greedy_tables(team, n)[0][:, dest]
        pos = nx.spring_layout(g, seed=0)
        fig, ax = plt.subplots(figsize=(6, 6))
        nx.draw_networkx_edges(g, pos, ax=ax, alpha=0.15)
        arrows = [(i, int(nh[i])) for i in range(n) if i != dest]
        nx.draw_networkx_edges(nx.DiGraph(arrows), pos, ax=ax, edge_color="tab:blue", arrows=True, arrowsize=8)
        nx.draw_networkx_nodes(g, pos, ax=ax, node_size=30, node_color="lightgray")
        nx.draw_networkx_nodes(g, pos, nodelist=[dest], ax=ax, node_size=120, node_color="tab:red")
        ax.set_title(f"Learned greedy routes to node {dest} (red), Barabasi-Albert n={n} (simulated)")
        ax.axis("off")
        fig.tight_layout()
        save(fig, ctx.out / "learned_routes.png")


# --------------------------------------------------------------------------- run
def _ints(text: str, name: str) -> list[int]:
    try:
        return [int(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ExperimentError(f"option --{name}: expected comma-separated integers, got {text!r}") from None


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ExperimentError(f"option --{name}: expected comma-separated numbers, got {text!r}") from None


@dataclasses.dataclass(frozen=True)
class RoutingExperimentConfig(ExperimentConfig):
    """Routing experiment settings (defaults: the full preset; :meth:`quick` the CI preset)."""

    families: tuple[str, ...] = option(FAMILIES, "graph families of the static part", choices=FAMILIES)
    sizes: tuple[int, ...] = option((20, 100), "graph sizes (routers) of the static part", min=2)
    seeds: int = option(5, "graphs per family and size", min=1)
    gamma: float = option(0.99, "discount of the static part", above=0.0, max=1.0)
    detain_prob: float = option(0.0, "probability that a packet is detained at a router", min=0.0, max=0.999)
    max_sweeps: int = option(400, "sweep cap of static training", min=1)
    naive_sweeps: int = option(400, "sweeps of the naive baseline (capped by IC-Q's)", min=1)
    parts: Literal["all", "static", "dynamic"] = option("all", "which parts to run")
    loads: tuple[float, ...] = option((0.5, 1.0, 1.5, 2.0, 2.5), "offered loads (packets per step)", min=0.0)
    steps: int = option(8000, "injection steps per load", min=10)
    warmup: int = option(2000, "steps before delivery times count", min=0)
    eta: float = option(0.05, "step size of IC-Q and Q-routing under load", above=0.0, max=1.0)
    fail_load: float = option(1.0, "load of the link-failure run", min=0.0)
    fail_steps: int = option(10000, "steps of the link-failure run", min=10)
    bin: int = option(200, "steps per bin of the failure trace", min=1)
    tol: float = option(0.25, "recovery tolerance (within 1 + tol of the reference level)", above=0.0)

    @classmethod
    def quick(cls) -> RoutingExperimentConfig:
        """CI-sized preset."""
        return cls(seeds=3, naive_sweeps=30, loads=(1.0, 2.0, 2.5), steps=1000, warmup=250, fail_steps=4000,
                   bin=50)


def run(config: RoutingExperimentConfig, ctx: RunContext) -> dict[str, Any]:
    """Run the static and dynamic routing experiments; write outputs; return the summary."""
    c = config
    families, sizes, n_seeds = list(c.families), list(c.sizes), c.seeds
    max_sweeps, naive_sweeps, parts, loads = c.max_sweeps, c.naive_sweeps, c.parts, list(c.loads)
    steps, warmup, eta, fail_load, fail_steps = c.steps, c.warmup, c.eta, c.fail_load, c.fail_steps
    bin_steps, tol, detain = c.bin, c.tol, c.detain_prob
    cfg = RoutingConfig(gamma=c.gamma, detain_prob=c.detain_prob)
    write_config("routing", config, ctx, True, SIMULATED_NOTE)

    static_rows: list[dict[str, Any]] = []
    route_graph = None
    if parts in ("all", "static"):
        cells = [(f, n, s) for f in families for n in sizes for s in range(n_seeds)]
        with ctx.bar("routing: static cells", len(cells)) as advance:
            for f, n, s in cells:
                static_rows.append(_static_cell(f, n, ctx.seed + s, cfg, max_sweeps, naive_sweeps))
                advance(1)
        if "barabasi_albert" in families:
            n_draw = min(max(sizes), 60)
            g = make_graph("barabasi_albert", n_draw, seed=ctx.seed)
            team, _, _ = train_static(g, cfg, ctx.seed, max_sweeps)
            route_graph = (RoutingEnv(g, cfg).graph, team)

    dyn_rows: list[dict[str, Any]] = []
    fail = None
    summary_dyn: dict[str, Any] = {}
    if parts in ("all", "dynamic"):
        grid = two_cluster_grid(6, 6, bridges=(1, 5))
        pre = _pretrained(grid, ctx.seed, max_sweeps)
        methods = ("ic_q", "q_routing", "shortest_path")
        with ctx.bar("routing: loads", len(loads) * len(methods)) as advance:
            for load in loads:
                dcfg = DynamicConfig(load=load, steps=steps, drain=10 * steps, no_backtrack=True)
                for m in methods:
                    t0 = time.perf_counter()
                    res = _run_method(m, grid, pre, dcfg, eta, ctx.seed)
                    dt = res.delivery_times(warmup, steps)
                    dyn_rows.append(
                        {
                            "part": "dynamic",
                            "method": m,
                            "load": load,
                            "mean_delivery_time": float(dt.mean()),
                            "p90_delivery_time": float(np.percentile(dt, 90)),
                            "packets": len(dt),
                            "undelivered": res.in_flight_end,
                            "refused": res.refused,
                            "mean_hops": float(res.hops[res.hops >= 0].mean()),
                            "run_s": round(time.perf_counter() - t0, 2),
                        }
                    )
                    advance(1)
        top = max(loads)
        by = {r["method"]: r["mean_delivery_time"] for r in dyn_rows if r["load"] == top}
        summary_dyn["high_load_ratio"] = by["ic_q"] / by["shortest_path"]
        summary_dyn["high_load_ratio_q_routing"] = by["q_routing"] / by["shortest_path"]
        summary_dyn["highest_load"] = top

        edge = _failure_edge(grid)
        fail_at = fail_steps // 2
        fcfg = DynamicConfig(
            load=fail_load,
            steps=fail_steps,
            drain=10 * fail_steps,
            fail_at=fail_at,
            fail_edge=edge,
            no_backtrack=True,
        )
        curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        fail_info: dict[str, Any] = {}
        results: dict[str, DynamicResult] = {}
        with ctx.bar("routing: link failure", len(methods)) as advance:
            for m in methods:
                results[m] = _run_method(m, grid, pre, fcfg, eta, ctx.seed)
                advance(1)
        # the level to recover to: the oracle's (recomputed shortest paths) after the failure
        oracle_after = float(results["shortest_path"].delivery_times(fail_at, fail_steps).mean())
        for m in methods:
            res = results[m]
            starts, means = binned_delivery(res, bin_steps, fail_steps)
            curves[m] = (starts, means)
            before = res.delivery_times(warmup, fail_at)
            final = res.delivery_times(fail_steps - fail_steps // 4, fail_steps)
            # settling: back within (1 + tol) of its own post-failure steady level (the last
            # quarter of the run) - or of its pre-failure level if that is higher
            thr = (1.0 + tol) * max(float(before.mean()), float(final.mean()))
            rec = recovery_steps(starts, means, fail_at, thr)
            # the strict version: back within (1 + tol) of the recomputed shortest paths' level
            thr_sp = (1.0 + tol) * max(float(before.mean()), oracle_after)
            rec_sp = recovery_steps(starts, means, fail_at, thr_sp)
            after = res.delivery_times(fail_at + (rec or 0), fail_steps)
            fail_info[m] = {
                "before": float(before.mean()),
                "after": float(after.mean()),
                "final": float(final.mean()),
                "recovery_steps": rec,
                "threshold": thr,
                "recovery_steps_to_shortest_path_level": rec_sp,
                "threshold_shortest_path_level": thr_sp,
                "peak_after": float(np.nanmax(means[starts >= fail_at])),
            }
            dyn_rows.append(
                {
                    "part": "failure",
                    "method": m,
                    "load": fail_load,
                    "mean_delivery_time": float(after.mean()),
                    "before_failure": float(before.mean()),
                    "after_failure": float(after.mean()),
                    "recovery_steps": rec,
                    "recovery_steps_to_shortest_path_level": rec_sp,
                    "failed_link": f"{edge[0]}-{edge[1]}",
                    "fail_at": fail_at,
                }
            )
        fail = {"curves": curves, "fail_at": fail_at, "load": fail_load}
        summary_dyn["recovery_steps"] = fail_info["ic_q"]["recovery_steps"]
        summary_dyn["recovery_steps_to_shortest_path_level"] = fail_info["ic_q"][
            "recovery_steps_to_shortest_path_level"
        ]
        # IC-Q's post-failure steady level relative to recomputed shortest paths' (> 1: worse)
        summary_dyn["post_failure_level_ratio"] = (
            fail_info["ic_q"]["final"] / fail_info["shortest_path"]["final"]
        )
        summary_dyn["failure"] = {m: fail_info[m] for m in methods}
        summary_dyn["failed_link"] = list(edge)

    summary: dict[str, Any] = {}
    if static_rows:
        fams = [f for f in families]
        summary["accuracy"] = {
            f: float(np.mean([r["accuracy"] for r in static_rows if r["family"] == f])) for f in fams
        }
        summary["min_accuracy"] = float(min(r["accuracy"] for r in static_rows))
        summary["naive_accuracy"] = {
            f: float(np.mean([r["naive_accuracy"] for r in static_rows if r["family"] == f])) for f in fams
        }
        summary["random_walk_accuracy"] = {
            f: float(np.mean([r["random_walk_accuracy"] for r in static_rows if r["family"] == f])) for f in fams
        }
        summary["shortest_path_accuracy"] = float(min(r["shortest_path_accuracy"] for r in static_rows))
        summary["all_stable"] = all(r["stable"] for r in static_rows) if detain == 0 else None
        summary["mean_sweeps"] = {
            f: float(np.mean([r["sweeps"] for r in static_rows if r["family"] == f])) for f in fams
        }
    summary.update(summary_dyn)
    if static_rows and dyn_rows:
        summary["dynamic_delivery_time"] = {
            f"{r['method']}@{r['load']}": r["mean_delivery_time"] for r in dyn_rows if r["part"] == "dynamic"
        }
    summary = finish(ctx, static_rows + dyn_rows, summary, True, SIMULATED_NOTE)
    _figures(ctx, static_rows, [r for r in dyn_rows if r["part"] == "dynamic"], route_graph, fail)
    return summary


register(
    Experiment(
        name="routing",
        description="IC-Q routers on random graphs: static accuracy per family, delivery time "
        "under load vs Q-routing and shortest paths, recovery after a link failure (simulated).",
        config=RoutingExperimentConfig,
        run=run,
        headline=("min_accuracy", "high_load_ratio", "recovery_steps"),
    )
)
