"""Exploration fast paths: the same laws as the general path, and the general path's random
stream unchanged (runs of earlier versions are reproduced bit for bit)."""

import numpy as np
import pytest

from handoffq.learn.exploration import Exploration, choose_batch, masked_argmax, masked_max


def _old_choose_batch(q, mask, eps, rng):
    """The epsilon-greedy batch choice as earlier versions drew it."""
    neg = np.where(mask, q, -np.inf)
    greedy_idx = np.argmax(neg, axis=1)
    random_idx = np.argmax(rng.random(mask.shape) * mask, axis=1)
    explore = rng.random(q.shape[0]) < eps
    return np.where(explore, random_idx, greedy_idx)


@pytest.mark.parametrize("eps", [0.0, 0.3, 1.0])
def test_general_masks_draw_the_stream_of_earlier_versions(eps):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((50, 4))
    mask = rng.random((50, 4)) < 0.6
    mask[:, 0] = True
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for t in range(5):
        got = choose_batch(None if eps == 1.0 else q, mask, Exploration(epsilon=eps), t, a)
        assert np.array_equal(got, _old_choose_batch(q, mask, eps, b))
    assert a.random() == b.random()  # the generators are in the same state


def test_shared_mask_fast_path_is_uniform_over_admissible_and_greedy_otherwise():
    row = np.array([True, False, True, True])
    mask = np.broadcast_to(row, (30_000, 4))
    rng = np.random.default_rng(1)
    picks = choose_batch(None, mask, Exploration(epsilon=1.0), 0, rng)
    freq = np.bincount(picks, minlength=4) / len(picks)
    assert freq[1] == 0 and np.allclose(freq[[0, 2, 3]], 1 / 3, atol=0.01)
    q = np.tile([5.0, 9.0, 1.0, 2.0], (30_000, 1))
    assert set(choose_batch(q, mask, Exploration(epsilon=0.0), 0, rng).tolist()) == {0}
    mixed = choose_batch(q, mask, Exploration(epsilon=0.3), 0, rng)
    assert abs((mixed == 0).mean() - (0.7 + 0.1)) < 0.01  # greedy 0.7 + a third of 0.3
    with pytest.raises(ValueError, match="values"):
        choose_batch(None, mask, Exploration(epsilon=0.5), 0, rng)


def test_masked_max_and_argmax_on_shared_and_general_masks():
    rng = np.random.default_rng(2)
    q = rng.standard_normal((40, 5))
    row = np.array([False, True, True, False, True])
    for mask in (np.broadcast_to(row, q.shape), np.tile(row, (40, 1))):
        want = np.where(mask, q, -np.inf)
        assert np.array_equal(masked_max(q, mask), want.max(axis=1))
        assert np.array_equal(masked_argmax(q, mask), want.argmax(axis=1))
