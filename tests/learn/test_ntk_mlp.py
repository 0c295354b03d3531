"""The NTK-parameterised MLP estimator (projected SGD)."""

import numpy as np

from handoffq.learn.ntk_mlp import NTKMLPEstimator


def _loss(est, obs, a, y, weights):
    x = est._encode_flat(est._flat(obs))
    q = est._forward(x, weights)[0] - est._forward(x, est.theta0)[0]
    return 0.5 * np.sum((q[np.arange(len(a)), a] - y) ** 2)


def test_gradient_matches_finite_differences():
    est = NTKMLPEstimator((5, 3), 4, width=7, depth=2, seed=1, reduce="sum", dtype="float64")
    rng = np.random.default_rng(0)
    for w in est.weights:
        w += 0.1 * rng.standard_normal(w.shape)
    obs = np.stack([rng.integers(5, size=12), rng.integers(3, size=12)], 1)
    a, y = rng.integers(4, size=12), rng.standard_normal(12)
    flat = est._flat(obs)
    uniq, inv = np.unique(flat, return_inverse=True)
    out, acts = est._forward(est._encode_flat(uniq), est.weights)
    q = out - est._forward(est._encode_flat(uniq), est.theta0)[0]
    g = np.zeros_like(q)
    np.add.at(g, (inv, a), q[inv, a] - y)
    grads = est._backward(g, acts)
    for k, w in enumerate(est.weights):
        for _ in range(10):
            i = tuple(int(rng.integers(s)) for s in w.shape)
            old = w[i]
            w[i] = old + 1e-6
            lp = _loss(est, obs, a, y, est.weights)
            w[i] = old - 1e-6
            lm = _loss(est, obs, a, y, est.weights)
            w[i] = old
            num = (lp - lm) / 2e-6
            assert abs(num - grads[k][i]) <= 1e-5 * (1 + abs(num))


def test_output_is_zero_at_init_and_projection_holds():
    est = NTKMLPEstimator((6,), 3, width=32, lr=50.0, radius=2.0, seed=0)
    assert np.abs(est.values_batch(np.arange(6)[:, None])).max() == 0.0
    rng = np.random.default_rng(1)
    for _ in range(50):
        obs = rng.integers(6, size=(16, 1))
        est.update_batch(obs, rng.integers(3, size=16), 10 * rng.standard_normal(16), np.ones(16))
    assert est.distance_from_init() <= 2.0 + 1e-4


def test_cached_and_uncached_updates_agree():
    rng = np.random.default_rng(2)
    a = NTKMLPEstimator((6,), 3, width=16, lr=1.0, seed=4, dtype="float64")
    b = NTKMLPEstimator((6,), 3, width=16, lr=1.0, seed=4, dtype="float64")
    b._cache_all = False
    for _ in range(20):
        obs = rng.integers(6, size=(8, 1))
        act, y = rng.integers(3, size=8), rng.standard_normal(8)
        a.update_batch(obs, act, y, np.ones(8))
        b.update_batch(obs, act, y, np.ones(8))
    grid = np.arange(6)[:, None]
    assert np.allclose(a.values_batch(grid), b.values_batch(grid), atol=1e-10)


def test_fits_a_table():
    est = NTKMLPEstimator((5,), 2, width=64, lr=1.0, seed=0)
    target = np.arange(10.0).reshape(5, 2) / 10
    obs = np.repeat(np.arange(5), 2)[:, None]
    act = np.tile([0, 1], 5)
    for _ in range(2000):
        est.update_batch(obs, act, target[obs[:, 0], act], np.ones(10))
    assert np.abs(est.values_batch(np.arange(5)[:, None]) - target).max() < 0.02


def test_is_an_estimator_and_checkpoints_exactly():
    from handoffq.learn.estimators import Estimator

    a = NTKMLPEstimator((4, 3), 2, width=8, lr=0.5, radius=5.0, optimizer="adam", seed=3)
    assert isinstance(a, Estimator)
    rng = np.random.default_rng(0)
    obs = np.stack([rng.integers(4, size=10), rng.integers(3, size=10)], 1)
    for _ in range(5):
        a.update_batch(obs, rng.integers(2, size=10), rng.standard_normal(10), np.ones(10))
    b = NTKMLPEstimator((4, 3), 2, width=8, lr=0.5, radius=5.0, optimizer="adam", seed=99)
    b.load_state_dict(a.state_dict())
    assert np.array_equal(a.values_batch(obs), b.values_batch(obs))
    act, y = rng.integers(2, size=10), rng.standard_normal(10)
    a.update_batch(obs, act, y, np.ones(10))
    b.update_batch(obs, act, y, np.ones(10))  # the optimiser state came along
    assert np.array_equal(a.values_batch(obs), b.values_batch(obs))
