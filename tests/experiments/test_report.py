import json

from handoffq.experiments.common import write_csv, write_json
from handoffq.experiments.report import write_report


def test_report_has_tables_figures_and_flags_missing(tmp_path):
    d = tmp_path / "t1"
    write_json(d / "summary.json", {"pearson_r": 0.91, "simulated": True, "simulated_note": "synthetic"})
    write_csv(d / "results.csv", [{"rho": 1.0, "value": 2.5}, {"rho": 0.5, "value": 2.0}])
    (d / "fig.png").write_bytes(b"\x89PNG")
    (d / "table1.md").write_text("| dataset | Direct |\n|---|---|\n| mathqa | 0.3 |\n")
    path = write_report(tmp_path, [("t1", "T1 desc", 3.2), ("t2", "T2 desc", None)], quick=True)
    text = path.read_text()
    assert "| pearson_r | 0.91 |" in text
    assert "**Simulated:** synthetic" in text
    assert "![t1 fig](t1/fig.png)" in text
    assert "| rho | value |" in text
    assert "| mathqa | 0.3 |" in text
    assert "## t2" in text and "Not run or failed" in text
    assert json.loads((d / "summary.json").read_text())["pearson_r"] == 0.91
