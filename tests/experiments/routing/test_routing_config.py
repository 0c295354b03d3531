"""The routing experiment's options: presets, one-line errors before any work."""

from __future__ import annotations

import pytest

from handoffq.config import ConfigError, build_config, config_to_dict
from handoffq.experiments.registry import run_experiment
from handoffq.experiments.routing.config import RoutingExperimentConfig


def test_quick_preset_and_variants() -> None:
    q = RoutingExperimentConfig.quick()
    assert q.loads == (1.0, 2.0, 3.0) and q.stop_after_full == 3 and q.static_training == "episodic"
    assert q.icq_obs == "dest_wait" and q.icq.step == 0.3 and not q.ablation_all_loads
    flag = build_config(RoutingExperimentConfig, "quick", "paper-flag")
    assert flag.icq_obs == "dest_flag"
    d = config_to_dict(build_config(RoutingExperimentConfig, "full", None, [("icq.step", "0.5", "test")]))
    assert d["icq.step"] == 0.5 and d["icq_obs"] == "dest_wait"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"families": "torus"}, "families"),
        ({"icq.gamma": "0.9"}, "icq.gamma"),
        ({"icq.estimator": "table"}, "icq.estimator"),
        ({"measure_steps": "30000"}, "measure-steps"),
        ({"methods": "ic_q,magic"}, "methods"),
        ({"trace_loads": "2.5"}, "trace-loads"),
    ],
)
def test_bad_options_fail_before_any_work(tmp_path, options, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=match):
        run_experiment("routing", tmp_path, "quick", **options)
    assert not (tmp_path / "config.json").exists()
