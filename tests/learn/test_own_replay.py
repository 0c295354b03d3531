"""ReplayEstimator: replays the agent's own stored targets; DictTableEstimator: memorising rows."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.learn.dict_table import DictTableEstimator
from handoffq.learn.own_replay import ReplayEstimator


def test_replay_revisits_stored_targets() -> None:
    inner = DictTableEstimator(2)
    est = ReplayEstimator(inner, capacity=4, replay_batch=2, replay_steps=3, seed=0)
    est.update_batch(np.array([[1, 2]]), np.array([1]), np.array([1.0]), np.array([0.5]))
    # one update + three replays of the only stored row: 1 - 0.5**4
    assert est.values_batch(np.array([[1, 2]]))[0].tolist() == pytest.approx([0.0, 1 - 0.5**4])
    for k in range(6):
        est.update_batch(np.array([[k, 0]]), np.array([0]), np.array([2.0]), np.array([0.1]))
    assert est.size == 4  # a ring buffer


def test_replay_state_dict_round_trip() -> None:
    a = ReplayEstimator(DictTableEstimator(2), capacity=8, seed=1)
    a.update_batch(np.array([[3, 4], [5, 6]]), np.array([0, 1]), np.array([1.0, 2.0]), np.ones(2))
    b = ReplayEstimator(DictTableEstimator(2), capacity=8, seed=9)
    b.load_state_dict(a.state_dict())
    obs = np.array([[3, 4], [5, 6]])
    assert np.array_equal(a.values_batch(obs), b.values_batch(obs)) and b.size == 2


def test_dict_table_reads_init_on_unseen_and_stays_truthy() -> None:
    t = DictTableEstimator(3, init=0.25)
    assert t  # an empty table is still an estimator (agents test `estimator or default`)
    assert t.values([7, 8]).tolist() == [0.25] * 3
    assert t.update([7, 8], 2, 1.25, 1.0) == pytest.approx(1.0)
    assert t.values([7, 8])[2] == pytest.approx(1.25) and t.n_rows == 1
