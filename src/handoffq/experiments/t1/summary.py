"""T1's statistics: from finished cells to the headline figures of ``summary.json``.

Pre-registered definitions (fixed before any run):

* ``value_gap`` of a cell: exact value of the learner's greedy policy at ``rho = 1`` of the
  same instance minus its exact value in the cell;
* ``pearson_r``: Pearson correlation of AIS gap and value gap over all cells of a learner;
* ``partial_r_given_rho``: Pearson correlation of the within-rho residuals (each quantity
  minus its mean at that rho) over the cells with ``rho < 1``: what the AIS gap explains
  beyond the retention ratio;
* ``*_ci95``: 95% bootstrap intervals, instances resampled with replacement;
* ``icq_normalised_rho1``: the *minimum* over instances of IC-Q's normalised score at
  ``rho = 1``; ``naive_normalised_rho1``: the *maximum* over instances of naive Q's.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from handoffq.experiments.stats import pearson, spearman
from handoffq.experiments.t1.config import T1Config

__all__ = ["bootstrap", "correlations", "summarise", "within_rho"]


def within_rho(values: list[float], rhos: list[float]) -> np.ndarray:
    """Each value minus the mean of the values at its rho."""
    by: dict[float, list[float]] = defaultdict(list)
    for v, r in zip(values, rhos):
        by[r].append(v)
    means = {r: float(np.mean(v)) for r, v in by.items()}
    return np.array([v - means[r] for v, r in zip(values, rhos)])


def correlations(rows: list[dict[str, Any]], key: str = "ais_gap") -> dict[str, float]:
    """Pearson, Spearman and within-rho (partial) correlation of ``key`` with the value gap."""
    gaps = [r[key] for r in rows]
    vg = [r["value_gap"] for r in rows]
    sub = [r for r in rows if r["rho"] < 1.0]
    rh = [r["rho"] for r in sub]
    return {
        "pearson": pearson(gaps, vg),
        "spearman": spearman(gaps, vg),
        "partial": pearson(within_rho([r[key] for r in sub], rh).tolist(),
                           within_rho([r["value_gap"] for r in sub], rh).tolist()),
    }


def bootstrap(rows: list[dict[str, Any]], n: int = 1000, seed: int = 0) -> dict[str, list[float]]:
    """95% bootstrap intervals of the Pearson and partial correlations (instances resampled)."""
    inst = sorted({r["instance"] for r in rows})
    by = {i: [r for r in rows if r["instance"] == i] for i in inst}
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {"pearson": [], "partial": []}
    for _ in range(n):
        pick = rng.choice(inst, size=len(inst), replace=True)
        if len(set(pick.tolist())) < 2:
            continue
        st = correlations([r for i in pick for r in by[i]])
        out["pearson"].append(st["pearson"])
        out["partial"].append(st["partial"])
    return {k: [float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5))] if v else [np.nan, np.nan]
            for k, v in out.items()}


def _add_value_gaps(rows: list[dict[str, Any]]) -> None:
    """``value_gap`` of every cell: the same instance's rho = 1 value minus the cell's value."""
    top = {r["instance"]: r["value"] for r in rows if r["rho"] == 1.0}
    for r in rows:
        r["value_gap"] = top[r["instance"]] - r["value"]


def _mean_by(rows: list[dict[str, Any]], field: str, key: str) -> dict[str, float]:
    keys = sorted({r[field] for r in rows}, key=lambda k: (-k, 0) if isinstance(k, float) else (0, k))
    return {str(k): float(np.mean([r[key] for r in rows if r[field] == k])) for k in keys}


def _learner_summary(lr: list[dict[str, Any]]) -> dict[str, Any]:
    """The headline figures of one learner's cells (``value_gap`` already set)."""
    rho1 = [r["normalised"] for r in lr if r["rho"] == 1.0]
    out: dict[str, Any] = {"icq_normalised_rho1": float(min(rho1)), "icq_normalised_rho1_by_seed": rho1}
    if not any(r["rho"] < 1.0 for r in lr):  # rho = 1 only (the quick preset's other learner)
        return out
    st, ci, paper = correlations(lr), bootstrap(lr), correlations(lr, "ais_gap_paper_form")
    instances = sorted({r["instance"] for r in lr})
    out.update({
        "pearson_r": st["pearson"],
        "pearson_r_ci95": ci["pearson"],
        "partial_r_given_rho": st["partial"],
        "partial_r_given_rho_ci95": ci["partial"],
        "spearman_r": st["spearman"],
        "pearson_r_paper_form": paper["pearson"],
        "partial_r_paper_form": paper["partial"],
        "pearson_r_tv_mean": correlations(lr, "ais_gap_tv_mean")["pearson"],
        "pearson_r_value_sup": correlations(lr, "ais_gap_value_sup")["pearson"],
        "pearson_r_one_minus_rho": pearson([1.0 - r["rho"] for r in lr], [r["value_gap"] for r in lr]),
        "pearson_r_per_instance": [pearson([r["ais_gap"] for r in lr if r["instance"] == i],
                                           [r["value_gap"] for r in lr if r["instance"] == i]) for i in instances],
        "n_cells": len(lr),
        "normalised_by_rho": _mean_by(lr, "rho", "normalised"),
        "value_gap_by_design": _mean_by(lr, "design", "value_gap"),
        "ais_gap_by_design": _mean_by(lr, "design", "ais_gap"),
    })
    return out


def _baseline_summary(refs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "naive_normalised_rho1": float(max(r["naive_normalised"] for r in refs)),
        "naive_normalised_rho1_by_seed": [r["naive_normalised"] for r in refs],
        "naive_fixed_point_normalised_by_seed": [r["naive_fixed_point_normalised"] for r in refs],
        "icq_fixed_point_normalised_by_seed": [r["icq_fixed_point_normalised"] for r in refs],
        "centralised_normalised_rho1_by_seed": [r["centralised_normalised"] for r in refs],
        "random_over_oracle_by_seed": [r["random_over_oracle"] for r in refs],
    }


def summarise(rows: list[dict[str, Any]], refs: list[dict[str, Any]], cfg: T1Config, seed: int) -> dict[str, Any]:
    """Headline figures from finished cells (``rows`` gain ``value_gap``). The headline
    learner's keys are plain; the other learner's carry a ``_tabular`` / ``_neural`` suffix."""
    summary: dict[str, Any] = {"learner": cfg.learner}
    for learner in sorted({r["learner"] for r in rows}):
        lr = [r for r in rows if r["learner"] == learner]
        _add_value_gaps(lr)
        suffix = "" if learner == cfg.learner else f"_{learner}"
        summary.update({k + suffix: v for k, v in _learner_summary(lr).items()})
    if refs:
        summary.update(_baseline_summary(refs))
    summary["seeds"] = [seed + s for s in range(cfg.seeds)]
    return summary
