"""The shared episode loop on the vectorised synthetic IC-SMDP: reproducible, audited per
(sender, receiver) pair, exact budgets, and the per-round hook."""

import numpy as np

from handoffq.core.channel import MessageBatch
from handoffq.envs.synthetic import SyntheticConfig, SyntheticVecEnv
from handoffq.learn.exploration import Exploration
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import BatchedRunner


def _run(auditor=None, budget=64 * 20 + 5, hook=None):
    env = SyntheticVecEnv(SyntheticConfig(), n_envs=64, seed=5)
    team = make_team(env, seed=5, exploration=Exploration(epsilon=1.0))
    runner = BatchedRunner(env, team, seed=5, auditor=auditor)
    runner.loop.before_round = hook
    runner.train(budget)
    return team, runner


def test_reproducible_audited_per_pair_and_exact_budget():
    seen = []
    a, runner = _run(lambda s, d, p: seen.append((s, d, p)))
    b, _ = _run()
    assert all(np.array_equal(x.q.table, y.q.table) for x, y in zip(a, b))
    assert seen and all(type(p) is MessageBatch for _, _, p in seen)
    assert sum(len(p) for _, _, p in seen) == runner.stats.messages == runner.stats.handoffs == 64 * 20 + 5
    assert len(seen) <= 21 * 4 * 4  # at most one batch per (sender, receiver) pair per round


def test_before_round_is_called_every_round_with_the_environment():
    calls = []
    _, runner = _run(budget=64 * 3, hook=calls.append)
    assert len(calls) == 3 and all(c is runner.env for c in calls)
