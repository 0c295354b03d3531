"""The CPU as the paper states it (handoffq.envs.cpu): values in, no program, generic shaping."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest

from handoffq.baselines.cpu import PIPELINE_NEXT, RandomAgent, pipeline_feasible, scripted_team
from handoffq.core.env import EnvError
from handoffq.envs.cpu import (
    CANDIDATES,
    DEFAULT_KINDS,
    HALT,
    KINDS,
    N_LOCAL,
    STARTER,
    WRITER,
    CPUConfig,
    CPUEnv,
    TaskSet,
    VecCPUEnv,
    kind_target,
    potential,
    sample_tasks,
    split_range,
)
from handoffq.experiments.cpu.team import evaluate


def _fixed(cfg: CPUConfig, tasks: TaskSet) -> VecCPUEnv:
    return VecCPUEnv(cfg, len(tasks), tasks, 0, fixed=True)


@pytest.mark.parametrize("kinds", [DEFAULT_KINDS, KINDS])
@pytest.mark.parametrize("part", [0, 1])
def test_blocks_suffice_a_scripted_team_solves_every_task(kinds: tuple[str, ...], part: int) -> None:
    """A hand-written team reading only each unit's own block solves every task of every kind."""
    cfg = CPUConfig(kinds=kinds)
    tasks = sample_tasks(300, split_range(cfg.value_range, 0.2)[part], cfg, np.random.default_rng(0))
    assert evaluate(scripted_team(), _fixed(cfg, tasks), tasks, cfg).all()


def test_random_team_is_far_from_solving() -> None:
    cfg = CPUConfig()
    tasks = sample_tasks(600, np.arange(100), cfg, np.random.default_rng(1))
    team = [RandomAgent(i, N_LOCAL[i], CANDIDATES[i], i) for i in range(6)]
    ok = evaluate(team, _fixed(cfg, tasks), tasks, cfg)
    assert ok.mean() < 0.1


def test_observations_hold_values_and_nothing_derived() -> None:
    """Every block is (M, T, (valid, value) per register): raw integers; the kind is invisible."""
    cfg = CPUConfig()
    tasks = TaskSet(np.array([[31, 47, 5]]), np.array([[31, 47, 47]]), np.array([0]))
    env, other = _fixed(cfg, tasks), _fixed(cfg, TaskSet(tasks.memory, tasks.target, np.array([3])))
    s = np.arange(1)
    for i in range(6):
        o = env.observe(s, i)[0]
        assert list(o[:6]) == [31, 47, 5, 31, 47, 47]
        assert np.all(o[6:] == 0) and len(o) == len(env.obs_nvec(i))
        assert np.array_equal(o, other.observe(s, i)[0])


def test_observation_changes_with_values() -> None:
    cfg = CPUConfig()
    a = _fixed(cfg, TaskSet(np.array([[3, 4, 5]]), np.array([[3, 4, 4]]), np.array([0])))
    b = _fixed(cfg, TaskSet(np.array([[63, 64, 65]]), np.array([[63, 64, 64]]), np.array([0])))
    for i in range(6):
        assert not np.array_equal(a.observe(np.arange(1), i), b.observe(np.arange(1), i))


def test_local_blocks_hold_only_own_registers() -> None:
    env = VecCPUEnv(CPUConfig(blocks="local"), 2, sample_tasks(4, np.arange(20), CPUConfig(), np.random.default_rng(0)))
    assert [len(env.obs_nvec(i)) for i in range(6)] == [6, 8, 8, 12, 14, 8]


@pytest.mark.parametrize("fraction", [0.1, 0.2, 0.5])
def test_split_parts_are_disjoint_and_tasks_stay_inside(fraction: float) -> None:
    cfg = CPUConfig()
    tr, te = split_range(cfg.value_range, fraction)
    assert not set(tr) & set(te)
    for vals in (tr, te):
        t = sample_tasks(400, vals, cfg, np.random.default_rng(2))
        both = np.concatenate([t.memory, t.target], axis=1)
        assert both.min() >= vals.min() and both.max() <= vals.max()
        assert np.all(np.any(t.memory != t.target, axis=1))
        for k in np.unique(t.kind):
            sel = t.kind == k
            assert np.array_equal(kind_target(KINDS[k], t.memory[sel]), t.target[sel])


def test_stratified_sampling_balances_kinds() -> None:
    t = sample_tasks(100, np.arange(20), CPUConfig(), np.random.default_rng(0), stratified=True)
    assert np.bincount(t.kind).tolist() == [20] * 5


def test_shaping_is_potential_based_returns_shift_by_phi0() -> None:
    """Shaped discounted return == unshaped return - Phi(s0), trajectory by trajectory."""
    base, shaped = CPUConfig(shaping=False), CPUConfig(shaping=True)
    tasks = sample_tasks(64, np.arange(100), base, np.random.default_rng(3))
    rng = np.random.default_rng(4)
    e0, e1 = _fixed(base, tasks), _fixed(shaped, tasks)
    phi0 = potential(tasks.memory, tasks.target, e1.regs, e1.valid, shaped.cell_weight, shaped.register_weight)
    assert phi0.max() > 0
    ret0, ret1, disc = np.zeros(64), np.zeros(64), np.ones(64)
    running = np.ones(64, bool)
    while running.any():
        s = np.flatnonzero(running)
        who = e0.active()[s]
        acts = np.array([rng.integers(N_LOCAL[w]) for w in who])
        r0, r1 = e0.act(s, acts).reward, e1.act(s, acts).reward
        ret0[s] += disc[s] * r0
        ret1[s] += disc[s] * r1
        disc[s] *= base.gamma
        succ = np.array([rng.choice(np.asarray(CANDIDATES[w])[e0.mask(np.array([slot]), int(w))[0]])
                         for slot, w in zip(s, who, strict=True)])
        t0, t1 = e0.step(succ, s), e1.step(succ, s)
        assert np.array_equal(t0.terminated, t1.terminated)
        ret0[s] += disc[s] * t0.reward
        ret1[s] += disc[s] * t1.reward
        disc[s] *= base.gamma
        running[s[t0.terminated]] = False
    assert np.allclose(ret1, ret0 - phi0, atol=1e-9)


def test_potential_names_no_kind() -> None:
    m, t = np.array([[5, 7, 9]]), np.array([[5, 7, 12]])
    regs, valid = np.array([[12, 0, 0, 0]]), np.array([[True, False, False, False]])
    assert potential(m, t, regs, valid, 0.1, 0.05)[0] == pytest.approx(0.25)


def test_interface_admissibility_is_read_from_registers_only() -> None:
    cfg = CPUConfig()
    env = _fixed(cfg, sample_tasks(1, np.arange(100), cfg, np.random.default_rng(5)))
    s = np.arange(1)
    r = env.ready(s)[0]
    assert r[1] and r[2] and not r[3] and not r[4] and not r[5]
    env.act(s, np.array([0]))
    env.step(np.array([1]), s)  # starter -> loader_a
    env.act(s, np.array([0]))  # RA <- M0
    assert env.ready(s)[0][4] and not env.ready(s)[0][3]  # selector now callable, ALU not
    assert not env.mask(s, 1)[0][list(CANDIDATES[1]).index(HALT)]  # only the writer may halt
    with pytest.raises(EnvError, match="admissible"):
        env.step(np.array([3]), s)


def _pipeline_ceiling(tasks: TaskSet, cfg: CPUConfig) -> np.ndarray:
    """Exhaustive: can any open-loop choice of local actions in pipeline order solve each task?"""
    order = [STARTER]
    while len(order) < cfg.max_activations:
        order.append(PIPELINE_NEXT[order[-1]])
    seqs = np.array(list(product(*[range(N_LOCAL[u]) for u in order])), np.int64)
    out = np.zeros(len(tasks), bool)
    for n in range(len(tasks)):
        one = tasks.subset(np.full(len(seqs), n))
        env, slots = _fixed(cfg, one), np.arange(len(seqs))
        for step, unit in enumerate(order):
            env.act(slots, seqs[:, step])
            if unit == WRITER and env.success(slots).any():
                out[n] = True
                break
            if step + 1 < len(order):
                env.step(np.full(len(slots), PIPELINE_NEXT[unit]), slots)
    return out


def test_pipeline_feasible_rule_matches_exhaustive_search() -> None:
    cfg = CPUConfig(max_activations=11)  # two pipeline cycles, as within the default 12 (3**10 sequences)
    rng = np.random.default_rng(6)
    mem = np.concatenate([[[2, 5, 2], [4, 1, 1], [3, 0, 4], [20, 70, 33]], rng.integers(0, 100, size=(1, 3))])
    swap = TaskSet(mem, kind_target("SWAP", mem), np.full(len(mem), KINDS.index("SWAP")))
    exact = _pipeline_ceiling(swap, cfg)
    assert exact.tolist() == pipeline_feasible(swap).tolist()
    assert exact[:4].tolist() == [True, True, True, False]  # a copy in Z, or 0 = X - X rebuilt by the ALU
    diff = TaskSet(mem[:3], kind_target("DIFF", mem[:3]), np.full(3, KINDS.index("DIFF")))
    assert _pipeline_ceiling(diff, cfg).all() and pipeline_feasible(diff).all()


def test_cpuenv_single_episode_protocol() -> None:
    env = CPUEnv(CPUConfig(), seed=0)
    env.set_next_task([10, 20, 5], [10, 20, 20])
    env.reset()
    for agent, local, succ in [(0, 0, 1), (1, 1, 4), (4, 0, 5), (5, 2, HALT)]:
        assert env.active_agent == agent
        env.act(local)
        tr = env.step(succ)
    assert tr.terminated and env.success
    with pytest.raises(EnvError, match="alternate"):
        env.act(0)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(EnvError, match="kinds"):
        CPUConfig(kinds=("MUL",))
    with pytest.raises(EnvError, match="blocks"):
        CPUConfig(blocks="all")
