"""Tests for the CPU environment (handoffq.envs.cpu)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pettingzoo.test import api_test, seed_test

from handoffq.baselines.cpu import make_random_team
from handoffq.core.channel import MessageBatch
from handoffq.core.env import EnvError
from handoffq.core.pettingzoo_adapter import PettingZooAdapter
from handoffq.envs.cpu import (
    ALU,
    LOADER_A,
    LOADER_B,
    SELECTOR,
    STARTER,
    WRITER,
    CPUConfig,
    CPUEnv,
    make_task,
    sample_tasks,
    split_range,
    task_from_target,
)
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import InProcessRunner

CFG = CPUConfig()


def _script(env: CPUEnv) -> None:
    """The correct program for the current task (a hand-written policy, for checking)."""
    op = env.task.op
    plan = [(STARTER, 0, LOADER_A), (LOADER_A, 0, LOADER_B if op != "MOV" else SELECTOR)]
    if op != "MOV":
        alu = {"ADD": 0, "SUB": 1}.get(op, 2)
        plan += [(LOADER_B, 1, ALU), (ALU, alu, SELECTOR)]
    for unit, action, succ in plan:
        assert env.active_agent == unit
        env.act(action)
        env.step(succ)
    route = (0 if env.flag == (op == "MAX") else 1) if op in ("MAX", "MIN") else 0 if op == "MOV" else 2
    env.act(route)
    env.step(WRITER)
    env.act(2)  # WRITE to the dst field


def test_correct_program_succeeds_on_every_op() -> None:
    _, test = split_range(CFG.value_range, 0.2)
    env = CPUEnv(CFG, values=test, seed=0)
    for s in range(200):
        env.reset(s)
        _script(env)
        assert env.success, env.task


def test_wrong_write_address_fails() -> None:
    env = CPUEnv(CFG, tasks=[make_task([1, 2, 3, 4], "MOV", 0, 0, 3, CFG)], seed=0)
    env.act(0)
    env.step(LOADER_A)
    env.act(0)
    env.step(SELECTOR)
    env.act(0)
    env.step(WRITER)
    ls = env.act(0)  # writes to src1 instead of dst
    assert ls.terminated and not env.success


def test_observations_carry_no_values_and_fit_nvec() -> None:
    env = CPUEnv(CFG, seed=3)
    for s in range(30):
        env.reset(s)
        for i in range(env.n_agents):
            obs = env.observe(i)
            nvec = env.obs_nvec(i)
            assert len(obs) == len(nvec)
            assert all(0 <= o < n for o, n in zip(obs, nvec, strict=True))
            assert max(nvec[:-1]) <= env.n_ops + 1  # small structural symbols only
            assert nvec[-1] == 2**env.n_agents and obs[-1] == env.scoreboard()


def test_unseen_split_is_disjoint() -> None:
    for f in (0.1, 0.2, 0.5):
        train, test = split_range(CFG.value_range, f)
        tasks = sample_tasks(300, test, CFG, seed=1)
        train_set = set(int(v) for v in train)
        for t in tasks:
            assert not train_set & set(t.memory), t
            assert not train_set & set(t.target), t
            assert t.target != t.memory
        for t in sample_tasks(300, train, CFG, seed=2):
            assert set(t.memory) <= train_set and set(t.target) <= train_set


def test_malformed_tasks_raise_named_errors() -> None:
    with pytest.raises(EnvError, match="outside the integer range"):
        make_task([1, 2, 3, 100], "ADD", 0, 1, 2, CFG)
    with pytest.raises(EnvError, match="outside the integer range"):
        task_from_target([1, 2, 3, 4], [1, 2, 3, -1], CFG)
    with pytest.raises(EnvError, match="unreachable"):
        task_from_target([1, 2, 3, 4], [50, 60, 3, 4], CFG)  # two cells change
    with pytest.raises(EnvError, match="unreachable"):
        task_from_target([1, 2, 3, 4], [1, 2, 3, 77], CFG)  # 77 is no op of the cells
    with pytest.raises(EnvError, match="not available"):
        make_task([1, 2, 3, 4], "MUL", 0, 1, 2, CFG)
    with pytest.raises(EnvError, match="address"):
        make_task([1, 2, 3, 4], "ADD", 0, 7, 2, CFG)
    with pytest.raises(EnvError, match="cells"):
        make_task([1, 2, 3], "ADD", 0, 1, 2, CFG)
    t = task_from_target([1, 2, 3, 4], [1, 2, 3, 5], CFG)
    assert make_task(t.memory, t.op, t.src1, t.src2, t.dst, CFG).target == (1, 2, 3, 5)


def test_protocol_errors() -> None:
    env = CPUEnv(CFG, seed=0)
    with pytest.raises(EnvError, match="local action"):
        env.step(LOADER_A)
    with pytest.raises(EnvError, match="out of range"):
        env.act(5)
    env.act(0)
    with pytest.raises(EnvError, match="not admissible"):
        env.step(STARTER)  # no "continue": an activation is one local action


def test_random_team_rarely_succeeds() -> None:
    env = CPUEnv(CFG, seed=0)
    team = make_random_team(env, seed=0)
    from handoffq.runtime.inprocess import evaluate_team

    ok = 0
    for s in range(300):
        evaluate_team(env, team, 1, seed=s)
        ok += env.success
    assert ok / 300 < 0.1


def test_messages_are_three_numbers_only() -> None:
    seen: list[object] = []
    env = CPUEnv(CFG, seed=0)
    team = make_team(env, seed=0)
    runner = InProcessRunner(env, team, auditor=lambda src, dst, p: seen.append(p), seed=0)
    runner.train(500)
    assert seen
    for p in seen:
        assert type(p) is MessageBatch
        assert [f.name for f in dataclasses.fields(p)] == ["value", "duration", "reward"]
        assert p.value.dtype == float and p.duration.dtype == np.int64 and p.reward.dtype == float


def test_pettingzoo_api_and_seed() -> None:
    api_test(PettingZooAdapter(lambda: CPUEnv(CFG, seed=0)), num_cycles=200)
    seed_test(lambda: PettingZooAdapter(lambda: CPUEnv(CFG)), num_cycles=50)


def test_seeded_reset_is_reproducible() -> None:
    a, b = CPUEnv(CFG), CPUEnv(CFG)
    for s in range(10):
        a.reset(s)
        b.reset(s)
        assert a.task == b.task
    assert np.unique([CPUEnv(CFG, seed=s).task.op for s in range(50)]).size > 1


def _discounted_return(env: CPUEnv, rng: np.random.Generator) -> float:
    """Play uniformly random local actions and successors; the discounted primitive return."""
    ret, disc = 0.0, 1.0
    while True:
        ls = env.act(int(rng.integers(env.local_actions(env.active_agent))))
        ret += disc * ls.reward
        disc *= env.gamma
        if ls.terminated or ls.truncated:
            return ret
        adm = env.admissible(env.active_agent)
        tr = env.step(int(adm[int(rng.integers(len(adm)))]))
        ret += disc * tr.reward
        disc *= env.gamma**tr.duration
        if tr.terminated or tr.truncated:
            return ret


def test_shaping_is_potential_based() -> None:
    """Shaping telescopes: every episode's discounted return is unchanged (Phi(s0) = 0)."""
    plain = CPUEnv(CPUConfig(shaping=0.0), seed=0)
    shaped = CPUEnv(CPUConfig(shaping=0.3), seed=0)
    for s in range(200):
        plain.reset(s)
        shaped.reset(s)
        a = _discounted_return(plain, np.random.default_rng(s))
        b = _discounted_return(shaped, np.random.default_rng(s))
        assert a == pytest.approx(b, abs=1e-9)
    # ...while the per-step rewards differ: progress is paid when it happens
    shaped.reset(0)
    plain.reset(0)
    assert shaped.act(0).reward == pytest.approx(plain.act(0).reward + 0.95 * 0.3)  # FETCH


def test_scripted_program_completes_every_stage() -> None:
    env = CPUEnv(CPUConfig(shaping=0.2), seed=0)
    for s in range(50):
        env.reset(s)
        n_stages = 3 if env.task.op == "MOV" else 5
        _script(env)
        assert env.success and env.potential() == 0.0  # Phi = 0 once the episode ended
        assert env.stages_done() == n_stages


def test_calling_an_unready_unit_is_a_fault() -> None:
    env = CPUEnv(CFG, seed=0)
    env.act(0)  # FETCH
    assert env.scoreboard() == (1 << LOADER_A) | (1 << LOADER_B)
    tr = env.step(WRITER)  # WD is empty: the writer cannot fire
    assert tr.terminated and env.fault and not env.success
    relaxed = CPUEnv(CPUConfig(fault_on_unready=False), seed=0)
    relaxed.act(0)
    assert not relaxed.step(WRITER).terminated


def test_cycle_budget_ends_the_episode_as_a_failure() -> None:
    env = CPUEnv(CPUConfig(max_steps=3, fault_on_unready=False), seed=0)
    env.act(0)
    env.step(WRITER)
    ls = env.act(0)  # third primitive step: the budget is spent
    assert ls.terminated and not env.success
