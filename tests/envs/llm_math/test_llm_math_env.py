"""The workflow environment: PettingZoo conformance, workflows, the calibration (inputs), and
agreement of the text env, the batched env and the exact model configuration by configuration."""

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

from handoffq.core.env import EnvError
from handoffq.core.pettingzoo_adapter import PettingZooAdapter
from handoffq.envs.llm_math.batched import SimVecEnv
from handoffq.envs.llm_math.data import generate_arith
from handoffq.envs.llm_math.dynamics import n_obs
from handoffq.envs.llm_math.env import LLMMathEnv, evaluate_table, run_table_episode
from handoffq.envs.llm_math.exact import config_indices, evaluate, hidden_table, rollout
from handoffq.envs.llm_math.roles import CANDIDATES
from handoffq.envs.llm_math.workflows import WORKFLOWS, equivalent_workflows, workflow_table
from handoffq.llm.base import LLMError
from handoffq.llm.simulated import (
    CALIBRATIONS,
    TABLE1,
    Hidden,
    SimulatedBackend,
    calibration,
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
    with pytest.raises(EnvError, match="unknown interface"):
        LLMMathEnv(SimulatedBackend(), QS, interface="bits5")


def test_budget_is_observed_and_cap_ends_unanswered() -> None:
    env = LLMMathEnv(SimulatedBackend(calibration="mathqa"), QS, max_handoffs=4)
    env.reset_to(QS[0])
    assert env.observe(0) == (0, 0, 0, 0, 3)
    env.step(1)  # C -> T
    assert env.observe(1)[-1] == 2
    env.step(2)  # T -> K
    env.step(1)  # K -> T
    tr = env.step(2)  # 4th invocation: the cap closes the discussion unanswered
    assert tr.terminated and env.log.truncated and not env.log.correct and tr.reward == 0.0


@pytest.mark.parametrize("name", list(CALIBRATIONS))
def test_calibrations_are_inputs_table1_exactly(name: str) -> None:
    """Circular by design: Direct and the workflows are calibrated to Table 1 (inputs)."""
    hid = hidden_table(CALIBRATIONS[name])
    closed = expected_workflow_accuracy(CALIBRATIONS[name])
    for w in WORKFLOWS:
        exact = evaluate(workflow_table(w), hid, 8)["accuracy"]
        assert exact == pytest.approx(TABLE1[name][w], abs=1e-9)
        assert exact == pytest.approx(closed[w], abs=1e-9)


def test_infeasible_copy_is_reported() -> None:
    with pytest.raises(LLMError):
        calibration("mmlu-elem", 0.95)  # thinker accuracy would exceed 1
    assert calibration("mmlu-elem", 0.98).copy == 0.98


def _random_tables(rng: np.random.Generator, interface: str, cap: int, n: int) -> list:
    no = n_obs(interface, cap)
    return [
        np.array([[CANDIDATES[a][int(rng.integers(len(CANDIDATES[a])))] for _ in range(no)]
                  for a in range(4)])
        for _ in range(n)
    ]


@pytest.mark.parametrize("interface", ["bits4", "budget"])
def test_text_env_batched_env_and_exact_model_agree(interface: str) -> None:
    """Force each hidden configuration on a question; compare outcomes and calls."""
    cap = 8
    params = calibration("mathqa")
    hid = hidden_table(params)
    rng = np.random.default_rng(0)
    tables = [workflow_table(w, interface, cap) for w in WORKFLOWS]
    tables += _random_tables(rng, interface, cap, 6)
    q = QS[0]
    configs = rng.choice(len(hid.prob), size=48, replace=False)
    for table in tables:
        ro = rollout(table, hid, cap, interface)
        backend = SimulatedBackend(params)
        env = LLMMathEnv(backend, [q], max_handoffs=cap, interface=interface)
        venv = SimVecEnv(hid.values[configs], n_envs=len(configs), max_handoffs=cap,
                         interface=interface, seed=0)
        venv.q[:] = np.arange(len(configs))
        venv.reset_slots(np.array([], dtype=np.int64))
        from handoffq.envs.llm_math.dynamics import initial
        venv.st = initial(len(configs))
        done = np.zeros(len(configs), dtype=bool)
        right = np.zeros(len(configs), dtype=bool)
        calls = np.zeros(len(configs), dtype=int)
        for _ in range(cap):
            o = venv.observe(np.arange(len(configs)), 0)
            flat = o[:, :4] @ np.array([8, 4, 2, 1])
            if interface == "budget":
                flat = flat * cap + o[:, 4]
            before = venv.st.calls.copy()
            tr = venv.step(table[venv.st.agent, flat])
            calls += np.where(done, 0, venv.st.calls - before)
            right |= ~done & tr.terminated & (tr.reward > 0)
            done |= tr.terminated
            if done.all():
                break
        for j, c in enumerate(configs):
            backend._hidden[q.qid] = Hidden(*(bool(v) for v in hid.values[c]))
            log = run_table_episode(env, table, q)
            assert log.correct == bool(ro.correct[c]) == bool(right[j])
            assert log.calls == int(ro.calls[c]) == int(calls[j])


def test_config_indices_are_hidden_table_rows() -> None:
    hid = hidden_table(CALIBRATIONS["mathqa"])
    assert np.array_equal(config_indices(hid.values), np.arange(len(hid.prob)))
    assert config_indices(hid.values[[5, 300]]).tolist() == [5, 300]


def test_workflow_recognised_on_both_interfaces() -> None:
    hid = hidden_table(CALIBRATIONS["mmlu-hs"])
    for iface in ("bits4", "budget"):
        tab = workflow_table("comb_e", iface, 8)
        assert "comb_e" in equivalent_workflows(tab, rollout(tab, hid, 8, iface).visited, iface, 8)


def test_empirical_accuracy_near_expected() -> None:
    qs = generate_arith(600, seed=5)
    backend = SimulatedBackend(calibration="mmlu-hs")
    logs = evaluate_table(lambda: LLMMathEnv(backend, qs), workflow_table("comb_e"), qs)
    acc = np.mean([lg.correct for lg in logs])
    assert abs(acc - TABLE1["mmlu-hs"]["comb_e"]) < 4 * np.sqrt(0.25 / len(qs))
    assert all(lg.calls == 3 for lg in logs)
