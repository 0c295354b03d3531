"""T2's figure ``t2_scans.png`` (readable without the paper): the three error sources of
Theorem 1, one panel each, every point a mean over seeds with 95% confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from handoffq.experiments.plotting import SIMULATED_TAG, pyplot, save
from handoffq.experiments.stats import mean_ci
from handoffq.experiments.t2.config import T2Config
from handoffq.experiments.t2.summary import p_suffix

__all__ = ["t2_figure"]

_ERR_LABEL = "error of the learned Q, relative to the size of Q*"


def _errorbar(ax: Any, xs: Sequence[float], groups: list[list[float]], **kw: Any) -> None:
    stats = [mean_ci(g) if g else (np.nan, np.nan, np.nan) for g in groups]
    m = np.array([s[0] for s in stats])
    yerr = np.array([[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]])
    ax.errorbar(xs, m, yerr=yerr, capsize=3, **kw)


def _legend_below(ax: Any) -> None:
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False)


def _budget_panel(ax: Any, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    bud = [r for r in rows if r["scan"] == "budget"]
    bs = sorted({r["budget"] for r in bud})
    ax.scatter([r["budget"] for r in bud], [r["rel_error"] for r in bud], s=10, color="C0", alpha=0.35,
               label="one seed")
    _errorbar(ax, bs, [[r["rel_error"] for r in bud if r["budget"] == b] for b in bs], marker="o", color="C0",
              label=f"mean, 95% CI (log-log slope {summary.get('budget_slope', np.nan):.2f})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples (handoffs)")
    ax.set_ylabel(_ERR_LABEL)
    ax.set_title("More samples: the sampling error decays\n(tabular IC-Q, full view)", fontsize=9)
    _legend_below(ax)


def _p_panel(ax: Any, rows: list[dict[str, Any]], summary: dict[str, Any], cfg: T2Config) -> None:
    pairs = sorted({(r["family"], r["learner"]) for r in rows if r["scan"] == "p"},
                   key=lambda fl: p_suffix(cfg, *fl) != "")
    ps = sorted(cfg.ps)
    for n, (fam, learner) in enumerate(pairs):
        sel = [r for r in rows if r["scan"] == "p" and r["family"] == fam and r["learner"] == learner]
        rho_s = summary.get("mixing_spearman" + p_suffix(cfg, fam, learner), np.nan)
        for iid, style, what in ((False, "-", f"Spearman vs mixing time {rho_s:.2f}"), (True, "--", "i.i.d. control")):
            groups = [[r["rel_error"] for r in sel if r["p"] == p and bool(r.get("iid")) == iid] for p in ps]
            if any(groups):
                _errorbar(ax, [p + 0.004 * n for p in ps], groups, marker="o" if not iid else "s",
                          ls=style, color=f"C{n}", label=f"{fam} family, {learner}: {what}")
    mix = summary.get("mixing_time_by_p", {})
    top = ax.twiny()
    top.set_xlim(ax.get_xlim())
    top.set_xticks(ps, [f"{mix.get(str(p), np.nan):.0f}" for p in ps], fontsize=8)
    top.set_xlabel(f"mixing time of the {cfg.p_family} family's handoff chain (handoffs)", fontsize=8)
    ax.set_xlabel("handoff probability p per step (smaller: longer invocations)")
    ax.set_ylabel(_ERR_LABEL)
    ax.set_title("Longer invocations (fixed per-handoff discount);\ndashed: the same learner on i.i.d. states",
                 fontsize=9)
    _legend_below(ax)


def _width_panel(ax: Any, rows: list[dict[str, Any]], summary: dict[str, Any], cfg: T2Config) -> None:
    wid = [r for r in rows if r["scan"] == "width"]
    widths = sorted(cfg.widths)
    for n, rho in enumerate(cfg.width_rhos):
        groups = [[r["rel_error"] for r in wid if r["rho"] == rho and r["width"] == w] for w in widths]
        _errorbar(ax, widths, groups, marker="o", color=f"C{n}", label=f"rho = {rho}: learned")
        floor = summary.get("exact_floor_by_rho", {}).get(str(rho))
        if floor is not None:
            ax.axhline(floor, color=f"C{n}", ls=":", lw=1.2, label=f"rho = {rho}: exact floor of the view")
    ax.set_xscale("log")
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.minorticks_off()
    ax.set_xlabel("hidden width of each agent's network")
    ax.set_ylabel(_ERR_LABEL)
    ax.set_title("Wider networks: the error floors where the view\n(rho = share of states told apart) puts it",
                 fontsize=9)
    _legend_below(ax)


def t2_figure(path: Path, rows: list[dict[str, Any]], summary: dict[str, Any], cfg: T2Config) -> Path:
    """Write T2's figure to ``path``."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(17, 6.2))
    if any(r["scan"] == "budget" for r in rows):
        _budget_panel(axes[0], rows, summary)
    if any(r["scan"] == "p" for r in rows):
        _p_panel(axes[1], rows, summary, cfg)
    if any(r["scan"] == "width" for r in rows):
        _width_panel(axes[2], rows, summary, cfg)
    fig.suptitle(f"T2 {SIMULATED_TAG}: the three sources of IC-Q's error (sampling, invocation length and mixing, "
                 "the agents' view), one scan each (synthetic IC-SMDP)", fontsize=11)
    return save(fig, path)
