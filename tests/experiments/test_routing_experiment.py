"""Tests of the routing experiment's pieces and a tiny end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handoffq.config import ConfigError
from handoffq.experiments.registry import run_experiment
from handoffq.experiments.routing import recovery_steps


def test_recovery_steps_rule() -> None:
    starts = np.arange(11) * 10
    means = np.array([5, 5, 5, 20, 15, 6, 5, 6, 5, 5, 5], float)
    assert recovery_steps(starts, means, 30, threshold=6.0) == 20
    assert recovery_steps(starts, means, 30, threshold=4.0) is None
    means[6] = np.nan  # an empty bin does not count as recovered
    assert recovery_steps(starts, means, 30, threshold=6.0) == 40
    # a degradation that builds up after the failure is waited for, not ignored
    late = np.array([5, 5, 5, 5, 5, 5, 5, 20, 5, 5, 5, 5], float)
    assert recovery_steps(np.arange(12) * 10, late, 30, threshold=6.0) == 50
    assert recovery_steps(np.arange(12) * 10, np.full(12, 5.0), 30, threshold=6.0) == 0


@pytest.mark.slow
def test_tiny_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    summary = run_experiment("routing", tmp_path, "quick", families="chain,barabasi_albert", sizes="8", seeds="2",
                             loads="0.5,1.5", steps="300", fail_steps="400", bin="50", warmup="50")
    assert summary["min_accuracy"] == 1.0
    assert set(summary["accuracy"]) == {"chain", "barabasi_albert"}
    assert "high_load_ratio" in summary and "recovery_steps" in summary
    assert "recovery_steps_to_shortest_path_level" in summary
    assert summary["post_failure_level_ratio"] > 0
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["simulated"] is True and json.loads((tmp_path / "config.json").read_text())["simulated"]
    assert (tmp_path / "results.csv").exists()
    assert {p.name for p in tmp_path.glob("*.png")} >= {
        "accuracy_per_family.png",
        "delivery_vs_load.png",
    }


def test_bad_option() -> None:
    with pytest.raises(ConfigError, match="families"):
        run_experiment("routing", "/tmp/unused_routing", families="torus")


def test_static_part_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    summary = run_experiment("routing", tmp_path, "quick", families="chain,watts_strogatz", sizes="6,9", seeds="2",
                             parts="static")
    assert summary["min_accuracy"] == 1.0 and summary["all_stable"] is True
    assert summary["shortest_path_accuracy"] == 1.0
    assert all(v < 1.0 for v in summary["random_walk_accuracy"].values())
    assert (tmp_path / "accuracy_per_family.png").exists()
