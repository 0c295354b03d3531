from handoffq.baselines.centralised import CentralisedQ, random_policy_value
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.learn.exploration import Exploration
from handoffq.theory.solve import policy_value, value_iteration


def test_centralised_q_learns_the_oracle_policy():
    cfg = SyntheticConfig(n_interface=6)
    env = SyntheticICSMDP(cfg, seed=0)
    model = env.model()
    oracle = value_iteration(model)
    best = policy_value(model, oracle.argmax(axis=1))
    learner = CentralisedQ(model.n_states, model.n_agents, cfg.gamma, Exploration(epsilon=1.0), seed=0)
    learner.train(env, 40_000)
    q = learner.q.copy()
    q[~model.admissible] = -1e9
    assert policy_value(model, q.argmax(axis=1)) >= 0.98 * best
    assert random_policy_value(model) < best


def test_batched_latent_q_learns_the_oracle_policy():
    import numpy as np

    from handoffq.baselines.centralised import train_latent_q
    from handoffq.envs.synthetic import SyntheticVecEnv

    cfg = SyntheticConfig(n_interface=6)
    model = SyntheticICSMDP(cfg).model()
    best = policy_value(model, value_iteration(model).argmax(axis=1))
    env = SyntheticVecEnv(cfg, n_envs=64, seed=0)
    q = train_latent_q(env, model.n_states, 30_000, seed=0)
    learned = policy_value(model, np.where(model.admissible, q, -np.inf).argmax(axis=1))
    assert learned >= 0.98 * best > random_policy_value(model)
