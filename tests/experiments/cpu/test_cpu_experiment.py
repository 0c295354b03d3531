"""The ``cpu`` experiment's plumbing: outputs, keys, errors, schedules, the audited channel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from handoffq.config import ConfigError
from handoffq.core.channel import Channel, MessageBatch
from handoffq.envs.cpu import VecCPUEnv, sample_tasks
from handoffq.experiments.cpu.config import CPUExperimentConfig
from handoffq.experiments.cpu.team import LinearExploration, LinearStepSize, Trainer, build_team
from handoffq.experiments.registry import run_experiment


def test_smoke_writes_outputs_and_keys(tmp_path: Path) -> None:
    summary = run_experiment("cpu", tmp_path, "quick", budget="2000", n_test="10", seeds="2", checkpoints="2",
                             fractions="0.2,1.0", methods_all_fractions="icq",
                             methods="icq,memorising,fixed_pipeline,centralised,random")
    for name in ("config.json", "results.csv", "summary.json", "cells.jsonl", "learning_curve.png",
                 "accuracy_by_fraction.png", "methods_at_20_percent.png"):
        assert (tmp_path / name).exists(), name
    saved = json.loads((tmp_path / "summary.json").read_text())
    config = json.loads((tmp_path / "config.json").read_text())
    for data in (saved, config):
        assert data["simulated"] is True and "simulated" in data["simulated_note"]
        assert data["opcode_given"] is False and data["obs_contains_values"] is True
    for pre in ("", "memorising_", "fixed_pipeline_", "centralised_", "random_"):
        assert 0.0 <= summary[f"{pre}unseen_accuracy"] <= 1.0
        assert len(summary[f"{pre}unseen_accuracy_by_seed"]) == 2
        assert set(summary[f"{pre}unseen_by_kind"]) == {"MAX", "MIN", "ADD", "DIFF", "SWAP"}
    assert set(summary["accuracy_by_fraction"]) == {"0.2", "1.0"}
    assert [p["n"] for p in summary["curve"]["icq"]] == [2, 2]
    assert config["preset"] == "quick" and config["n_test"] == 10


def test_rerun_reads_finished_cells_back(tmp_path: Path) -> None:
    opts = {"budget": "500", "n_test": "5", "checkpoints": "1", "methods": "icq,random"}
    first = run_experiment("cpu", tmp_path, "quick", **opts)
    again = run_experiment("cpu", tmp_path, "quick", **opts)
    assert first["unseen_accuracy_by_seed"] == again["unseen_accuracy_by_seed"]
    assert len((tmp_path / "cells.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize(("opt", "value", "match"), [
    ("fractions", "0.5", "headline"), ("fractions", "0,2", "fractions"), ("methods", "icq,oracle", "methods"),
    ("eps_end", "0.9", "eps-end")])
def test_bad_options_are_clear_errors(tmp_path: Path, opt: str, value: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        run_experiment("cpu", tmp_path, "quick", **{opt: value})
    assert not (tmp_path / "config.json").exists()  # nothing ran


def test_schedules_fall_linearly() -> None:
    e = LinearExploration(epsilon=0.5, epsilon_min=0.05, horizon=100)
    assert [e.epsilon_at(t) for t in (0, 50, 100, 1000)] == pytest.approx([0.5, 0.275, 0.05, 0.05])
    s = LinearStepSize("constant", a0=1.0, horizon=10, final=0.1)
    assert s(np.array([0, 5, 10, 20]), 1).tolist() == pytest.approx([1.0, 0.55, 0.1, 0.1])


@pytest.mark.parametrize("method", ["icq", "fixed_pipeline", "centralised", "memorising"])
def test_only_three_numbers_cross_agent_boundaries(method: str) -> None:
    cfg = CPUExperimentConfig(n_envs=16, budget=2000)
    env = VecCPUEnv(cfg.env, 16, sample_tasks(50, np.arange(20), cfg.env, np.random.default_rng(8)), 0)
    team, view = build_team(method, env, cfg, 0)
    seen: list[object] = []
    trainer = Trainer(team, view, env, Channel(lambda src, dst, payload: seen.append(payload)))
    trainer.train(1500)
    assert trainer.activations >= 1500 and trainer.episodes > 0
    assert seen and all(isinstance(p, MessageBatch) for p in seen)
