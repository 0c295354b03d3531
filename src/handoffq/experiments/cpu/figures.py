"""The CPU experiment's figures (plain-language labels; every title says the CPU is simulated)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from handoffq.experiments.cpu.config import HEADLINE_FRACTION
from handoffq.experiments.plotting import SIMULATED_TAG, pyplot, save

__all__ = ["LABELS", "fraction_figure", "learning_curve_figure", "methods_figure"]

LABELS = {"icq": "IC-Q (learned handoffs)", "fixed_pipeline": "fixed pipeline (learned local actions)",
          "memorising": "memorising table", "centralised": "centralised (sees whole state)", "random": "random"}
SHORT = {"icq": "IC-Q\n(learned handoffs)", "fixed_pipeline": "fixed\npipeline", "memorising": "memorising\ntable",
         "centralised": "centralised\n(whole state)", "random": "random"}
COLORS = {"icq": "C0", "fixed_pipeline": "C1", "memorising": "C2", "centralised": "C3", "random": "C7"}


def learning_curve_figure(path: Path, summary: dict[str, Any]) -> Path:
    """Seen (dashed) and unseen (solid) accuracy against the training budget, bands over seeds."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.6))
    for m, pts in summary["curve"].items():
        x = [p["budget"] / 1e3 for p in pts]
        for part, ls in (("unseen", "-"), ("seen", "--")):
            ax.plot(x, [p[part] for p in pts], ls, marker="o", ms=3, color=COLORS[m],
                    label=f"{LABELS[m]}, {part} values")
            ax.fill_between(x, [p[f"{part}_min"] for p in pts], [p[f"{part}_max"] for p in pts],
                            color=COLORS[m], alpha=0.12, lw=0)
    ax.axhline(0.8, color="grey", ls=":", lw=1, label="paper's claim: 80% on unseen values")
    ax.set_xlabel("training budget (thousands of handoffs)")
    ax.set_ylabel("share of tasks solved exactly")
    ax.set_ylim(-0.02, 1.02)
    n = summary["n_seeds"]
    band = "band: range over seeds" if n > 1 else "band: 95% interval over test tasks (one seed)"
    ax.set_title(f"CPU {SIMULATED_TAG}: trained on values in {HEADLINE_FRACTION:.0%} of the range\n"
                 f"{n} seed(s); {band}", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return save(fig, path)


def fraction_figure(path: Path, summary: dict[str, Any]) -> Path:
    """Unseen accuracy against the share of the range trained on (error bars: range over seeds)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.4))
    by = summary["accuracy_by_fraction"]
    fs = sorted(by, key=float)
    methods = sorted({m for f in fs for m in by[f]}, key=list(LABELS).index)
    for m in methods:
        xs = [float(f) for f in fs if m in by[f]]
        vals = [by[f][m]["unseen_by_seed"] for f in fs if m in by[f]]
        mean = np.array([np.mean(v) for v in vals])
        err = np.array([[mean[i] - min(v), max(v) - mean[i]] for i, v in enumerate(vals)]).T
        ax.errorbar(np.array(xs) * 100, mean, yerr=err, marker="o", capsize=3, color=COLORS[m], label=LABELS[m])
    ax.axhline(0.8, color="grey", ls=":", lw=1, label="paper's claim: 80%")
    ax.set_xlabel("share of the integer range seen in training (%)")
    ax.set_ylabel("share of unseen-value tasks solved")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"CPU {SIMULATED_TAG}: generalisation vs training range\n"
                 "(100%: nothing held out, fresh tasks over the whole range; error bars: range over seeds)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return save(fig, path)


def methods_figure(path: Path, summary: dict[str, Any], methods: tuple[str, ...]) -> Path:
    """Seen and unseen accuracy of every method at the headline fraction (95% intervals)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 4.4))
    width = 0.38
    for j, part in enumerate(("seen", "unseen")):
        means, errs = [], []
        for m in methods:
            pre = "" if m == "icq" else f"{m}_"
            v = summary[f"{pre}{part}_accuracy"]
            lo, hi = summary.get(f"{pre}{part}_accuracy_ci95_tasks") or summary[f"{pre}{part}_accuracy_ci95"]
            means.append(v)
            errs.append([max(v - lo, 0.0), max(hi - v, 0.0)])
        ax.bar(np.arange(len(methods)) + (j - 0.5) * width, means, width, yerr=np.array(errs).T, capsize=3,
               color="C0" if part == "unseen" else "lightsteelblue",
               label=f"{part} values ({'held-out 80%' if part == 'unseen' else 'training 20%'} of the range)")
    ax.axhline(0.8, color="grey", ls=":", lw=1, label="paper's claim: 80% on unseen values")
    ax.set_xticks(np.arange(len(methods)), [SHORT[m] for m in methods], fontsize=8)
    ax.set_ylabel("share of tasks solved exactly")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"CPU {SIMULATED_TAG}: every method trained on {HEADLINE_FRACTION:.0%} of the range\n"
                 "error bars: 95% interval over seeds (one seed: over test tasks)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return save(fig, path)
