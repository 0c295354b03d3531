"""The CPU experiment's statistics: from finished cells to ``summary.json``.

Definitions (fixed before the runs): a method's ``unseen_accuracy`` is the mean over seeds of
the exact-match accuracy of its greedy team on the seed's unseen test tasks at the headline
fraction (0.2) after its full budget; ``*_ci95`` is a Student-t 95% interval over seeds (with
one seed: a Wilson interval over the test tasks, ``*_ci95_tasks``). IC-Q's keys have no
prefix; every other method's carry its name (``memorising_unseen_accuracy``...).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from handoffq.experiments.cpu.config import HEADLINE_FRACTION, METHODS, CPUExperimentConfig
from handoffq.experiments.stats import mean_ci

__all__ = ["CLAIM", "curve_bands", "summarise", "wilson"]

CLAIM = ("paper: trained on 20% of the integer range, six adaptable agents reach 80% exact-match "
         "accuracy on unseen target memory states")


def wilson(k: int, n: int) -> list[float]:
    """95% Wilson interval of a proportion ``k / n``."""
    if n == 0:
        return [0.0, 1.0]
    z, p = 1.959964, k / n
    c = (p + z * z / (2 * n)) / (1 + z * z / n)
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [c - h, c + h]


def _cells(rows: list[dict[str, Any]], method: str, f: float) -> list[dict[str, Any]]:
    return sorted((r for r in rows if r["method"] == method and r["fraction"] == f), key=lambda r: r["seed"])


def _kind_means(rs: list[dict[str, Any]], key: str) -> dict[str, float]:
    kinds = rs[0][key].keys()
    return {k: float(np.mean([r[key][k] for r in rs])) for k in kinds}


def _method(rs: list[dict[str, Any]], pre: str, n_test: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("seen", "unseen"):
        vals = [r[f"{part}_accuracy"] for r in rs]
        m, lo, hi = mean_ci(vals)
        out[f"{pre}{part}_accuracy"] = m
        out[f"{pre}{part}_accuracy_by_seed"] = vals
        out[f"{pre}{part}_accuracy_ci95"] = [max(0.0, lo), min(1.0, hi)]
        out[f"{pre}{part}_by_kind"] = _kind_means(rs, f"{part}_by_kind")
        if len(vals) == 1:
            out[f"{pre}{part}_accuracy_ci95_tasks"] = wilson(round(vals[0] * n_test), n_test)
    return out


def curve_bands(rs: list[dict[str, Any]], n_test: int) -> list[dict[str, Any]]:
    """Per checkpoint: mean, min and max over seeds of the seen and unseen accuracy (with one
    seed, ``*_min`` / ``*_max`` are the 95% Wilson interval over the test tasks instead)."""
    by: dict[int, list[dict[str, Any]]] = {}
    for r in rs:
        for p in r["curve"]:
            by.setdefault(int(p["budget"] // 1000), []).append(p)
    out = []
    for ps in by.values():
        point: dict[str, Any] = {"budget": float(np.mean([p["budget"] for p in ps])), "n": len(ps)}
        for part in ("seen", "unseen"):
            v = np.array([p[f"{part}_accuracy"] for p in ps])
            lo, hi = (float(v.min()), float(v.max())) if len(v) > 1 else wilson(round(v[0] * n_test), n_test)
            point.update({part: float(v.mean()), f"{part}_min": lo, f"{part}_max": hi})
        out.append(point)
    return sorted(out, key=lambda p: p["budget"])


def summarise(rows: list[dict[str, Any]], cfg: CPUExperimentConfig, seed: int, seconds: float) -> dict[str, Any]:
    """Headline figures (fraction 0.2, end of budget), per-kind and per-seed figures, curves."""
    f0 = HEADLINE_FRACTION
    out: dict[str, Any] = {"claim": CLAIM, "headline_fraction": f0, "paper_target": 0.8,
                           "opcode_given": False, "obs_contains_values": True,
                           "seeds": [seed + s for s in range(cfg.seeds)], "n_seeds": cfg.seeds,
                           "n_test_per_part": cfg.n_test, "budget": cfg.budget}
    for m in METHODS:
        rs = _cells(rows, m, f0)
        if rs:
            out.update(_method(rs, "" if m == "icq" else f"{m}_", cfg.n_test))
    icq = _cells(rows, "icq", f0)
    out["pipeline_ceiling_unseen_accuracy"] = float(np.mean([r["pipeline_ceiling_unseen"] for r in icq]))
    if "fixed_pipeline_unseen_accuracy" in out:
        out["icq_minus_fixed_pipeline_unseen"] = out["unseen_accuracy"] - out["fixed_pipeline_unseen_accuracy"]
    out["accuracy_by_fraction"] = {
        str(f): {m: {"seen": float(np.mean([r["seen_accuracy"] for r in rs])),
                     "unseen": float(np.mean([r["unseen_accuracy"] for r in rs])),
                     "unseen_by_seed": [r["unseen_accuracy"] for r in rs]}
                 for m in METHODS if (rs := _cells(rows, m, f))}
        for f in cfg.fractions}
    out["curve"] = {m: curve_bands(rs, cfg.n_test) for m in METHODS if m != "random" and (rs := _cells(rows, m, f0))}
    out["wall_seconds"] = round(seconds, 1)
    out["cell_seconds"] = {m: float(np.mean([r["seconds"] for r in rs]))
                           for m in METHODS if (rs := _cells(rows, m, f0))}
    return out
