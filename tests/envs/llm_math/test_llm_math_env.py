"""The workflow environment: PettingZoo conformance, workflows, and agreement with the exact
model configuration by configuration."""

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

from handoffq.core.env import EnvError
from handoffq.core.pettingzoo_adapter import PettingZooAdapter
from handoffq.envs.llm_math.data import generate_arith
from handoffq.envs.llm_math.env import LLMMathEnv, evaluate_table, run_table_episode
from handoffq.envs.llm_math.exact import (
    config_indices,
    evaluate,
    hidden_table,
    optimum,
    rollout,
)
from handoffq.envs.llm_math.roles import CANDIDATES
from handoffq.envs.llm_math.workflows import WORKFLOWS, equivalent_workflows, workflow_table
from handoffq.llm.simulated import (
    CALIBRATIONS,
    TABLE1,
    Hidden,
    SimulatedBackend,
    expected_workflow_accuracy,
)

QS = generate_arith(30, seed=0)


def make_env() -> LLMMathEnv:
    return LLMMathEnv(SimulatedBackend(calibration="mmlu-hs"), QS, seed=0)


def test_pettingzoo_conformance() -> None:
    api_test(PettingZooAdapter(make_env), num_cycles=200)
    seed_test(lambda: PettingZooAdapter(make_env), num_cycles=50)


def test_bad_successor_and_config() -> None:
    env = make_env()
    with pytest.raises(EnvError, match="not admissible"):
        env.step(2)  # the commissioner cannot call the checker
    with pytest.raises(EnvError, match="at least one question"):
        LLMMathEnv(SimulatedBackend(), [])


@pytest.mark.parametrize("name", list(CALIBRATIONS))
def test_calibrations_match_table1_exactly(name: str) -> None:
    hid = hidden_table(CALIBRATIONS[name])
    closed = expected_workflow_accuracy(CALIBRATIONS[name])
    for w in WORKFLOWS:
        exact = evaluate(workflow_table(w), hid)["accuracy"]
        assert abs(exact - TABLE1[name][w]) < 0.01
        assert abs(exact - closed[w]) < 1e-9


def test_env_agrees_with_exact_model_per_configuration() -> None:
    """Force each hidden configuration on a question and compare outcomes and paths."""
    params = CALIBRATIONS["mathqa"]
    hid = hidden_table(params)
    rng = np.random.default_rng(0)
    tables = [workflow_table(w) for w in WORKFLOWS] + [
        rng.choice(3, size=(4, 16)) for _ in range(6)
    ]
    q = QS[0]
    for raw in tables:
        table = np.array(
            [
                [
                    CANDIDATES[a][int(raw[a, o]) % len(CANDIDATES[a])]
                    if raw[a, o] not in CANDIDATES[a]
                    else int(raw[a, o])
                    for o in range(16)
                ]
                for a in range(4)
            ]
        )
        ro = rollout(table, hid)
        backend = SimulatedBackend(params)
        env = LLMMathEnv(backend, [q])
        for c in rng.choice(len(hid.prob), size=64, replace=False):
            backend._hidden[q.qid] = Hidden(*(bool(v) for v in hid.values[c]))
            log = run_table_episode(env, table, q)
            assert log.correct == bool(ro.correct[c])
            assert log.calls == int(ro.calls[c])


def test_config_indices_are_hidden_table_rows() -> None:
    hid = hidden_table(CALIBRATIONS["mathqa"])
    assert np.array_equal(config_indices(hid.values), np.arange(len(hid.prob)))
    assert config_indices(hid.values[[5, 300]]).tolist() == [5, 300]


def test_optimum_dominates_workflows_and_is_recognised() -> None:
    hid = hidden_table(CALIBRATIONS["mmlu-elem"])
    opt = optimum(hid)
    for w in WORKFLOWS:
        assert opt.accuracy >= evaluate(workflow_table(w), hid)["accuracy"] - 1e-12
    assert equivalent_workflows(opt.table, opt.visited) == ["cot"]
    tab = workflow_table("comb_e")
    assert "comb_e" in equivalent_workflows(tab, rollout(tab, hid).visited)


def test_empirical_accuracy_near_expected() -> None:
    qs = generate_arith(600, seed=5)
    backend = SimulatedBackend(calibration="mmlu-hs")
    logs = evaluate_table(lambda: LLMMathEnv(backend, qs), workflow_table("comb_e"), qs)
    acc = np.mean([lg.correct for lg in logs])
    assert abs(acc - TABLE1["mmlu-hs"]["comb_e"]) < 4 * np.sqrt(0.25 / len(qs))
    assert all(lg.calls == 3 for lg in logs)
