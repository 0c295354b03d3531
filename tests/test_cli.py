import json

from typer.testing import CliRunner

from handoffq.cli import app

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, list(args))


def test_unknown_experiment_is_one_clear_line():
    res = _run("experiment", "nope")
    assert res.exit_code == 2
    assert "unknown experiment 'nope'" in res.output
    assert "Traceback" not in res.output


def test_rho_outside_unit_interval_is_a_clear_error(tmp_path):
    res = _run("experiment", "t1", "--out", str(tmp_path / "o"), "--rhos", "1,1.5")
    assert res.exit_code == 2
    assert "--rhos" in res.output and "<= 1.0" in res.output
    assert "Traceback" not in res.output


def test_malformed_config_names_file_and_line(tmp_path):
    cfg = tmp_path / "bad.json"
    cfg.write_text('{\n  "seeds": 2,\n  "budget": \n}\n')
    res = _run("experiment", "t1", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert res.exit_code == 2
    assert "bad.json" in res.output and "line 4" in res.output
    assert "Traceback" not in res.output


def test_config_field_of_wrong_type(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"seeds": "many"}))
    res = _run("experiment", "t1", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert res.exit_code == 2 and "--seeds" in res.output


def test_unknown_option_is_named(tmp_path):
    res = _run("experiment", "t1", "--out", str(tmp_path / "o"), "--budget", "200", "--seeds", "1",
               "--rhos", "1", "--colour", "red")
    assert res.exit_code == 2 and "--colour" in res.output


def test_bad_runtime_is_named(tmp_path):
    res = _run("experiment", "t1", "--runtime", "gpu-cluster", "--out", str(tmp_path))
    assert res.exit_code == 2 and "--runtime" in res.output


def test_list_names_core_experiments():
    res = _run("list")
    assert res.exit_code == 0
    assert "t1" in res.output and "t2" in res.output
