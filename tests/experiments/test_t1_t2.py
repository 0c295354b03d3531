"""Small end-to-end runs of T1 and T2 (tiny budgets: these check the plumbing and the files;
the headline figures are checked by the --quick runs in CI's reproduce job)."""

import json

from typer.testing import CliRunner

from handoffq.cli import app
from handoffq.io import read_csv
from handoffq.runtime.sweep import load_finished

runner = CliRunner()


def test_t1_writes_all_outputs_and_resumes(tmp_path):
    out = tmp_path / "t1"
    args = ["experiment", "t1", "--out", str(out), "--seeds", "2", "--budget", "3000",
            "--rhos", "1,0.5,0.2"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert {"pearson_r", "rho_one_ratio", "simulated"} <= set(summary)
    assert summary["simulated"] is True
    config = json.loads((out / "config.json").read_text())
    assert config["budget"] == 3000 and config["rhos"] == [1.0, 0.5, 0.2]
    rows = read_csv(out / "results.csv")
    assert len(rows) == 6
    assert all(float(r["value_gap"]) == 0.0 for r in rows if float(r["rho"]) == 1.0)
    assert (out / "t1_ais_vs_value_gap.png").stat().st_size > 10_000
    # a rerun finds every cell finished and recomputes nothing
    before = (out / "cells.jsonl").read_text()
    res = runner.invoke(app, args)
    assert res.exit_code == 0
    assert (out / "cells.jsonl").read_text() == before
    assert len(load_finished(out / "cells.jsonl")) == 6


def test_t2_writes_all_outputs(tmp_path):
    out = tmp_path / "t2"
    res = runner.invoke(app, ["experiment", "t2", "--quick", "--out", str(out), "--seeds", "1",
                              "--budget-scale", "0.02", "--width-rhos", "1,0.3"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert {"budget_slope", "handoff_spearman", "width_floor_by_rho"} <= set(summary)
    assert set(summary["width_floor_by_rho"]) == {"1.0", "0.3"}
    assert (out / "t2_scans.png").exists()
