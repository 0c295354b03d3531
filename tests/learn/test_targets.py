import numpy as np

from handoffq.learn.targets import td_target, td_target_batch


def test_td_target_is_r_plus_gamma_pow_tau_v():
    assert td_target(1.0, 1, 2.0, 0.5) == 2.0
    assert td_target(1.0, 3, 2.0, 0.5) == 1.0 + 0.125 * 2.0
    assert td_target(-0.5, 2, 0.0, 0.9) == -0.5  # episode end: v = 0


def test_batch_matches_scalar():
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=20), rng.normal(size=20)
    tau = rng.integers(1, 9, size=20)
    got = td_target_batch(r, tau, v, 0.93)
    want = [td_target(a, int(b), c, 0.93) for a, b, c in zip(r, tau, v)]
    np.testing.assert_allclose(got, want)


def test_gamma_power_matches_np_power_exactly():
    import numpy as np

    from handoffq.learn.targets import gamma_power

    d = np.array([1, 2, 7, 255, 0])
    assert np.array_equal(gamma_power(0.9, d), np.power(0.9, d.astype(float)))
    big = np.array([3, 300])  # past the table: np.power
    assert np.array_equal(gamma_power(0.9, big), np.power(0.9, big.astype(float)))
    assert np.array_equal(gamma_power(0.5, np.array([1.0, 2.0])), np.array([0.5, 0.25]))
