import numpy as np

from handoffq.core.channel import MessageBatch
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP, SyntheticVecEnv
from handoffq.experiments.synthetic.exact import greedy_value, reference
from handoffq.learn.exploration import Exploration
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import BatchedRunner


def _train(seed, budget=60_000, cfg=None, auditor=None):
    cfg = cfg or SyntheticConfig()
    env = SyntheticVecEnv(cfg, n_envs=128, seed=seed)
    team = make_team(env, seed=seed, exploration=Exploration(epsilon=1.0))
    BatchedRunner(env, team, seed=seed, auditor=auditor).train(budget)
    return team


def test_batched_icq_reaches_oracle_at_rho_one():
    cfg = SyntheticConfig()
    ref = reference(cfg)
    team = _train(0, 150_000, cfg)
    assert greedy_value(ref, team) >= 0.99 * ref.oracle_value


def test_batched_is_reproducible_and_audited():
    seen = []
    a = _train(2, 20_000, auditor=lambda s, d, p: seen.append(p))
    b = _train(2, 20_000)
    assert all(np.array_equal(x.q.table, y.q.table) for x, y in zip(a, b))
    assert seen and all(type(p) is MessageBatch for p in seen)


def test_vec_env_matches_single_env_statistics():
    """Both simulators implement the same invocation law (mean R and tau from one state)."""
    cfg = SyntheticConfig(rho=1.0)
    single = SyntheticICSMDP(cfg, seed=0)
    rs = []
    for e in range(4000):
        single.reset(e)
        single._s = 0
        rs.append(single.step(0).reward)
    vec = SyntheticVecEnv(cfg, n_envs=4000, seed=1)
    vec._s[:] = 0
    tr = vec.step(np.zeros(4000, dtype=np.int64))
    assert abs(np.mean(rs) - tr.reward.mean()) < 0.05
    model = single.model()
    assert abs(model.reward[0, 0] - tr.reward.mean()) < 0.05
