"""ValueMLPEstimator: feature maps of an agent's own observation, learning, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.learn.value_mlp import ValueMLPEstimator

NVEC = (2, 100, 100, 100)  # one valid bit, three values


def test_relations_are_pairwise_differences_of_scaled_values() -> None:
    est = ValueMLPEstimator(NVEC, 2, inputs="relations", value_transform="linear")
    x = est.encode(np.array([[1, 99, 0, 33]]))[0]
    assert est.in_dim == 1 + 3
    assert np.allclose(x, [1.0, 1.0, 99 / 99 - 33 / 99, 0 - 33 / 99], atol=1e-6)


def test_relative_transform_is_scale_free() -> None:
    est = ValueMLPEstimator(NVEC, 2, inputs="features_relations", value_transform="relative")
    a, b = est.encode(np.array([[1, 3, 4, 7]])), est.encode(np.array([[1, 30, 40, 70]]))
    assert np.allclose(a, b)
    assert est.in_dim == 1 + 3 + 3


def test_bits_encode_binary_digits() -> None:
    est = ValueMLPEstimator((2, 8), 1, inputs="bits")
    assert est.encode(np.array([[1, 5]]))[0].tolist() == [1, 1, 0, 1]


def test_learns_a_comparison_of_its_own_values() -> None:
    """Q(o, 0) = 1 if value 1 > value 2 else 0: a relation the relational inputs make easy."""
    rng = np.random.default_rng(0)
    est = ValueMLPEstimator(NVEC, 1, width=32, lr=3e-3, seed=0)
    for _ in range(1500):
        obs = np.column_stack([np.ones(64, int), rng.integers(0, 20, (64, 3))])
        est.update_batch(obs, np.zeros(64, int), (obs[:, 1] > obs[:, 2]).astype(float), np.ones(64))
    test = np.column_stack([np.ones(500, int), rng.integers(20, 100, (500, 3))])  # unseen values
    pred = est.values_batch(test)[:, 0] > 0.5
    assert (pred == (test[:, 1] > test[:, 2])).mean() > 0.9


def test_state_dict_round_trip() -> None:
    a, b = ValueMLPEstimator(NVEC, 3, seed=1), ValueMLPEstimator(NVEC, 3, seed=2)
    obs = np.array([[1, 5, 6, 7], [0, 0, 50, 99]])
    a.update_batch(obs, np.array([0, 2]), np.array([1.0, -1.0]), np.ones(2))
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a.values_batch(obs), b.values_batch(obs)) and b.steps == 1
    assert a.distance_from_init() > 0


def test_bad_encoding_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="input encoding"):
        ValueMLPEstimator(NVEC, 2, inputs="onehot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="value transform"):
        ValueMLPEstimator(NVEC, 2, value_transform="sqrt")  # type: ignore[arg-type]
