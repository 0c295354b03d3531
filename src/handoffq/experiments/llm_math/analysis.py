"""Exact quantities of the simulated llm-math model (no learning): class optima of both
interfaces, the workflows, the perfect-recall and clairvoyant bounds, and the copy x cap
sensitivity grid."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from handoffq.envs.llm_math.exact import (
    HiddenTable,
    clairvoyant,
    evaluate,
    hidden_table,
    optimum,
    perfect_recall_optimum,
)
from handoffq.envs.llm_math.workflows import WORKFLOWS, describe_table, equivalent_workflows, workflow_table
from handoffq.llm.base import LLMError
from handoffq.llm.simulated import SimParams, calibration

__all__ = ["DatasetExact", "class_optimum", "dataset_exact", "sensitivity", "workflow_accuracies"]

WF = tuple(WORKFLOWS)


@dataclass
class DatasetExact:
    """Exact figures of one dataset's calibration (see the module docstring)."""

    dataset: str
    params: SimParams
    hid: HiddenTable
    cap: int
    optima: dict[str, dict[str, Any]]
    workflows: dict[str, float]
    best_workflow: str
    perfect_recall: float
    clairvoyant: float
    clairvoyant_right: np.ndarray


def class_optimum(hid: HiddenTable, cap: int, interface: str) -> dict[str, Any]:
    """The exact best routing table of an interface class, with what it equals and its routing."""
    o = optimum(hid, cap, 0.0, interface)
    eq = equivalent_workflows(o.table, o.visited, interface, cap)
    return {"accuracy": o.accuracy, "calls": o.calls, "equals": eq, "is_workflow": bool(eq),
            "routing": describe_table(o.table, o.visited, interface, cap), "bound_perfect_recall": o.bound,
            "branches": o.branches, "table": o.table}


def workflow_accuracies(hid: HiddenTable, cap: int) -> dict[str, float]:
    """Exact accuracy of Direct and the four workflows under the cap."""
    return {w: evaluate(workflow_table(w), hid, cap)["accuracy"] for w in WF}


def dataset_exact(dataset: str, copy: float, cap: int, interfaces: list[str]) -> DatasetExact:
    """Every exact figure of ``dataset`` at copy fidelity ``copy`` and cap ``cap``."""
    params = calibration(dataset, copy)
    hid = hidden_table(params)
    wf = workflow_accuracies(hid, cap)
    cv = clairvoyant(hid, cap)
    return DatasetExact(
        dataset, params, hid, cap, {i: class_optimum(hid, cap, i) for i in interfaces}, wf,
        max(wf, key=lambda w: wf[w]), perfect_recall_optimum(hid, cap)["accuracy"], cv["accuracy"], cv["right"],
    )


def _cell(ds: str, copy: float, cap: int, hid: HiddenTable) -> dict[str, Any]:
    wf = workflow_accuracies(hid, cap)
    best = max(wf, key=lambda w: wf[w])
    cell: dict[str, Any] = {"dataset": ds, "copy": copy, "cap": cap, "feasible": True,
                            "best_workflow": best, "best_workflow_accuracy": wf[best]}
    for iface in ("budget", "bits4"):
        o = optimum(hid, cap, 0.0, iface)
        cell[f"optimum_{iface}"] = o.accuracy
        cell[f"optimum_is_workflow_{iface}"] = bool(equivalent_workflows(o.table, o.visited, iface, cap))
    cell["optimum_minus_best_workflow"] = cell["optimum_budget"] - wf[best]
    return cell


def sensitivity(datasets: tuple[str, ...], copies: tuple[float, ...], caps: tuple[int, ...]) -> list[dict[str, Any]]:
    """Exact class optima (both interfaces) against the best workflow over copy x cap.

    Infeasible cells (no probabilities reproduce Table 1 with that copy fidelity) are reported
    with ``feasible: false`` and the reason.
    """
    cells = []
    for ds in datasets:
        for c in copies:
            try:
                hid = hidden_table(calibration(ds, c))
            except LLMError as exc:
                cells += [{"dataset": ds, "copy": c, "cap": cap, "feasible": False, "reason": str(exc)}
                          for cap in caps]
                continue
            cells += [_cell(ds, c, cap, hid) for cap in caps]
    return cells
