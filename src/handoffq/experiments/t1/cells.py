"""T1's cells: what is trained and measured, one (instance, rho, design, learner) at a time.

A *cell* is a plain dict (its hash keys the resumable sweep; seeds live in it). Two kinds:

* :func:`t1_cell` - the exact AIS gaps of the cell's interface design and the exact value of
  IC-Q's greedy policy learned on it;
* :func:`t1_reference_cell` - the baselines at ``rho = 1`` of one instance: naive
  independent Q (learned with the headline learner's settings), centralised Q on the latent
  state (tabular, privileged) and the exact fixed points of both decentralised learners.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from handoffq.envs.synthetic import SyntheticConfig
from handoffq.experiments.synthetic.exact import (
    fixed_point_values,
    greedy_value,
    latent_policy_value,
    normalised,
    reference,
    team_q_error,
)
from handoffq.experiments.synthetic.learners import (
    NeuralLearner,
    TabularLearner,
    train_centralised,
    train_neural,
    train_tabular,
)
from handoffq.experiments.t1.config import T1Config
from handoffq.theory.ais import ais_gap

__all__ = ["design_list", "t1_cell", "t1_cells", "t1_reference_cell"]


def _learn(cfg: T1Config, learner: str) -> dict[str, Any]:
    """How a cell of ``learner`` trains (JSON-ready: it is part of the cell's key)."""
    if learner == "tabular":
        return {"budget": cfg.tabular_budget, "n_envs": cfg.tabular_envs, "width": 0,
                "settings": dataclasses.asdict(cfg.tabular)}
    return {"budget": cfg.neural_budget, "n_envs": cfg.neural_envs, "width": cfg.width,
            "settings": dataclasses.asdict(cfg.neural)}


def _train(cell: dict[str, Any], syn: SyntheticConfig, kind: Literal["icq", "naive"] = "icq") -> list[Any]:
    lk = cell["learn"]
    if cell["learner"] == "tabular":
        return train_tabular(syn, TabularLearner(**lk["settings"]), lk["budget"], cell["learn_seed"],
                             lk["n_envs"], learner=kind)
    return train_neural(syn, NeuralLearner(**lk["settings"]), lk["width"], lk["budget"], cell["learn_seed"],
                        lk["n_envs"], learner=kind)


def t1_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Exact AIS gaps and the learned greedy value of one cell (module-level: runs in workers)."""
    syn = SyntheticConfig(**cell["synthetic"])
    ref1 = reference(dataclasses.replace(syn, rho=1.0, merge="rank"))
    ref = reference(syn)
    gap = ais_gap(ref.model, ref1.mu, ref1.behaviour)  # the latent behaviour chain does not depend on rho
    team = _train(cell, syn)
    value = greedy_value(ref, team)
    return {
        "value": value,
        "normalised": normalised(value, ref),
        "oracle_value": ref.oracle_value,
        "random_value": ref.random_value,
        "q_error": team_q_error(ref, team),
        "ais_gap": gap.gap_value_mean,
        "ais_gap_paper_form": gap.gap_max,
        "ais_gap_tv_mean": gap.gap_mean,
        "ais_gap_value_sup": gap.gap_value_max,
        "eps_mean": gap.eps_mean,
        "delta_mean": gap.delta_mean,
        "eps_max": gap.eps_max,
        "delta_max": gap.delta_max,
        "lipschitz": gap.lipschitz,
        "gamma_eff": gap.gamma_eff,
    }


def t1_reference_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Baselines at ``rho = 1`` of one instance (see the module docstring)."""
    syn = SyntheticConfig(**cell["synthetic"])
    ref = reference(syn)
    naive_value = greedy_value(ref, _train(cell, syn, kind="naive"))
    central = TabularLearner(**cell["central"]["settings"])
    q_c = train_centralised(syn, cell["learn"]["budget"], cell["learn_seed"], n_envs=cell["central"]["n_envs"],
                            schedule=central.schedule())
    central_value = latent_policy_value(ref, q_c)
    fps = fixed_point_values(syn, ref)
    return {
        "naive_value": naive_value,
        "naive_normalised": normalised(naive_value, ref),
        "centralised_value": central_value,
        "centralised_normalised": normalised(central_value, ref),
        "icq_fixed_point_normalised": normalised(fps["icq_fixed_point_value"], ref),
        "naive_fixed_point_normalised": normalised(fps["naive_fixed_point_value"], ref),
        "oracle_value": ref.oracle_value,
        "random_value": ref.random_value,
        "random_over_oracle": ref.random_value / ref.oracle_value,
    }


def design_list(cfg: T1Config) -> list[tuple[str, int]]:
    """The interface designs at every ``rho < 1``: ``(merge, merge_seed)``."""
    return [(d, 0) for d in cfg.designs] + [("random", r) for r in range(cfg.random_merges)]


def t1_cells(cfg: T1Config, seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The learning cells and the baseline cells; ``seed`` shifts every instance and learning seed."""
    other = "tabular" if cfg.learner == "neural" else "neural"
    learners = [cfg.learner] + ([other] if cfg.compare else [])
    cells: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for s in range(cfg.seeds):
        inst = seed + s
        base = dataclasses.replace(cfg.synthetic, instance_seed=inst)
        for learner in learners:
            rhos = cfg.rhos if learner == cfg.learner or cfg.compare_rhos is None else cfg.compare_rhos
            common = {"instance": inst, "learn_seed": inst, "learner": learner, "learn": _learn(cfg, learner)}
            for rho in rhos:
                designs = [("identity", 0)] if rho == 1.0 else design_list(cfg)
                for design, ms in designs:
                    syn = dataclasses.replace(base, rho=rho, merge="rank" if design == "identity" else design,
                                              merge_seed=ms)
                    cells.append({**common, "rho": rho, "design": design, "merge_seed": ms,
                                  "synthetic": dataclasses.asdict(syn)})
        if cfg.baselines:
            refs.append({"instance": inst, "learn_seed": inst, "learner": cfg.learner,
                         "learn": _learn(cfg, cfg.learner), "central": _learn(cfg, "tabular"),
                         "synthetic": dataclasses.asdict(dataclasses.replace(base, rho=1.0))})
    return cells, refs
