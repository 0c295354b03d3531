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
