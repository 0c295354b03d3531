"""T1 and T2 in CI: the quick presets run here (not slow: one process, a few minutes) and every
threshold of issue 10 that holds is asserted; a tiny run checks the files, resumption and the
command line, and ``--seed N`` is checked to shift every seed.

Thresholds that do not hold are not asserted and not bent: they are strict xfails whose reason
gives the figures measured on the tuning seed (0) and two held-out seed shifts (100, 1000).
The summaries keep reporting the pre-registered definitions (``pearson_r``,
``mixing_spearman``).
"""

import json

import pytest
from typer.testing import CliRunner

from handoffq.cli import app
from handoffq.experiments.registry import run_experiment
from handoffq.experiments.t1 import T1Config, t1_cells
from handoffq.experiments.t2 import T2Config, t2_cells
from handoffq.io import read_csv
from handoffq.runtime.sweep import load_finished

cli = CliRunner()


@pytest.fixture(scope="module")
def t1_quick(tmp_path_factory):
    return run_experiment("t1", tmp_path_factory.mktemp("t1"), preset="quick")


@pytest.fixture(scope="module")
def t2_quick(tmp_path_factory):
    return run_experiment("t2", tmp_path_factory.mktemp("t2"), preset="quick")


def test_t1_quick_value_passing_is_necessary(t1_quick):
    assert t1_quick["icq_normalised_rho1"] >= 0.95
    assert t1_quick["icq_normalised_rho1_neural"] >= 0.95
    assert t1_quick["naive_normalised_rho1"] <= 0.85
    assert min(t1_quick["centralised_normalised_rho1_by_seed"]) >= 0.95  # the upper reference


def test_t1_quick_ais_gap_explains_the_value_gap_beyond_rho(t1_quick):
    assert t1_quick["partial_r_given_rho"] >= 0.5
    assert t1_quick["pearson_r"] > t1_quick["pearson_r_one_minus_rho"]
    assert t1_quick["n_cells"] == 85


@pytest.mark.xfail(strict=True, reason=(
    "pooled Pearson r of AIS gap and value gap is 0.761 / 0.753 / 0.695 on seeds 0 / 100 / 1000 "
    "(within one instance r = 0.72-0.95, but the slack of the AIS gap differs up to 10x across "
    "instances), below the issue's 0.8"))
def test_t1_quick_pearson_r_reaches_0_8(t1_quick):
    assert t1_quick["pearson_r"] >= 0.8


def test_t2_quick_budget_and_width_thresholds(t2_quick):
    assert t2_quick["budget_slope"] < -0.3
    assert t2_quick["budget_slope_last"] < -0.3  # no flattening tail
    assert set(t2_quick["floor_gap_by_rho"]) == {"1.0", "0.5", "0.2"}
    assert all(v <= 0.1 for v in t2_quick["floor_gap_by_rho"].values())
    assert t2_quick["floors_ordered"]


def test_t2_quick_mixing_varies_with_p(t2_quick):
    """The commit family does what it was built for: mixing slows as invocations lengthen.

    ``mixing_spearman > 0.5`` (the issue's threshold) is reported, not asserted: it is
    confounded (see the xfail below) and missed on one held-out seed set before the port.
    """
    assert not t2_quick["mixing_not_varied"]
    assert t2_quick["mixing_slows_as_p_falls"]


@pytest.mark.xfail(strict=True, reason=(
    "error does grow with the measured mixing time (mixing_spearman 0.84 / 0.90 / 0.58 on seeds "
    "0 / 100 / 1000; 0.37 on seed 1000 before the port), but the i.i.d.-sampling control at the "
    "same p is as large: the growth comes from what p does to the problem (Q* scale, option "
    "length), not from the correlated sample stream (mixing_spearman_excess -0.05 / 0.37 / -0.21)"))
def test_t2_quick_error_grows_because_mixing_slows(t2_quick):
    assert t2_quick["mixing_spearman_excess"] > 0.5


def test_seed_shifts_every_seed_of_t1_and_t2():
    cells, refs = t1_cells(T1Config.quick(), seed=100)
    assert {c["synthetic"]["instance_seed"] for c in cells + refs} == set(range(100, 105))
    assert {c["learn_seed"] for c in cells + refs} == set(range(100, 105))
    t2 = t2_cells(T2Config.quick(), seed=1000)
    assert {c["synthetic"]["instance_seed"] for c in t2} == {c["learn_seed"] for c in t2} == {1000, 1001, 1002}
    assert t2_cells(T2Config.quick()) != t2  # and the default is seed 0
    assert {c["learn_seed"] for c in t2_cells(T2Config.quick())} == {0, 1, 2}


def test_t1_tiny_run_writes_outputs_and_resumes(tmp_path):
    out = tmp_path / "t1"
    args = ["experiment", "t1", "--quick", "--out", str(out), "--seed", "7", "--seeds", "2", "--rhos", "1,0.5",
            "--random-merges", "1", "--tabular-budget", "2000", "--neural-budget", "1000"]
    res = cli.invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert {"pearson_r", "partial_r_given_rho", "icq_normalised_rho1", "naive_normalised_rho1",
            "icq_normalised_rho1_neural", "pearson_r_ci95"} <= set(summary)
    assert summary["simulated"] is True and summary["seeds"] == [7, 8]
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == 7 and config["tabular_budget"] == 2000 and config["neural.lr"] == 30.0
    rows = read_csv(out / "results.csv")
    assert len(rows) == 2 * (1 + 3) + 2  # tabular: rho 1 + 3 designs at 0.5; neural at rho = 1
    assert all(float(r["value_gap"]) == 0.0 for r in rows if float(r["rho"]) == 1.0)
    assert len(read_csv(out / "baselines.csv")) == 2
    assert (out / "t1_ais_vs_value_gap.png").stat().st_size > 10_000
    before = (out / "cells.jsonl").read_text()
    assert cli.invoke(app, args).exit_code == 0
    assert (out / "cells.jsonl").read_text() == before  # a rerun recomputes nothing
    assert len(load_finished(out / "cells.jsonl")) == len(rows)


def test_t2_tiny_run_writes_outputs(tmp_path):
    out = tmp_path / "t2"
    res = cli.invoke(app, ["experiment", "t2", "--quick", "--out", str(out), "--seeds", "1", "--width-seeds", "1",
                           "--budget-scale", "0.02", "--width-rhos", "1,0.3", "--widths", "4,8",
                           "--p-learners", "tabular", "--p-iid-control", "false"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert {"budget_slope", "mixing_spearman", "mixing_time_by_p", "floor_gap_by_rho", "exact_floor_by_rho",
            "width_floor_by_rho"} <= set(summary)
    assert set(summary["width_floor_by_rho"]) == {"1.0", "0.3"}
    assert summary["exact_floor_by_rho"]["1.0"] < 1e-9 < summary["exact_floor_by_rho"]["0.3"]
    assert (out / "t2_scans.png").stat().st_size > 10_000


def test_bad_t1_options_are_named_before_any_work(tmp_path):
    res = cli.invoke(app, ["experiment", "t1", "--out", str(tmp_path / "a"), "--designs", "similar,nope"])
    assert res.exit_code == 2 and "--designs" in res.output
    res = cli.invoke(app, ["experiment", "t1", "--out", str(tmp_path / "b"), "--compare-rhos", "0.5"])
    assert res.exit_code == 2 and "--compare-rhos" in res.output
    res = cli.invoke(app, ["experiment", "t1", "--out", str(tmp_path / "c"), "--learner", "forest"])
    assert res.exit_code == 2 and "--learner" in res.output
    assert not any((tmp_path / d).exists() for d in "abc")
