"""The llm-math experiment end to end (simulated backend, tiny budget) and option errors."""

import json

import pytest

from handoffq.experiments.common import ExperimentError, RunContext
from handoffq.experiments.llm_math import COLUMNS, run


def test_small_run_writes_everything(tmp_path) -> None:
    ctx = RunContext(
        out=tmp_path,
        quick=True,
        seed=0,
        options={
            "dataset": "mmlu-elem",
            "episodes": "300",
            "n-train": "100",
            "n-test": "200",
            "estimator": "tabular",
        },
    )
    summary = run(ctx)
    for f in (
        "config.json",
        "results.csv",
        "summary.json",
        "table1.md",
        "accuracy.png",
        "routing_mmlu-elem.png",
    ):
        assert (tmp_path / f).exists(), f
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["simulated"] is True and "SIMULATED" in s["simulated_note"]
    assert json.loads((tmp_path / "config.json").read_text())["simulated"] is True
    assert set(s["accuracy"]["mmlu-elem"]) == set(COLUMNS)
    assert isinstance(s["recovered_best"]["mmlu-elem"], bool)
    assert s["optimum_accuracy"]["mmlu-elem"] >= s["icq_expected_accuracy"]["mmlu-elem"] - 1e-9
    assert s["optimum_equals"]["mmlu-elem"] == ["cot"]
    assert s["llm_calls"]["mmlu-elem"]["icq_training"] > 0
    assert summary["calls_per_question"]["mmlu-elem"]["direct"] == 1.0
    assert "SIMULATED" in (tmp_path / "table1.md").read_text()


def test_bad_options(tmp_path) -> None:
    with pytest.raises(ExperimentError, match="--backend"):
        run(RunContext(out=tmp_path, options={"backend": "gpt"}))
    with pytest.raises(ExperimentError, match="needs --model"):
        run(RunContext(out=tmp_path, options={"backend": "openai"}))
    with pytest.raises(ExperimentError, match="unknown option"):
        run(RunContext(out=tmp_path, options={"bogus": "1"}))


@pytest.mark.slow
def test_quick_run_recovers_best(tmp_path) -> None:
    s = run(RunContext(out=tmp_path, quick=True, seed=0))
    for d in ("mathqa", "mmlu-hs", "mmlu-elem"):
        assert s["recovered_best"][d]
        assert s["optimum_accuracy"][d] - s["icq_expected_accuracy"][d] <= 0.005
