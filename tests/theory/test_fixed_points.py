"""Exact fixed points of IC-Q and naive independent Q."""

import numpy as np

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.experiments.synthetic.exact import fixed_point_values, reference
from handoffq.theory.fixed_points import naive_fixed_point


def test_icq_fixed_point_is_optimal_at_full_retention():
    for seed in range(3):
        cfg = SyntheticConfig(instance_seed=seed)
        ref = reference(cfg)
        assert abs(fixed_point_values(cfg, ref)["icq_fixed_point_value"] - ref.oracle_value) < 1e-9


def test_naive_fixed_point_is_myopic_on_the_synthetic_family():
    """The successor does not change the predecessor's own invocation, and naive Q bootstraps as
    if the predecessor acted next, so its continuation is the same for every successor: its
    greedy choice is the best immediate ``match - cost``."""
    cfg = SyntheticConfig(instance_seed=1)
    env = SyntheticICSMDP(cfg)
    ref = reference(cfg)
    m = ref.model
    own = np.stack([m.obs_of] * cfg.n_agents)
    own_adm = np.stack([np.broadcast_to(env.inst.admissible[i], (m.n_states, cfg.n_agents))
                        for i in range(cfg.n_agents)])
    tables = naive_fixed_point(m, ref.mu, own, own_adm)
    inst = env.inst
    for i in range(cfg.n_agents):
        immediate = inst.match - inst.cost[i][None, :]
        myopic = np.argmax(np.where(inst.admissible[i][None, :], immediate, -np.inf), axis=1)
        z_of_obs = np.argsort(env.group)  # rho = 1: obs = rank of z
        greedy = np.argmax(tables[i], axis=1)
        assert np.array_equal(greedy, myopic[z_of_obs])
