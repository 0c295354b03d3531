"""T2's cells: one trained learner on one instance, measured exactly (see :mod:`handoffq.experiments.t2`).

A cell is a plain dict (its hash keys the resumable sweep; seeds live in it); ``scan`` is
``"budget"``, ``"p"`` or ``"width"``.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from handoffq.envs.synthetic import SyntheticConfig
from handoffq.experiments.synthetic.exact import exact_floor, reference, rms, team_q_error
from handoffq.experiments.synthetic.learners import NeuralLearner, TabularLearner, train_neural, train_tabular
from handoffq.experiments.t2.config import T2Config
from handoffq.theory.mixing import behaviour_chain, mixing

__all__ = ["mean_tau", "t2_cell", "t2_cells"]


def mean_tau(syn: SyntheticConfig) -> float:
    """Mean invocation length ``E[min(Geometric(p), tau_max)]`` (episode ends ignored)."""
    t = np.arange(1, syn.tau_max + 1)
    pmf = syn.p * (1.0 - syn.p) ** (t - 1)
    pmf[-1] = (1.0 - syn.p) ** (syn.tau_max - 1)
    return float((t * pmf).sum())


def t2_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Train and measure one cell of any of the three scans (module-level: runs in workers)."""
    syn = SyntheticConfig(**cell["synthetic"])
    ref = reference(syn)
    scale = rms(ref)
    t0 = time.perf_counter()
    iid = ref.mu if cell.get("iid") else None
    if cell["learner"] == "neural":
        team = train_neural(syn, NeuralLearner(**cell["settings"]), cell["width"], cell["budget"], cell["learn_seed"],
                            cell["n_envs"], iid=iid)
    else:
        team = train_tabular(syn, TabularLearner(**cell["settings"]), cell["budget"], cell["learn_seed"],
                             cell["n_envs"], iid=iid)
    err = team_q_error(ref, team)
    out: dict[str, Any] = {"error": err, "q_star_rms": scale, "rel_error": err / scale,
                           "seconds": time.perf_counter() - t0}
    if cell["scan"] == "p":
        mr = mixing(behaviour_chain(ref.model, ref.behaviour))
        out.update({"mixing_time": mr.mixing_time, "relaxation_time": mr.relaxation_time,
                    "spectral_gap": mr.spectral_gap, "mean_tau": mean_tau(syn)})
    if cell["scan"] == "width":
        floor = exact_floor(ref)
        out.update({"exact_floor": floor, "rel_exact_floor": floor / scale,
                    "distance_from_init": float(max(a.q.distance_from_init() for a in team))})
    return out


def _budget_cells(cfg: T2Config, inst: int, tab: dict[str, Any]) -> list[dict[str, Any]]:
    base = dataclasses.replace(cfg.synthetic, instance_seed=inst, rho=1.0)
    return [{"scan": "budget", "family": base.family, "learner": "tabular", "budget": b, "rho": 1.0, "p": base.p,
             "seed": inst, "learn_seed": inst, "n_envs": min(256, max(8, b // 50)), "settings": tab, "width": 0,
             "synthetic": dataclasses.asdict(base)} for b in cfg.budgets]


def _p_cells(cfg: T2Config, inst: int, tab: dict[str, Any]) -> list[dict[str, Any]]:
    base = dataclasses.replace(cfg.synthetic, instance_seed=inst, rho=1.0)
    families = [cfg.p_family] + (["workflow"] if cfg.p_control and cfg.p_family != "workflow" else [])
    neural = dataclasses.asdict(cfg.p_neural)
    g = cfg.p_gamma_eff
    cells = []
    for fam in families:
        for learner in cfg.p_learners:
            for p in cfg.ps:
                # the primitive discount that keeps E[gamma_p^tau] = g for a geometric tau
                syn = dataclasses.replace(base, family=fam, p=p, tau_max=cfg.p_tau_max, gamma=g / (p + g * (1.0 - p)))
                for iid in [False, True] if cfg.p_iid_control else [False]:
                    cells.append({"scan": "p", "family": fam, "learner": learner, "budget": cfg.p_budget, "rho": 1.0,
                                  "p": p, "seed": inst, "learn_seed": inst, "n_envs": cfg.p_envs,
                                  "settings": neural if learner == "neural" else tab,
                                  "width": cfg.p_width if learner == "neural" else 0, "iid": iid,
                                  "synthetic": dataclasses.asdict(syn)})
    return cells


def _width_cells(cfg: T2Config, inst: int) -> list[dict[str, Any]]:
    neural = dataclasses.asdict(cfg.neural)
    cells = []
    for rho in cfg.width_rhos:
        syn = dataclasses.replace(cfg.synthetic, instance_seed=inst, rho=rho)
        cells += [{"scan": "width", "family": syn.family, "learner": "neural", "budget": cfg.width_budget, "rho": rho,
                   "p": syn.p, "width": w, "seed": inst, "learn_seed": inst, "n_envs": cfg.width_envs,
                   "settings": neural, "synthetic": dataclasses.asdict(syn)} for w in cfg.widths]
    return cells


def t2_cells(cfg: T2Config, seed: int = 0) -> list[dict[str, Any]]:
    """Every cell of the three scans (budgets already scaled); ``seed`` shifts every seed."""
    tab = dataclasses.asdict(cfg.tabular)
    cells: list[dict[str, Any]] = []
    for s in range(cfg.seeds):
        cells += _budget_cells(cfg, seed + s, tab) + _p_cells(cfg, seed + s, tab)
    for s in range(cfg.width_seeds):
        cells += _width_cells(cfg, seed + s)
    return cells
