"""The llm-math experiment end to end (simulated backend, tiny budgets): files and keys, the
labelled paper-arranged preset (the arranged behaviour the earlier tests pinned: there the
optimum *is* a workflow), real-format MMLU files under the simulated backend, always-validated
--data, the MLP estimator path, and option errors."""

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from handoffq.cli import app
from handoffq.config import ConfigError
from handoffq.envs.llm_math.data import DataError
from handoffq.experiments.registry import run_experiment

DATA = Path(__file__).parents[2] / "envs" / "llm_math" / "data"
TINY = {"seeds": "2", "dataset": "mmlu-hs", "icq_calls": "6000", "n_train": "2000", "n_test": "400",
        "n_play": "10", "n_envs": "32", "sensitivity": "false", "curve_points": "3"}


def _tiny(tmp_path: Path, preset: str | None = None, **kw: str) -> dict:
    return run_experiment("llm-math", tmp_path, "quick", preset, **{**TINY, **kw})


def test_small_run_writes_everything(tmp_path: Path) -> None:
    s = _tiny(tmp_path, sensitivity="true", sens_copies="0.98,1.0", sens_caps="5,8")
    assert set(s["gap_to_optimum"]) == {"mmlu-hs"}
    for f in ("summary.json", "config.json", "results.csv", "learning_curves.csv", "table1.md",
              "sensitivity.png", "learning_curves.png"):
        assert (tmp_path / f).exists(), f
    j = json.loads((tmp_path / "summary.json").read_text())
    assert j["simulated"] is True and "SIMULATED" in j["simulated_note"] and "INPUTS" in j["simulated_note"]
    assert json.loads((tmp_path / "config.json").read_text())["simulated"] is True
    assert j["arranged"] is False and j["copy"] == 0.98 and j["max_handoffs"] == 8
    gaps = j["gap_to_optimum"]["mmlu-hs"]
    assert len(gaps) == 2 and all(g >= -1e-9 for g in gaps)
    assert isinstance(j["optimum_is_workflow"]["mmlu-hs"], bool)
    assert isinstance(j["icq_minus_best_workflow"]["mmlu-hs"], float)
    assert len(j["icq_accuracy"]["budget"]["mmlu-hs"]) == 2 and len(j["icq_accuracy"]["bits4"]["mmlu-hs"]) == 1
    assert j["interface_value_lost"]["mmlu-hs"] >= -1e-9
    assert len(j["bits4_gap_to_default_optimum"]["mmlu-hs"]) == 1
    t = j["table1"]["mmlu-hs"]
    for col in ("direct", "cot", "comb_e", "ucb1", "cot_sc", "icq_budget", "icq_bits4", "optimum", "clairvoyant"):
        assert col in t and 0.0 <= t[col]["mean"] <= 1.0
    assert j["calls_per_question"]["mmlu-hs"]["direct"] == 1.0
    assert j["cot_sc"]["mmlu-hs"]["calls_per_question"] == j["cot_sc"]["mmlu-hs"]["k"] + 1
    assert j["clairvoyant"]["mmlu-hs"] >= j["class_optimum"]["budget"]["mmlu-hs"] - 1e-12
    assert {(c["copy"], c["cap"]) for c in j["sensitivity"]} == {(0.98, 5), (0.98, 8), (1.0, 5), (1.0, 8)}
    table = (tmp_path / "table1.md").read_text()
    assert "SIMULATED" in table and "CoT-SC" in table and "clairvoyant bound" in table and " ± " in table
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 2 * 11 - 1  # 2 seeds x 11 columns, the 4-bit IC-Q on the first seed only
    assert all(r["simulated"] == "True" for r in rows)


def test_paper_arranged_preset_is_labelled_and_makes_a_workflow_optimal(tmp_path: Path) -> None:
    s = _tiny(tmp_path, "paper-arranged", seeds="1", dataset="mmlu-elem", compare_interfaces="false")
    assert s["arranged"] and "ARRANGED" in s["arranged_note"]
    assert s["max_handoffs"] == 5 and s["copy"] == 1.0
    assert s["optimum_is_workflow"]["mmlu-elem"] is True and s["optimum_equals"]["mmlu-elem"] == ["cot"]
    assert "ARRANGED" in (tmp_path / "table1.md").read_text()


@pytest.mark.parametrize(("ds", "name"), [("mmlu-hs", "high_school_mathematics_test.csv"),
                                          ("mmlu-elem", "elementary_mathematics_test.csv")])
def test_real_mmlu_files_run_under_the_simulated_backend(tmp_path: Path, ds: str, name: str) -> None:
    s = _tiny(tmp_path, seeds="1", dataset=ds, data=str(DATA / name), compare_interfaces="false")
    assert "file" in s["data_source"][ds]
    assert len(s["table1"][ds]["icq_budget"]["per_seed"]) == 1


def test_bad_data_is_always_validated_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"line 2, field answer"):
        _tiny(tmp_path / "a", data=str(DATA / "bad_mmlu_answer.csv"))
    with pytest.raises(DataError, match="does not exist"):
        _tiny(tmp_path / "b", data=str(tmp_path / "missing.csv"))
    assert not (tmp_path / "a" / "config.json").exists()
    res = CliRunner().invoke(app, ["experiment", "llm-math", "--quick", "--dataset", "mmlu-hs", "--data",
                                   str(DATA / "bad_mmlu_answer.csv"), "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and "bad_mmlu_answer.csv" in res.output and "Traceback" not in res.output


def test_mlp_estimator_path_runs(tmp_path: Path) -> None:
    s = _tiny(tmp_path, seeds="1", estimator="mlp", mlp_width="16", mlp_steps="3", icq_calls="4000",
              compare_interfaces="false")
    assert s["estimator"] == "mlp" and 0.0 <= s["icq_accuracy"]["budget"]["mmlu-hs"][0] <= 1.0


def test_bad_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--backend"):
        run_experiment("llm-math", tmp_path, backend="gpt")
    with pytest.raises(ConfigError, match="needs --model"):
        run_experiment("llm-math", tmp_path, backend="openai")
    with pytest.raises(ConfigError, match="unknown option"):
        run_experiment("llm-math", tmp_path, bogus="1")
    with pytest.raises(ConfigError, match="--data needs --dataset"):
        run_experiment("llm-math", tmp_path, data="x.csv")
    with pytest.raises(ConfigError, match="unknown variant"):
        run_experiment("llm-math", tmp_path, "quick", "nice")
    with pytest.raises(ConfigError, match="--copy"):
        run_experiment("llm-math", tmp_path, copy="1.5")
