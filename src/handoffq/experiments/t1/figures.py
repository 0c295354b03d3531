"""T1's figure ``t1_ais_vs_value_gap.png`` (readable without the paper).

Panels: for each learner with a retention-ratio scan, the value lost against the AIS gap (one
point per cell, coloured by rho, shaped by interface design); the normalised score against rho
per design (mean over instances, 95% confidence intervals); the baselines at full view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from handoffq.experiments.plotting import SIMULATED_TAG, pyplot, save
from handoffq.experiments.stats import mean_ci

__all__ = ["t1_figure"]

_MARKS = {"identity": ("*", "full view (rho = 1)"), "similar": ("o", "merge value-similar states"),
          "random": ("s", "merge states at random"), "dissimilar": ("^", "merge value-dissimilar states"),
          "rank": ("D", "merge states by a fixed random ranking")}
_RHO_LABEL = "rho: share of task states an agent tells apart"
_SCORE_LABEL = "normalised score (0 = random successors, 1 = oracle)"


def _ci(values: list[float]) -> tuple[float, float, float]:
    m, lo, hi = mean_ci(values)
    return m, m - lo, hi - m


def _scatter(fig: Any, ax: Any, lr: list[dict[str, Any]], learner: str, stats: dict[str, Any]) -> None:
    from matplotlib.lines import Line2D

    sc = None
    for design, (mark, _) in _MARKS.items():
        sel = [r for r in lr if r["design"] == design]
        if sel:
            sc = ax.scatter([r["ais_gap"] for r in sel], [r["value_gap"] for r in sel], c=[r["rho"] for r in sel],
                            cmap="viridis", vmin=0, vmax=1, marker=mark, s=36, edgecolor="k", linewidth=0.5)
    if sc is not None:
        fig.colorbar(sc, ax=ax, label=_RHO_LABEL)
    handles = [Line2D([], [], marker=_MARKS[d][0], ls="", color="grey", markeredgecolor="k", label=_MARKS[d][1])
               for d in _MARKS if any(r["design"] == d for r in lr)]
    ax.set_xlabel("AIS gap of the agents' view (exact; 0 = nothing lost)")
    ax.set_ylabel("value lost against the full view (exact)")
    ax.set_title(f"{learner} IC-Q: Pearson r = {stats['pearson_r']:.2f}; within one rho r = "
                 f"{stats['partial_r_given_rho']:.2f}\nrho alone predicts r = {stats['pearson_r_one_minus_rho']:.2f};"
                 f" paper's sup form r = {stats['pearson_r_paper_form']:.2f}", fontsize=9)
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)


def _score_by_rho(ax: Any, lr: list[dict[str, Any]], learner: str) -> None:
    rhos = sorted({r["rho"] for r in lr})
    for n, design in enumerate(d for d in _MARKS if d != "identity" and any(r["design"] == d for r in lr)):
        pts = [(rho, [r["normalised"] for r in lr if r["rho"] == rho and r["design"] in (design, "identity")])
               for rho in rhos]
        stats = [_ci(v) for _, v in pts]
        ax.errorbar([p[0] + 0.006 * (n - 1) for p in pts], [s[0] for s in stats],
                    yerr=np.array([[s[1] for s in stats], [s[2] for s in stats]]), marker=_MARKS[design][0],
                    capsize=3, label=_MARKS[design][1])
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(_RHO_LABEL)
    ax.set_ylabel(_SCORE_LABEL)
    ax.set_title(f"{learner} IC-Q: score as the view coarsens\n(mean over instances, 95% CI)", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)


def _baselines(ax: Any, summary: dict[str, Any], learner: str) -> None:
    other = "neural" if learner == "tabular" else "tabular"
    specs = [(f"IC-Q\n({learner})", "icq_normalised_rho1_by_seed", "C0"),
             (f"IC-Q\n({other})", f"icq_normalised_rho1_by_seed_{other}", "C0"),
             ("naive\nindependent Q", "naive_normalised_rho1_by_seed", "C3"),
             ("naive Q\nfixed point", "naive_fixed_point_normalised_by_seed", "C3"),
             ("centralised Q\n(sees latent state)", "centralised_normalised_rho1_by_seed", "C2")]
    bars = [(name, list(summary[key]), colour) for name, key, colour in specs if summary.get(key)]
    for x, (_, vals, colour) in enumerate(bars):
        m, lo, hi = _ci(vals)
        ax.bar(x, m, color=colour, alpha=0.6)
        ax.errorbar(x, m, yerr=[[lo], [hi]], color="k", capsize=4)
        ax.scatter(np.full(len(vals), x) + np.linspace(-0.15, 0.15, len(vals)), vals, color="k", s=10, zorder=3)
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.set_ylabel(_SCORE_LABEL)
    ax.set_title("Full view (rho = 1): is value passing needed?\n(bars: mean over instances, 95% CI; "
                 "dots: instances)", fontsize=9)


def t1_figure(path: Path, rows: list[dict[str, Any]], summary: dict[str, Any], learner: str) -> Path:
    """Write T1's figure to ``path``."""
    plt = pyplot()
    scans = sorted({r["learner"] for r in rows if r["rho"] < 1.0}, key=lambda x: x != learner)
    n = len(scans) + 2
    fig, axes = plt.subplots(1, n, figsize=(5.4 * n, 5.6))
    for ax, name in zip(axes, scans):
        suffix = "" if name == learner else f"_{name}"
        stats = {k: summary[k + suffix] for k in ("pearson_r", "partial_r_given_rho", "pearson_r_one_minus_rho",
                                                  "pearson_r_paper_form")}
        _scatter(fig, ax, [r for r in rows if r["learner"] == name], name, stats)
    _score_by_rho(axes[-2], [r for r in rows if r["learner"] == learner], learner)
    _baselines(axes[-1], summary, learner)
    fig.suptitle(f"T1 {SIMULATED_TAG}: does the AIS gap of the agents' view predict the value it costs? "
                 "(synthetic IC-SMDP)", fontsize=11)
    return save(fig, path)
