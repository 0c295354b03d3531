"""The CPU baselines' views: the fixed pipeline's interface and the centralised learner's state."""

from __future__ import annotations

import numpy as np

from handoffq.baselines.cpu import CENTRAL_CANDIDATES, PIPELINE_NEXT, CentralEnv, PipelineEnv
from handoffq.envs.cpu import CANDIDATES, HALT, WRITER, CPUConfig, VecCPUEnv, sample_tasks


def _env(n: int = 8) -> VecCPUEnv:
    cfg = CPUConfig()
    return VecCPUEnv(cfg, n, sample_tasks(n, np.arange(100), cfg, np.random.default_rng(7)), 0)


def test_pipeline_view_fixes_every_successor() -> None:
    env = _env()
    view, s = PipelineEnv(env), np.arange(8)
    env.valid[:] = True  # every unit ready
    for i in range(6):
        m = view.mask(s, i)
        cand = list(CANDIDATES[i])
        assert np.all(m[:, cand.index(PIPELINE_NEXT[i])])
        assert np.all(m.sum(axis=1) == (2 if i == WRITER else 1))
        if i == WRITER:
            assert np.all(m[:, cand.index(HALT)])


def test_central_view_sees_the_whole_state_and_shares_candidates() -> None:
    env = _env()
    view, s = CentralEnv(env), np.arange(8)
    obs = view.observe(s, 3)
    assert obs.shape[1] == len(view.obs_nvec(3)) == 6 + 8 + 6
    assert np.array_equal(obs[:, :3], env.memory) and obs[:, 14].tolist() == [1] * 8  # starter active
    for i in range(6):
        assert view.candidates(i) == CENTRAL_CANDIDATES
        m = view.mask(s, i)
        if i in CENTRAL_CANDIDATES and i != HALT:
            assert not m[:, CENTRAL_CANDIDATES.index(i)].any()  # never itself
        assert m[:, CENTRAL_CANDIDATES.index(HALT)].all() == (i == WRITER)
