"""Tests for the ``cpu`` experiment (handoffq.experiments.cpu)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from handoffq.config import ConfigError
from handoffq.experiments.registry import run_experiment


def test_smoke_writes_outputs(tmp_path: Path) -> None:
    summary = run_experiment("cpu", tmp_path, "quick", fractions="0.2,1.0", seeds="1", budget="300",
                             central_budget="100", n_test="20")
    for name in ("config.json", "results.csv", "summary.json", "accuracy_by_fraction.png",
                 "methods_unseen_accuracy.png"):
        assert (tmp_path / name).exists(), name
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["simulated"] is True and saved["simulated_note"]
    assert 0.0 <= summary["unseen_accuracy"] <= 1.0
    assert set(summary["accuracy_by_fraction"]) == {"0.2", "1.0"}
    assert set(summary["baselines"]) == {"random", "fixed_pipeline", "centralised"}
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["preset"] == "quick" and config["seed"] == 0 and config["n_test"] == 20


def test_bad_fraction_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="fractions"):
        run_experiment("cpu", tmp_path, "quick", fractions="0,2")
    assert not (tmp_path / "config.json").exists()  # nothing ran


@pytest.mark.slow
def test_quick_meets_paper_accuracy(tmp_path: Path) -> None:
    """The issue's check: quick preset, >= 3 seeds, unseen accuracy >= 0.8 at 20%."""
    summary = run_experiment("cpu", tmp_path, "quick")
    assert summary["n_seeds"] >= 3
    assert summary["unseen_accuracy"] >= 0.8
