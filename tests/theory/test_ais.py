import dataclasses

import numpy as np

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.theory.ais import ais_gap, ais_induced_q, gamma_eff, obs_q_tables
from handoffq.theory.mixing import behaviour_chain, stationary, uniform_behaviour
from handoffq.theory.solve import value_iteration


def _setup(rho):
    base = SyntheticConfig(n_interface=10)
    m1 = SyntheticICSMDP(base).model()
    b = uniform_behaviour(m1)
    mu = stationary(behaviour_chain(m1, b))
    return SyntheticICSMDP(dataclasses.replace(base, rho=rho)).model(), mu, b


def test_exact_observations_have_zero_gap_and_induce_the_oracle():
    model, mu, b = _setup(1.0)
    gap = ais_gap(model, mu, b)
    assert gap.eps_max < 1e-9 and gap.delta_max < 1e-9 and gap.residual_max < 1e-6
    q_hat = obs_q_tables(model, ais_induced_q(model, mu))
    q_star = value_iteration(model)
    lifted = np.stack([q_hat[model.agent_of[x]][model.obs_of[x]] for x in range(model.n_states)])
    adm = model.admissible
    np.testing.assert_allclose(lifted[adm], q_star[adm], atol=1e-6)


def test_aliasing_creates_a_gap_that_grows():
    gaps = [ais_gap(*_setup(rho)) for rho in (1.0, 0.5, 0.1)]
    assert gaps[1].eps_mean > 1e-3 and gaps[1].delta_mean > 1e-3
    assert gaps[2].residual_mean > gaps[1].residual_mean > gaps[0].residual_mean
    for g in gaps:
        assert g.residual_mean <= g.eps_mean + g.gamma_eff * g.lipschitz * g.delta_mean + 1e-9


def test_gamma_eff_is_expected_discount():
    model, mu, b = _setup(1.0)
    ge = gamma_eff(model, mu, b)
    assert 0.0 < ge < 0.9
    cfg = SyntheticConfig(n_interface=10, p=1.0)  # tau = 1 always
    m = SyntheticICSMDP(cfg).model()
    bb = uniform_behaviour(m)
    assert abs(gamma_eff(m, stationary(behaviour_chain(m, bb)), bb) - 0.9) < 1e-9
