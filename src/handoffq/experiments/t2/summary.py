"""T2's statistics: from finished cells to the headline figures of ``summary.json``.

Every error is relative: ``||Q - Q*||_mu / ||Q*||_mu`` (``rel_error``). Keys of the p scan
carry a suffix when they do not come from the headline family and learner (``_workflow``,
``_tabular``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handoffq.experiments.stats import loglog_slope, spearman
from handoffq.experiments.t2.config import T2Config

__all__ = ["p_suffix", "summarise"]


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in rows])) if rows else float("nan")


def p_suffix(cfg: T2Config, family: str, learner: str) -> str:
    """Key suffix of a p-scan (family, learner) pair: empty for the headline pair."""
    return ("" if family == cfg.p_family else f"_{family}") + ("" if learner == cfg.p_learners[0] else f"_{learner}")


def _budget_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    bud = [r for r in rows if r["scan"] == "budget"]
    if not bud:
        return {}
    bs = sorted({r["budget"] for r in bud})
    err = {b: _mean([r for r in bud if r["budget"] == b], "rel_error") for b in bs}
    last = bs[-2:] if len(bs) > 1 else bs
    return {
        "budget_slope": loglog_slope(bs, [err[b] for b in bs]) if len(bs) > 1 else float("nan"),
        "budget_slope_last": loglog_slope(last, [err[b] for b in last]) if len(last) > 1 else float("nan"),
        "rel_error_by_budget": {str(b): err[b] for b in bs},
        "rel_error_by_budget_by_seed": {str(b): [r["rel_error"] for r in bud if r["budget"] == b] for b in bs},
    }


def _iid_summary(pr: list[dict[str, Any]], iid_rows: list[dict[str, Any]], ps: list[float]) -> dict[str, Any]:
    """The i.i.d.-sampling control: same p and learner, every round from independent draws of
    the stationary law. ``markov_excess`` = error of the Markov stream minus the control's."""
    iid = {(r["p"], r["seed"]): r["rel_error"] for r in iid_rows}
    excess = [r["rel_error"] - iid[(r["p"], r["seed"])] for r in pr]
    return {
        "rel_error_iid_by_p": {str(p): float(np.mean([v for (q, _), v in iid.items() if q == p])) for p in ps},
        "markov_excess_by_p": {str(p): float(np.mean([e for e, r in zip(excess, pr) if r["p"] == p])) for p in ps},
        "mixing_spearman_excess": spearman([r["mixing_time"] for r in pr], excess),
    }


def _p_summary(allp: list[dict[str, Any]], ps: list[float]) -> dict[str, Any]:
    """The p scan of one (family, learner) pair."""
    pr = [r for r in allp if not r.get("iid")]
    iid_rows = [r for r in allp if r.get("iid")]
    mix = {str(p): _mean([r for r in pr if r["p"] == p], "mixing_time") for p in ps}
    out: dict[str, Any] = {
        "mixing_time_by_p": mix,
        "relaxation_time_by_p": {str(p): _mean([r for r in pr if r["p"] == p], "relaxation_time") for p in ps},
        "rel_error_by_p": {str(p): _mean([r for r in pr if r["p"] == p], "rel_error") for p in ps},
        "rel_error_by_p_by_seed": {str(p): [r["rel_error"] for r in pr if r["p"] == p] for p in ps},
        "mixing_spearman": spearman([r["mixing_time"] for r in pr], [r["rel_error"] for r in pr]),
        "handoff_spearman": spearman([r["p"] for r in pr], [r["rel_error"] for r in pr]),
        "mixing_not_varied": len({round(v, 6) for v in mix.values()}) < 2,
        "mixing_slows_as_p_falls": bool(spearman([float(p) for p in ps], [mix[str(p)] for p in ps]) < 0),
    }
    if iid_rows:
        out.update(_iid_summary(pr, iid_rows, ps))
    return out


def _width_summary(rows: list[dict[str, Any]], cfg: T2Config) -> dict[str, Any]:
    wid = [r for r in rows if r["scan"] == "width"]
    if not wid:
        return {}
    top = max(cfg.widths)
    floors, exact, gaps, gaps_seed = {}, {}, {}, {}
    for rho in cfg.width_rhos:
        sel = [r for r in wid if r["rho"] == rho and r["width"] == top]
        floors[str(rho)] = _mean(sel, "rel_error")
        exact[str(rho)] = _mean(sel, "rel_exact_floor")
        gaps_seed[str(rho)] = [r["rel_error"] - r["rel_exact_floor"] for r in sel]
        gaps[str(rho)] = float(np.mean(gaps_seed[str(rho)]))
    ordered = len(exact) < 2 or spearman(list(exact.values()), list(floors.values())) > 0.999
    return {
        "width_floor_by_rho": floors,
        "exact_floor_by_rho": exact,
        "floor_gap_by_rho": gaps,
        "floor_gap_by_rho_by_seed": gaps_seed,
        "floors_ordered": bool(ordered),
        "rel_error_by_width": {str(rho): {str(w): _mean([r for r in wid if r["rho"] == rho and r["width"] == w],
                                                        "rel_error") for w in cfg.widths}
                               for rho in cfg.width_rhos},
    }


def summarise(rows: list[dict[str, Any]], cfg: T2Config, seed: int) -> dict[str, Any]:
    """Headline figures of finished cells (``cfg`` with its budgets already scaled)."""
    summary: dict[str, Any] = {"budget_units": "handoffs", **_budget_summary(rows)}
    ps = list(cfg.ps)
    for fam, learner in sorted({(r["family"], r["learner"]) for r in rows if r["scan"] == "p"}):
        allp = [r for r in rows if r["scan"] == "p" and r["family"] == fam and r["learner"] == learner]
        suffix = p_suffix(cfg, fam, learner)
        summary.update({k + suffix: v for k, v in _p_summary(allp, ps).items()})
    summary.update(_width_summary(rows, cfg))
    summary["seeds"] = [seed + s for s in range(cfg.seeds)]
    summary["width_seeds"] = [seed + s for s in range(cfg.width_seeds)]
    return summary
