"""The learners of T1/T2 on the default (workflow) family: IC-Q reaches the oracle at full
view, naive independent Q stays near its (myopic) fixed point, and the i.i.d. control runs."""

import numpy as np

from handoffq.envs.synthetic import SyntheticConfig
from handoffq.experiments.synthetic.exact import (
    fixed_point_values,
    greedy_value,
    latent_policy_value,
    normalised,
    reference,
    relative_error,
)
from handoffq.experiments.synthetic.learners import (
    NeuralLearner,
    TabularLearner,
    train_centralised,
    train_neural,
    train_tabular,
)


def test_icq_learns_and_naive_does_not():
    cfg = SyntheticConfig(instance_seed=0)
    ref = reference(cfg)
    icq = normalised(greedy_value(ref, train_tabular(cfg, TabularLearner(), 60_000, 0, 256)), ref)
    naive = normalised(greedy_value(ref, train_tabular(cfg, TabularLearner(), 60_000, 0, 256, learner="naive")), ref)
    fp = normalised(fixed_point_values(cfg, ref)["naive_fixed_point_value"], ref)
    assert icq >= 0.97
    assert naive <= 0.5 and abs(naive - fp) < 0.25


def test_centralised_latent_q_reaches_the_oracle():
    cfg = SyntheticConfig(instance_seed=1)
    ref = reference(cfg)
    q = train_centralised(cfg, 60_000, 1)
    assert normalised(latent_policy_value(ref, q), ref) >= 0.95
    assert np.isneginf(q[~ref.model.admissible]).all()


def test_iid_control_and_neural_learner_run_and_learn():
    cfg = SyntheticConfig(instance_seed=2)
    ref = reference(cfg)
    untrained = relative_error(ref, train_neural(cfg, NeuralLearner(), 8, 64, 2, 64))
    team = train_neural(cfg, NeuralLearner(), 16, 20_000, 2, 64, iid=ref.mu)
    assert relative_error(ref, team) < 0.6 * untrained
