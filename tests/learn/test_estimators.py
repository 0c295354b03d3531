import numpy as np
import pytest

from handoffq.learn.estimators import MLPEstimator, TabularEstimator, make_estimator


def test_tabular_update_and_batch_averaging():
    est = TabularEstimator((3, 2), 4)
    assert est.update((2, 1), 3, 1.0, 0.5) == 1.0
    assert est.values((2, 1))[3] == 0.5
    # two identical updates in one batch at rate 1 land on their mean, not applied twice
    est.update_batch(np.array([[0, 0], [0, 0]]), np.array([1, 1]), np.array([2.0, 4.0]), np.array([1.0, 1.0]))
    assert est.values((0, 0))[1] == pytest.approx(3.0)
    state = est.state_dict()
    other = TabularEstimator((3, 2), 4)
    other.load_state_dict(state)
    probe = np.array([[2, 1], [0, 0]])
    np.testing.assert_array_equal(other.values_batch(probe), est.values_batch(probe))


def test_tabular_sparse_fallback_for_huge_spaces():
    est = TabularEstimator((10_000, 10_000), 3)
    assert not est.dense
    est.update((9_999, 5), 2, 1.0, 1.0)
    assert est.values((9_999, 5))[2] == 1.0
    assert est.values_batch(np.array([[9_999, 5], [0, 0]]))[:, 2].tolist() == [1.0, 0.0]


@pytest.mark.parametrize("inputs", ["onehot", "features", "joint_onehot"])
def test_mlp_learns_a_small_table(inputs):
    est = MLPEstimator((4,), 2, width=32, depth=2, inputs=inputs, lr=0.1, seed=0)
    target = {(o, a): float(o) - a for o in range(4) for a in range(2)}
    obs = np.array([[o] for o, _ in target])
    acts = np.array([a for _, a in target])
    ys = np.array(list(target.values()))
    for _ in range(3000):
        est.update_batch(obs, acts, ys, np.ones(len(ys)))
    pred = est.values_batch(obs)[np.arange(len(acts)), acts]
    tol = 0.15 if inputs != "features" else 0.4
    assert np.max(np.abs(pred - ys)) < tol


def test_mlp_projection_keeps_parameters_in_ball():
    est = MLPEstimator((5,), 3, width=16, lr=0.5, radius=0.3, seed=1)
    for _ in range(200):
        est.update((1,), 0, 100.0, 1.0)
    assert est.distance_from_init() <= 0.3 + 1e-5


def test_mlp_is_seeded_and_checkpointable():
    a = MLPEstimator((3,), 2, width=8, seed=7)
    b = MLPEstimator((3,), 2, width=8, seed=7)
    np.testing.assert_array_equal(a.values((1,)), b.values((1,)))
    a.update((1,), 0, 5.0, 1.0)
    c = MLPEstimator((3,), 2, width=8, seed=99)
    c.load_state_dict(a.state_dict())
    np.testing.assert_allclose(c.values((1,)), a.values((1,)))


def test_make_estimator_rejects_unknown():
    with pytest.raises(ValueError, match="unknown estimator"):
        make_estimator("forest", (2,), 2)


def test_tabular_refuses_a_step_to_a_non_finite_value():
    from handoffq.learn.targets import NonFiniteQError

    est = TabularEstimator((2,), 2)
    est.table[0, 1] = -1.7e308
    with pytest.raises(NonFiniteQError):
        est.update((0,), 1, 1.7e308, 1.0)
    with pytest.raises(NonFiniteQError):
        est.update_batch(np.array([[0], [1]]), np.array([1, 0]), np.array([1.7e308, 1.0]), np.array([1.0, 1.0]))
    assert est.table.tolist() == [[0.0, -1.7e308], [0.0, 0.0]]  # neither update wrote anything


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_mlp_refuses_targets_beyond_float32_and_keeps_its_weights(optimizer):
    from handoffq.learn.targets import NonFiniteQError

    est = MLPEstimator((3,), 2, width=8, optimizer=optimizer, seed=0)
    before = [p.detach().clone() for p in est.net.parameters()]
    for target in (1e39, float("nan"), 1e30):
        with pytest.raises(NonFiniteQError):
            est.update((1,), 0, target, 1.0)
    assert all((p == b).all() for p, b in zip(est.net.parameters(), before))
    assert np.isfinite(est.values((1,))).all()
    est.update((1,), 0, 1.0, 1.0)  # still usable


def test_tabular_bincount_grouping_equals_sorting():
    """Small tables group duplicate pairs with bincount, large ones with np.unique: same update."""
    rng = np.random.default_rng(0)
    obs = rng.integers(7, size=(500, 1))
    act, y, st = rng.integers(3, size=500), rng.standard_normal(500), rng.uniform(0.1, 0.9, 500)
    small = TabularEstimator((7,), 3)  # 21 entries <= 4 x 500: bincount path
    small.update_batch(obs, act, y, st)
    flat = obs[:, 0] * 3 + act
    uniq, inv, cnt = np.unique(flat, return_inverse=True, return_counts=True)
    mean_t, mean_a = np.bincount(inv, weights=y) / cnt, np.bincount(inv, weights=st) / cnt
    want = np.zeros(21)
    want[uniq] = (1 - (1 - mean_a) ** cnt) * mean_t
    np.testing.assert_allclose(small.table.reshape(-1), want, rtol=1e-12)
    large = TabularEstimator((70_000,), 3)  # far larger than the batch: np.unique path
    large.update_batch(obs, act, y, st)
    np.testing.assert_allclose(large.table[:7].reshape(-1), want, rtol=1e-12)


def test_make_estimator_builds_the_ntk_mlp():
    from handoffq.learn.ntk_mlp import NTKMLPEstimator

    est = make_estimator("ntk_mlp", (4,), 3, seed=1, width=8)
    assert isinstance(est, NTKMLPEstimator) and est.values((2,)).shape == (3,)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_ntk_mlp_refuses_a_step_to_non_finite_weights(optimizer):
    from handoffq.learn.targets import NonFiniteQError

    est = make_estimator("ntk_mlp", (4,), 3, seed=1, width=8, optimizer=optimizer)
    before = [w.copy() for w in est.weights]
    for target in (float("nan"), 1e300):
        with pytest.raises(NonFiniteQError):
            est.update((1,), 0, target, 1.0)
    assert all(np.array_equal(w, b) for w, b in zip(est.weights, before))
    est.update((1,), 0, 1.0, 1.0)  # still usable
    assert np.isfinite(est.values((1,))).all()
