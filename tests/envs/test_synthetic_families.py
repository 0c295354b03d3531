"""The synthetic families: simulators match the exact model, rho = 1 is an exact AIS, merges."""

import dataclasses

import numpy as np
import pytest

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP, SyntheticVecEnv, _groups, value_signature
from handoffq.experiments.synthetic.exact import reference
from handoffq.theory.ais import ais_gap

FAMILIES = {
    "workflow": SyntheticConfig(),
    "dense": SyntheticConfig.dense(),
    "commit": SyntheticConfig(family="commit", p=0.4, tau_max=20),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_vec_env_matches_exact_model(name):
    cfg = FAMILIES[name]
    env = SyntheticICSMDP(cfg)
    m = env.model()
    m.check()
    ns = env.n_latent
    rng = np.random.default_rng(0)
    for _ in range(4):
        a = int(rng.integers(cfg.n_agents))
        s = int(rng.integers(ns))
        k = int(rng.choice(np.flatnonzero(env.inst.admissible[a])))
        v = SyntheticVecEnv(cfg, n_envs=40_000, seed=int(rng.integers(1 << 30)))
        v._s[:] = s
        v._active[:] = a
        tr = v.step(np.full(v.n_envs, k))
        x = a * ns + s
        assert abs(tr.reward.mean() - m.reward[x, k]) < 5 * tr.reward.std() / np.sqrt(v.n_envs) + 1e-9
        assert abs(tr.terminated.mean() - m.terminal_prob()[x, k]) < 0.01
        assert abs((cfg.gamma ** tr.duration).mean() - m.gamma_tau[x, k]) < 0.01
        nxt = np.bincount(v._s[~tr.terminated], minlength=ns + 1)[:ns] / v.n_envs
        assert 0.5 * np.abs(nxt - m.transition[x, k, k * ns:(k + 1) * ns]).sum() < 0.03


def test_single_env_with_handoff_kernel_matches_model():
    cfg = FAMILIES["commit"]
    env = SyntheticICSMDP(cfg, seed=3)
    m = env.model()
    ns = env.n_latent
    a, s, k = 1, 7, int(np.flatnonzero(env.inst.admissible[1])[-1])
    rs, ends = [], 0
    for e in range(6000):
        env.reset(e)
        env._active, env._s = a, s
        tr = env.step(k)
        rs.append(tr.reward)
        ends += tr.terminated
    x = a * ns + s
    assert abs(np.mean(rs) - m.reward[x, k]) < 5 * np.std(rs) / np.sqrt(len(rs))
    assert abs(ends / 6000 - m.terminal_prob()[x, k]) < 0.01


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_full_retention_is_an_exact_ais(name):
    ref = reference(dataclasses.replace(FAMILIES[name], rho=1.0))
    gap = ais_gap(ref.model, ref.mu, ref.behaviour)
    assert gap.eps_max < 1e-9 and gap.delta_max < 1e-9


def test_workflow_structure():
    for seed in range(10):
        cfg = SyntheticConfig(instance_seed=seed)
        env = SyntheticICSMDP(cfg)
        adm = env.inst.admissible
        reach = adm.copy()
        for _ in range(cfg.n_agents):
            reach = reach | ((reach.astype(int) @ adm.astype(int)) > 0)
        assert reach.all(), "every role reaches every other"
        goal = env.inst.kernel[:, :, -1].max(axis=1)
        assert goal[0] == 0.0 and (goal > 0).sum() == cfg.n_finishers


@pytest.mark.parametrize("merge", ["rank", "random", "similar", "dissimilar"])
def test_merge_designs_keep_the_group_count(merge):
    cfg = SyntheticConfig(rho=0.4, merge=merge)
    g = _groups(cfg, SyntheticICSMDP(SyntheticConfig()).inst)
    sizes = np.bincount(g)
    assert len(sizes) == 8 and sizes.min() >= 2 and sizes.max() <= 3


def test_similar_merges_are_more_value_similar_than_dissimilar_ones():
    base = SyntheticConfig()
    inst = SyntheticICSMDP(base).inst
    sig = value_signature(base, inst)

    def spread(merge):
        g = _groups(dataclasses.replace(base, rho=0.4, merge=merge), inst)
        return np.mean([sig[g == k].std(axis=0).mean() for k in np.unique(g)])

    assert spread("similar") < spread("random") < spread("dissimilar")


def test_vec_env_steps_a_subset_of_slots_only():
    env = SyntheticVecEnv(SyntheticConfig(), n_envs=6, seed=0)
    before_s, before_a = env._s.copy(), env.active()
    slots = np.array([1, 4])
    tr = env.step(np.array([2, 3]), slots)
    assert len(tr.duration) == 2 and (tr.duration >= 1).all()
    others = np.setdiff1d(np.arange(6), slots)
    assert np.array_equal(env._s[others], before_s[others]) and np.array_equal(env.active()[others], before_a[others])
    live = slots[~tr.terminated]
    assert np.array_equal(env.active()[live], np.array([2, 3])[~tr.terminated])


def test_resample_and_latent_state_follow_the_model_indexing():
    cfg = SyntheticConfig(n_private=2, n_agents=3)
    env = SyntheticVecEnv(cfg, n_envs=20_000, seed=1)
    m = SyntheticICSMDP(cfg).model()
    dist = np.zeros(m.n_states)
    dist[[5, 17, m.n_states - 1]] = [0.2, 0.3, 0.5]
    env.resample(dist)
    x = env.latent_state(np.arange(env.n_envs))
    assert set(np.unique(x).tolist()) == {5, 17, m.n_states - 1}
    assert abs((x == m.n_states - 1).mean() - 0.5) < 0.02
    assert np.array_equal(env.active(), m.agent_of[x])  # the active agent is the model's
