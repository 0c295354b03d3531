"""llm-math in CI: the quick preset (``handoffq experiment llm-math --quick --seed 100``) runs
here on a held-out seed shift (IC-Q's learner was tuned on seeds 0-4 only; 100-104 were not
looked at while tuning) and the checks of issue 11 are asserted.

Thresholds that do not hold are not bent: they are strict xfails whose reason gives the figures
measured on the tuning seed shift (0) and the held-out shifts (100, 1000).
"""

import pytest

from handoffq.experiments.registry import run_experiment

CI_SEED = 100
DATASETS = ("mathqa", "mmlu-hs", "mmlu-elem")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return run_experiment("llm-math", tmp_path_factory.mktemp("llm_math"), preset="quick", seed=CI_SEED)


def test_quick_runs_five_seeds_on_every_dataset_labelled_simulated(quick):
    assert quick["simulated"] is True and "SIMULATED" in quick["simulated_note"]
    assert quick["arranged"] is False and quick["seeds"] == list(range(CI_SEED, CI_SEED + 5))
    for d in DATASETS:
        assert len(quick["gap_to_optimum"][d]) == 5
        assert all(g >= -1e-9 for g in quick["gap_to_optimum"][d])


def test_optimum_is_no_workflow_on_at_least_two_datasets(quick):
    assert sum(not quick["optimum_is_workflow"][d] for d in DATASETS) >= 2


def test_icq_beats_the_best_workflow_where_the_optimum_is_no_workflow(quick):
    for d in DATASETS:
        if not quick["optimum_is_workflow"][d]:
            assert quick["icq_minus_best_workflow"][d] > 0, d


def test_interfaces_and_baselines_are_reported(quick):
    for d in DATASETS:
        assert quick["interface_value_lost"][d] >= -1e-9
        assert len(quick["bits4_gap_to_default_optimum"][d]) == 1
        assert quick["clairvoyant"][d] >= quick["class_optimum"]["budget"][d] - 1e-12
        for col in ("direct", "ucb1", "cot_sc", "clairvoyant", "optimum"):
            assert col in quick["table1"][d]


GAP_REASON = "PLACEHOLDER"


def test_gap_to_optimum_within_0_005_on_every_seed(quick):
    bad = {d: [round(g, 4) for g in quick["gap_to_optimum"][d] if g > 0.005] for d in DATASETS}
    assert not any(bad.values()), bad
