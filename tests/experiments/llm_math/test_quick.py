"""llm-math in CI: the quick preset (``handoffq experiment llm-math --quick --seed 1000``) runs
here on a held-out seed shift (IC-Q's learner was tuned on seeds 0-4 only) and the checks of
issue 11 are asserted.

Thresholds that do not hold are not bent: they are strict xfails whose reason gives the figures
measured on the tuning seed shift (0) and the held-out shifts (100, 1000). The CI seed is 1000,
the held-out shift on which a threshold is missed, so the xfail is strict (it fails if the run
ever meets the threshold there, and the reason must then be re-measured).
"""

import pytest

from handoffq.experiments.registry import run_experiment

CI_SEED = 1000
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


@pytest.mark.xfail(strict=True, reason=(
    "gap_to_optimum (default interface, exact class optimum minus IC-Q's greedy routing) <= 0.005 on every "
    "seed is not met on held-out seeds: seed shift 0 (tuned): 15/15 within (max 0.0022, MathQA seed 2); "
    "held-out 100: 15/15 within (all 0); held-out 1000: 14/15 within, MathQA seed 1002 ends 0.0111 below "
    "the optimum (also MathQA seed 1000: 0.0022, within)"))
def test_gap_to_optimum_within_0_005_on_every_seed(quick):
    bad = {d: [round(g, 4) for g in quick["gap_to_optimum"][d] if g > 0.005] for d in DATASETS}
    assert not any(bad.values()), bad
