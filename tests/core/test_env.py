"""Observation-space helpers of :mod:`handoffq.core.env`."""

import numpy as np

from handoffq.core.env import flat_obs_index, obs_size


def test_flat_obs_index_is_row_major_and_covers_the_space() -> None:
    nvec = (3, 4, 2)
    obs = np.array(np.unravel_index(np.arange(obs_size(nvec)), nvec)).T
    flat = flat_obs_index(obs, nvec)
    assert flat.tolist() == list(range(24))
    assert flat_obs_index(np.array([[2, 1, 1]]), nvec).tolist() == [2 * 8 + 1 * 2 + 1]


def test_flat_obs_index_of_one_dimension_is_the_value() -> None:
    assert flat_obs_index(np.array([4, 0, 2]), (5,)).tolist() == [4, 0, 2]
    assert flat_obs_index(np.array([[4], [1]]), (5,)).dtype == np.int64
