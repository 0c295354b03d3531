"""The llm-math figures (plain-language labels, legends outside the data, SIMULATED in every
title): ``sensitivity.png`` (exact optimum minus best workflow over copy fidelity x cap) and
``learning_curves.png`` (IC-Q's greedy accuracy over LLM calls, mean and min-max band over
seeds, against the exact optimum and the best workflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from handoffq.envs.llm_math.workflows import WORKFLOW_LABELS
from handoffq.experiments.plotting import pyplot, save

__all__ = ["learning_curve_figure", "sensitivity_figure"]

_SIM = "SIMULATED LLM"


def _heat(ax: Any, cells: list[dict[str, Any]], ds: str) -> Any:
    copies = sorted({c["copy"] for c in cells})
    caps = sorted({c["cap"] for c in cells})
    grid = np.full((len(copies), len(caps)), np.nan)
    for c in cells:
        if c["feasible"]:
            grid[copies.index(c["copy"]), caps.index(c["cap"])] = c["optimum_minus_best_workflow"]
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=0.0)
    ax.set_xticks(range(len(caps)), [str(c) for c in caps])
    ax.set_yticks(range(len(copies)), [f"{c:g}" for c in copies])
    ax.set_xlabel("cap: most role turns per question")
    ax.set_ylabel("copy fidelity of the editor")
    ax.set_title(ds, fontsize=10)
    for i in range(len(copies)):
        for j in range(len(caps)):
            v = grid[i, j]
            ax.text(j, i, "no fit" if np.isnan(v) else f"{v:.3f}", ha="center", va="center", fontsize=6,
                    color="0.35" if np.isnan(v) else ("w" if v < 0.5 * np.nanmax(grid) else "k"))
    return im


def sensitivity_figure(path: Path, cells: list[dict[str, Any]], datasets: tuple[str, ...],
                       default: tuple[float, int]) -> Path:
    """Heat maps: exact best routing (4 bits + budget) minus the best predefined workflow."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.4 * len(datasets), 4.0), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=True):
        im = _heat(ax, [c for c in cells if c["dataset"] == ds], ds)
        fig.colorbar(im, ax=ax, fraction=0.046, label="accuracy gained over the best workflow")
    fig.suptitle(f"How much the best routing beats the best fixed workflow [{_SIM}]\n"
                 f"0 = a workflow is optimal; 'no fit' = Table 1 cannot be reproduced; default setting: "
                 f"copy {default[0]:g}, cap {default[1]}", fontsize=9)
    return save(fig, path)


def _band(ax: Any, curves: list[list[tuple[int, float]]], color: str, label: str) -> None:
    n = min(len(c) for c in curves)
    x = np.array([c[i][0] for i in range(n) for c in curves[:1]], float)
    y = np.array([[c[i][1] for i in range(n)] for c in curves])
    seeds = f"{len(curves)} seed" + ("s" if len(curves) > 1 else "")
    ax.plot(x, y.mean(axis=0), color=color, label=f"{label}: mean over {seeds}")
    if len(curves) > 1:
        ax.fill_between(x, y.min(axis=0), y.max(axis=0), color=color, alpha=0.2, label=f"{label}: min-max over seeds")


def learning_curve_figure(path: Path, curves: dict[str, dict[str, list[list[tuple[int, float]]]]],
                          summary: dict[str, Any]) -> Path:
    """One panel per dataset: IC-Q's greedy routing (exact accuracy) over LLM calls spent."""
    plt = pyplot()
    ds_list = list(curves)
    fig, axes = plt.subplots(1, len(ds_list), figsize=(4.6 * len(ds_list), 4.2), squeeze=False)
    names = {"budget": "IC-Q, 4 bits + budget", "bits4": "IC-Q, 4 bits only"}
    for ax, ds in zip(axes[0], ds_list, strict=True):
        for k, (iface, cs) in enumerate(curves[ds].items()):
            _band(ax, cs, f"C{k}", names[iface])
        ax.axhline(summary["class_optimum"][summary["interface"]][ds], color="k", ls="--", lw=1,
                   label="exact best routing")
        bw = summary["best_workflow"][ds]
        ax.axhline(summary["exact"][ds]["workflows"][bw], color="C3", ls=":", lw=1.2,
                   label=f"best fixed workflow ({WORKFLOW_LABELS.get(bw, bw)})")
        opt = summary["class_optimum"][summary["interface"]][ds]
        ax.set_ylim(max(0.0, summary["exact"][ds]["workflows"][bw] - 0.1), min(1.0, opt + 0.02))
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x / 1000:g}k")
        ax.set_xlabel("LLM calls spent in training")
        ax.set_ylabel("accuracy of the learned routing")
        ax.set_title(ds, fontsize=10)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.24), ncol=1, frameon=False)
    fig.suptitle(f"IC-Q learning curves [{_SIM}]\n(accuracy axis starts 0.1 below the best fixed workflow)", fontsize=9)
    return save(fig, path)
