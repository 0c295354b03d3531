"""The static part: routes learned from packets on ER, BA, WS and chain graphs (paper section 5.3).

For every graph family, size and seed, a team of IC-Q routers (tabular, zero-initialised -
optimistic, since every hop costs - epsilon-greedy over neighbours, per-entry ``visits_offset``
step sizes) learns from packets sent between uniformly random ``(source, destination)`` pairs
(:class:`~handoffq.runtime.packet_episodes.EpisodicRouterTrainer`, on the shared episode loop;
``static_training = "episodic"``). Detention is on (``detain_prob = 0.5``), so a router observes
``(destination, detained)`` and must learn both rows. Training has a fixed *budget* of handoffs
per ordered pair; accuracy (all ordered pairs, both flag tables, against BFS shortest paths)
is measured at checkpoints. ``handoffs_to_full_accuracy`` is the first checkpoint from which
accuracy stays 1.0 up to the end of the budget (``None`` if it never does); with
``stop_after_full`` training stops once accuracy was 1.0 at that many consecutive checkpoints
(the rule uses the oracle, which the routers never see). Beside it, at the same number of
handoffs: naive independent Q (own bootstrap) and a random walk (exact probability).
``static_training = "bellman_ford"`` runs the probe schedule instead
(:class:`~handoffq.runtime.routing_sweep.RouterSweepRunner`: every router probes every
``(destination, neighbour)`` pair once per sweep, a distributed Bellman-Ford schedule).
"""

from __future__ import annotations

import time
from typing import Any

import networkx as nx
import numpy as np

from handoffq.baselines.routing import NaiveRoutingAgent, random_walk_accuracy, shortest_path_next_hops
from handoffq.envs.routing import RoutingConfig, RoutingEnv, hop_distances, make_graph, route_accuracy
from handoffq.experiments.common import RunContext
from handoffq.experiments.routing.config import RoutingExperimentConfig
from handoffq.experiments.routing.metrics import pair_accuracy, stays_full_from
from handoffq.learn.exploration import Exploration
from handoffq.learn.router_team import ICQRouterTeam, NaiveRouterTeam, greedy_next_hops
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime.packet_episodes import EpisodicRouterTrainer
from handoffq.runtime.routing_sweep import RouterSweepRunner

__all__ = [
    "greedy_tables",
    "learned_routes",
    "run_static",
    "slots_for",
    "static_accuracy",
    "static_cell",
    "static_team",
    "summarise_static",
    "train_static",
]

ROUTE_FIGURE_N = 50


def slots_for(n: int, cfg: RoutingExperimentConfig) -> int:
    """Packets in flight: ``n_slots``, or one per ordered pair clipped to ``[1024, 16384]``.

    More packets per round amortise the loop's per-round cost, but every round moves values one
    hop, so on long chains many more packets in flight need more handoffs (chain of 100 routers,
    seed 0: 4100 handoffs per pair to full accuracy with 8192 packets, 6500 with 39600).
    """
    return cfg.n_slots if cfg.n_slots > 0 else int(np.clip(n * (n - 1), 1024, 16384))


def static_team(env: RoutingEnv, cfg: RoutingExperimentConfig, seed: int, naive: bool = False) -> ICQRouterTeam:
    """A fresh vectorised team (IC-Q, or the naive baseline) for the environment's graph."""
    cls = NaiveRouterTeam if naive else ICQRouterTeam
    return cls(
        [env.candidates(i) for i in range(env.n_agents)],
        env.obs_nvec(0),
        cfg.gamma,
        exploration=Exploration(epsilon=cfg.epsilon),
        schedule=StepSize("visits_offset", a0=1.0, t0=cfg.step_t0, power=cfg.step_power),
        seed=seed,
    )


def static_accuracy(team: ICQRouterTeam, dist: np.ndarray, flags: tuple[int, ...] = (0, 1)) -> float:
    """Fraction of ordered pairs whose every greedy route (any flag pattern) is a shortest path."""
    return pair_accuracy(route_accuracy([greedy_next_hops(team, f) for f in flags], dist))


def _checkpoints(
    trainer: EpisodicRouterTrainer, team: ICQRouterTeam, budget: int, cfg: RoutingExperimentConfig,
    dist: np.ndarray, flags: tuple[int, ...],
) -> list[tuple[int, float]]:
    """Train to the budget, measuring accuracy at ``cfg.checkpoints`` checkpoints."""
    hist: list[tuple[int, float]] = []
    per = max(1, budget // cfg.checkpoints)
    k = cfg.stop_after_full
    while trainer.stats.handoffs < budget:
        trainer.train(min(per, budget - trainer.stats.handoffs))
        hist.append((trainer.stats.handoffs, static_accuracy(team, dist, flags)))
        if k and len(hist) >= k and all(a == 1.0 for _, a in hist[-k:]):
            break
    return hist


def _graph_row(family: str, n: int, seed: int, g: nx.Graph, dist: np.ndarray, cfg: RoutingExperimentConfig) -> dict:
    off = ~np.eye(n, dtype=bool)
    return {
        "part": "static", "family": family, "n": n, "seed": seed, "edges": g.number_of_edges(),
        "diameter": int(dist.max()), "mean_distance": float(dist[off].mean()),
        "budget_handoffs": cfg.budget_per_pair * n * (n - 1), "static_training": cfg.static_training,
        "random_walk_accuracy": pair_accuracy(random_walk_accuracy(g, dist)),
        "shortest_path_accuracy": pair_accuracy(route_accuracy([shortest_path_next_hops(g, dist)], dist)),
    }


def _episodic(
    graph: nx.Graph, env: RoutingEnv, dist: np.ndarray, seed: int, cfg: RoutingExperimentConfig, naive: bool
) -> dict[str, Any]:
    n = env.n_agents
    flags = (0, 1) if cfg.detain_prob > 0 else (0,)
    rcfg, slots = env.config, slots_for(n, cfg)
    team = static_team(env, cfg, seed)
    trainer = EpisodicRouterTrainer(graph, team, rcfg, n_slots=slots, seed=seed + 1)
    hist = _checkpoints(trainer, team, cfg.budget_per_pair * n * (n - 1), cfg, dist, flags)
    full = stays_full_from(hist)
    row: dict[str, Any] = {
        "n_slots": slots, "accuracy": hist[-1][1], "handoffs_used": trainer.stats.handoffs,
        "handoffs_to_full_accuracy": full,
        "handoffs_to_full_accuracy_per_pair": None if full is None else full / (n * (n - 1)),
        "accuracy_at_10pct": hist[max(0, len(hist) // 10 - 1)][1],
        "accuracy_curve": ";".join(f"{h}:{a:.5f}" for h, a in hist),
        "episodes": trainer.stats.episodes, "messages": trainer.stats.messages,
    }
    if naive:  # the same number of handoffs as IC-Q used
        nteam = static_team(env, cfg, seed, naive=True)
        EpisodicRouterTrainer(graph, nteam, rcfg, n_slots=slots, seed=seed + 1).train(trainer.stats.handoffs)
        row["naive_accuracy"] = static_accuracy(nteam, dist, flags)
    return row


def greedy_tables(team: list[Any], n: int, flags: tuple[int, ...] = (0,)) -> list[np.ndarray]:
    """Each agent's greedy successor per destination, one ``(N, N)`` table per flag."""
    tables = []
    for f in flags:
        tab = np.tile(np.arange(n)[:, None], (1, n))
        obs = np.stack([np.arange(n), np.full(n, f)], axis=1)
        for i, agent in enumerate(team):
            tab[i] = np.asarray(agent.candidates)[np.argmax(agent.q.values_batch(obs), axis=1)]
        tables.append(tab)
    return tables


def train_static(
    graph: nx.Graph,
    cfg: RoutingConfig,
    seed: int,
    max_sweeps: int,
    agent_cls: type | None = None,
    sweeps: int | None = None,
) -> tuple[list[Any], RouterSweepRunner, bool]:
    """Train per-router agents with the probe (Bellman-Ford) schedule; ``(team, runner, stable)``.

    Deterministic networks (``detain_prob = 0``) use step size 1 and stop at the first sweep
    that changes no table; otherwise visit-count steps ``1 / n^0.7`` for ``max_sweeps`` sweeps.
    ``sweeps`` forces an exact number of sweeps (to give a baseline the same budget).
    """
    stochastic = cfg.detain_prob > 0
    schedule = StepSize("visits", a0=1.0, power=0.7) if stochastic else StepSize("constant", a0=1.0)
    kwargs: dict[str, Any] = {"agent_cls": agent_cls} if agent_cls is not None else {}
    team = make_team(RoutingEnv(graph, cfg), seed=seed, exploration=Exploration(epsilon=0.0), schedule=schedule,
                     **kwargs)
    runner = RouterSweepRunner(graph, team, cfg, seed=seed + 1)
    stable = False
    limit = sweeps if sweeps is not None else max_sweeps
    while runner.sweeps < limit:
        before = [a.q.table.copy() for a in team] if not stochastic and sweeps is None else None
        runner.sweep()
        if before is not None and all(np.array_equal(a.q.table, b) for a, b in zip(team, before)):
            stable = True
            break
    return team, runner, stable


def _bellman_ford(
    graph: nx.Graph, env: RoutingEnv, dist: np.ndarray, seed: int, cfg: RoutingExperimentConfig, naive: bool
) -> dict[str, Any]:
    n = env.n_agents
    flags = (0, 1) if cfg.detain_prob > 0 else (0,)
    team, runner, stable = train_static(graph, env.config, seed, cfg.max_sweeps)
    acc = pair_accuracy(route_accuracy(greedy_tables(team, n, flags), dist))
    used = runner.stats.handoffs
    row: dict[str, Any] = {
        "accuracy": acc, "handoffs_used": used, "handoffs_to_full_accuracy": used if acc == 1.0 else None,
        "handoffs_to_full_accuracy_per_pair": used / (n * (n - 1)) if acc == 1.0 else None,
        "sweeps": runner.sweeps, "stable": stable, "messages": runner.stats.messages,
    }
    if naive:
        nteam, _, _ = train_static(graph, env.config, seed, cfg.max_sweeps, NaiveRoutingAgent, runner.sweeps)
        row["naive_accuracy"] = pair_accuracy(route_accuracy(greedy_tables(nteam, n, flags), dist))
    return row


def static_cell(family: str, n: int, seed: int, cfg: RoutingExperimentConfig, naive: bool) -> dict[str, Any]:
    """Train one graph's routers; its accuracy and the baselines' (one results row)."""
    t0 = time.perf_counter()
    graph = make_graph(family, n, seed=seed)
    env = RoutingEnv(graph, RoutingConfig(gamma=cfg.gamma, detain_prob=cfg.detain_prob))
    dist = hop_distances(env.graph)
    row = _graph_row(family, n, seed, env.graph, dist, cfg)
    train = _episodic if cfg.static_training == "episodic" else _bellman_ford
    row.update(train(graph, env, dist, seed, cfg, naive))
    row["train_s"] = round(time.perf_counter() - t0, 2)
    return row


def learned_routes(cfg: RoutingExperimentConfig, seed: int) -> dict[str, Any]:
    """Figure data: routes learned from packets on one Barabasi-Albert graph of 50 routers
    (trained as a static cell: the whole budget, or until ``stop_after_full``)."""
    n = ROUTE_FIGURE_N
    graph = make_graph("barabasi_albert", n, seed=seed)
    env = RoutingEnv(graph, RoutingConfig(gamma=cfg.gamma, detain_prob=cfg.detain_prob))
    dist = hop_distances(env.graph)
    team = static_team(env, cfg, seed)
    trainer = EpisodicRouterTrainer(graph, team, env.config, n_slots=slots_for(n, cfg), seed=seed + 1)
    flags = (0, 1) if cfg.detain_prob > 0 else (0,)
    _checkpoints(trainer, team, cfg.budget_per_pair * n * (n - 1), cfg, dist, flags)
    dest = int(np.argmax([d for _, d in env.graph.degree()]))
    hops = greedy_next_hops(team, 0)[:, dest]
    return {
        "edges": [list(e) for e in env.graph.edges], "dest": dest, "next_hop": hops.tolist(),
        "on_shortest_path": [bool(i == dest or dist[hops[i], dest] == dist[i, dest] - 1) for i in range(n)],
        "accuracy": static_accuracy(team, dist, flags), "handoffs": trainer.stats.handoffs, "seed": seed,
    }


def _cells(cfg: RoutingExperimentConfig, seed: int) -> list[tuple[str, int, int, bool]]:
    return [
        (f, n, seed + k, k < cfg.naive_seeds and n in cfg.naive_sizes)
        for f in cfg.families for n in cfg.sizes for k in range(cfg.static_seeds)
    ]


def run_static(cfg: RoutingExperimentConfig, ctx: RunContext) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every static cell (graph seeds ``ctx.seed .. ctx.seed + static_seeds - 1``): rows, figure data."""
    rows: list[dict[str, Any]] = []
    cells = _cells(cfg, ctx.seed)
    with ctx.bar("routing: static cells", len(cells)) as advance:
        for fam, n, s, naive in cells:
            r = static_cell(fam, n, s, cfg, naive)
            rows.append(r)
            ctx.log(f"static {fam} n={n} seed={s}: accuracy {r['accuracy']:.5f}, "
                    f"full from {r['handoffs_to_full_accuracy']} handoffs ({r['train_s']} s)")
            advance(1)
    figs = {"learned_routes": learned_routes(cfg, ctx.seed)} if cfg.route_figure else {}
    return rows, figs


def summarise_static(rows: list[dict[str, Any]], cfg: RoutingExperimentConfig) -> dict[str, Any]:
    """The static part's summary keys."""
    cells = {(f, n): [r for r in rows if r["family"] == f and r["n"] == n] for f in cfg.families for n in cfg.sizes}

    def per_pair(rs: list[dict[str, Any]]) -> float | None:
        vals = [r["handoffs_to_full_accuracy_per_pair"] for r in rs]
        return None if any(v is None for v in vals) else float(max(vals))

    return {
        "static_training": cfg.static_training,
        "min_accuracy": float(min(r["accuracy"] for r in rows)),
        "accuracy": {f"{f}@{n}": float(np.mean([r["accuracy"] for r in rs])) for (f, n), rs in cells.items()},
        "handoffs_to_full_accuracy": {f"{f}@{n}": [r["handoffs_to_full_accuracy"] for r in rs]
                                      for (f, n), rs in cells.items()},
        "handoffs_to_full_accuracy_per_pair": {f"{f}@{n}": per_pair(rs) for (f, n), rs in cells.items()},
        "naive_accuracy": {f"{f}@{n}": float(np.mean([r["naive_accuracy"] for r in rs if "naive_accuracy" in r]))
                           for (f, n), rs in cells.items() if any("naive_accuracy" in r for r in rs)},
        "random_walk_accuracy": {f"{f}@{n}": float(np.mean([r["random_walk_accuracy"] for r in rs]))
                                 for (f, n), rs in cells.items()},
        "static_budget_per_pair": cfg.budget_per_pair,
        "detain_prob": cfg.detain_prob,
    }
