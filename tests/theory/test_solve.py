import numpy as np
import pytest

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.theory.mixing import behaviour_chain, mixing, stationary, uniform_behaviour
from handoffq.theory.solve import evaluate_policy, greedy_state_policy, policy_value, value_iteration


@pytest.fixture(scope="module")
def model():
    return SyntheticICSMDP(SyntheticConfig(n_interface=8)).model()


def test_model_is_consistent(model):
    model.check()
    assert np.all(model.gamma_tau <= 0.9 + 1e-12)


def test_oracle_dominates_every_deterministic_policy_sampled(model):
    q = value_iteration(model)
    pi = greedy_state_policy(model, q)
    v_star = evaluate_policy(model, pi)
    np.testing.assert_allclose(v_star, np.where(model.admissible, q, -np.inf).max(axis=1), atol=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(20):
        rand = np.array([rng.choice(np.flatnonzero(row)) for row in model.admissible])
        assert np.all(evaluate_policy(model, rand) <= v_star + 1e-9)


def test_policy_value_matches_monte_carlo():
    cfg = SyntheticConfig(n_interface=6, horizon=400)
    env = SyntheticICSMDP(cfg)
    model = env.model()
    pi = greedy_state_policy(model, value_iteration(model))
    exact = policy_value(model, pi)
    returns = []
    for e in range(3000):
        env.reset(e)
        ret, disc = 0.0, 1.0
        while True:
            tr = env.step(int(pi[env.latent_state()]))
            ret += disc * tr.reward
            disc *= cfg.gamma**tr.duration
            if tr.terminated or tr.truncated:
                break
        returns.append(ret)
    se = np.std(returns) / np.sqrt(len(returns))
    assert abs(np.mean(returns) - exact) < 4 * se + 1e-3


def test_inadmissible_policy_is_rejected(model):
    bad = np.zeros(model.n_states, dtype=np.int64)
    bad[:] = np.argmin(model.admissible, axis=1)
    if not model.admissible.all():
        with pytest.raises(ValueError, match="inadmissible"):
            evaluate_policy(model, bad)


def test_mixing_of_known_chain():
    p = np.array([[0.9, 0.1], [0.2, 0.8]])  # eigenvalues 1 and 0.7
    rep = mixing(p)
    assert rep.spectral_gap == pytest.approx(0.3)
    assert rep.relaxation_time == pytest.approx(1 / 0.3)
    np.testing.assert_allclose(stationary(p), [2 / 3, 1 / 3])
    assert 1 <= rep.mixing_time <= rep.mixing_time_bound + 1


def test_behaviour_chain_is_stochastic(model):
    chain = behaviour_chain(model, uniform_behaviour(model))
    np.testing.assert_allclose(chain.sum(axis=1), 1.0)
