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
    res = _run("experiment", "t1", "--out", str(tmp_path / "o"), "--tabular-budget", "200", "--seeds", "1",
               "--rhos", "1", "--colour", "red")
    assert res.exit_code == 2 and "--colour" in res.output


def test_bad_runtime_is_named(tmp_path):
    res = _run("experiment", "t1", "--runtime", "gpu-cluster", "--out", str(tmp_path))
    assert res.exit_code == 2 and "--runtime" in res.output


def test_list_names_core_experiments():
    res = _run("list")
    assert res.exit_code == 0
    assert "t1" in res.output and "t2" in res.output


def test_unwritable_out_is_one_line(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile, afile / "sub", "/proc/handoffq-nope"):
        res = _run("experiment", "t1", "--quick", "--out", str(out))
        assert res.exit_code == 2, (out, res.output)
        assert "--out" in res.output and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1, res.output


def test_help_lists_experiment_options():
    res = _run("experiment", "t1", "--help")
    assert res.exit_code == 0 and "--rhos" in res.output and "--synthetic.p" in res.output
    res = _run("experiment", "cpu", "--help")
    assert "--n-test" in res.output and "quick: 200" in res.output
    assert _run("--version").output.startswith("handoffq ")


def test_both_spellings_of_an_option_and_config_round_trip(tmp_path):
    from handoffq.config import config_from_dict
    from handoffq.experiments.t1 import T1Config

    for spelling in ("--tabular-envs", "--tabular_envs"):
        out = tmp_path / spelling
        res = _run("experiment", "t1", "--out", str(out), "--tabular-budget", "200", "--neural-budget", "200",
                   "--seeds", "1", "--rhos", "1", spelling, "16")
        assert res.exit_code == 0, res.output
        stored = json.loads((out / "config.json").read_text())
        assert stored["tabular_envs"] == 16 and stored["preset"] == "full"
        cfg = config_from_dict(T1Config, stored)
        assert cfg.tabular_envs == 16 and cfg.tabular_budget == 200 and cfg.rhos == (1.0,)


def test_bad_seed_and_workers_are_named(tmp_path):
    res = _run("experiment", "t1", "--quick", "--seed", "-1", "--out", str(tmp_path / "a"))
    assert res.exit_code == 2 and "--seed" in res.output
    assert not (tmp_path / "a").exists()  # nothing was written
    res = _run("experiment", "t1", "--quick", "--workers", "-3", "--out", str(tmp_path / "b"))
    assert res.exit_code == 2 and "--workers" in res.output
    res = _run("reproduce", "--quick", "--runtime", "nonsense", "--out", str(tmp_path / "c"))
    assert res.exit_code == 2 and "--runtime" in res.output and not (tmp_path / "c").exists()


def test_missing_api_key_is_one_line(tmp_path, monkeypatch):
    import pytest

    pytest.importorskip("openai")
    monkeypatch.delenv("HANDOFFQ_TEST_NO_KEY", raising=False)
    res = _run("experiment", "llm-math", "--backend", "openai", "--model", "m", "--dataset", "arith",
               "--api-key-env", "HANDOFFQ_TEST_NO_KEY", "--quick", "--out", str(tmp_path))
    assert res.exit_code == 2, res.output
    assert "HANDOFFQ_TEST_NO_KEY" in res.output and "Traceback" not in res.output


def test_reproduce_reruns_a_finished_run_of_other_settings(tmp_path, monkeypatch):
    from handoffq.experiments import registry

    calls = []
    original = registry.get("t1")
    fake = registry.Experiment(
        name="t1", description=original.description, config=original.config,
        run=lambda cfg, ctx: calls.append((ctx.preset, ctx.seed)) or _finished(cfg, ctx),
    )
    monkeypatch.setitem(registry._REGISTRY, "t1", fake)
    assert _run("reproduce", "--quick", "--only", "t1", "--out", str(tmp_path)).exit_code == 0
    assert _run("reproduce", "--quick", "--only", "t1", "--out", str(tmp_path)).exit_code == 0
    assert calls == [("quick", 0)]  # the same settings: reused
    assert _run("reproduce", "--quick", "--seed", "3", "--only", "t1", "--out", str(tmp_path)).exit_code == 0
    assert _run("reproduce", "--only", "t1", "--out", str(tmp_path)).exit_code == 0
    assert calls == [("quick", 0), ("quick", 3), ("full", 0)]
    report = (tmp_path / "report.md").read_text()
    assert "Preset: full" in report and "paper settings" not in report


def _finished(cfg, ctx):
    from handoffq.experiments.common import finish, write_config

    write_config("t1", cfg, ctx, True, "test")
    return finish(ctx, [{"a": 1}], {"pearson_r": 0.0}, True, "test")


def test_ctrl_c_says_where_results_are_and_how_to_resume(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "t1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "handoffq.cli", "experiment", "t1", "--quick", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "cells.jsonl").exists():
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "rerun the same command to resume" in output
    assert "cells.jsonl" in output and "Traceback" not in output
