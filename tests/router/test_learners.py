"""The router's learners: fast paths equal ICQAgent's, growth keeps values, vector MLP learns."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.core.messages import HandoffMessage
from handoffq.learn.agent import ICQAgent
from handoffq.learn.estimators import TabularEstimator
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.router.learners import MLP, Tabular, grow_table, learner_spec, make_agent, scalar_step


@pytest.mark.parametrize("kind", ["constant", "decay", "visits"])
def test_scalar_step_matches_the_schedule(kind):
    s = StepSize(kind, a0=0.8, t0=50.0, power=0.6)  # type: ignore[arg-type]
    for t, v in [(0, 1), (7, 3), (500, 40), (3, 0)]:
        assert scalar_step(s, t, v) == pytest.approx(float(s(t, v)))


def test_fast_paths_compute_what_icq_agent_computes():
    rng = np.random.default_rng(3)
    fast = make_agent(Tabular(), 3, 0.9, Exploration(epsilon=0.0), seed=0)
    ref = ICQAgent(0, (16,), [0, 1, 2], 0.9, estimator=TabularEstimator((16,), 3), exploration=Exploration(epsilon=0.0))
    for i in range(300):
        obs = (int(rng.integers(16)),)
        adm = [0, 2] if i % 3 == 0 else [0, 1, 2]
        assert fast.value(obs, adm) == pytest.approx(ref.value(obs, adm), rel=1e-12)  # pow() may differ in the last bit
        assert fast.decide(obs, adm, key=i) == ref.decide(obs, adm, key=i)
        msg = HandoffMessage(float(rng.normal()), int(rng.integers(1, 4)), float(rng.normal()))
        assert fast.receive(msg, key=i) == pytest.approx(ref.receive(msg, key=i))
    assert np.allclose(fast.q.table, ref.q.table)  # type: ignore[attr-defined]
    assert np.array_equal(fast.visits.counts, ref.visits.counts)


def test_grow_table_keeps_values_and_visits():
    a = make_agent(Tabular(), 2, 0.9, Exploration(epsilon=0.0), seed=0)
    a.decide((5,), [0, 1], key="k")
    a.receive(HandoffMessage(0.0, 1, 2.0), key="k")
    grow_table(a, 64)
    assert a.q.values((5,))[0] == 2.0 and a.obs_nvec == (64,) and a.visits.counts[10] == 1  # type: ignore[index]
    a.decide((63,), [0, 1], key="j")
    a.receive(HandoffMessage(0.0, 1, 1.0), key="j")
    assert a.q.values((63,))[0] == 1.0


def test_learner_specs_round_trip_and_refuse_nonsense():
    for spec in (Tabular(init=0.5, max_views=10), MLP(dim=3, width=8)):
        assert learner_spec(spec.as_json()) == spec
    assert learner_spec("mlp") == MLP()
    with pytest.raises(ValueError, match="learner must be"):
        learner_spec("forest")
    with pytest.raises(ValueError, match="torch_threads"):
        MLP(torch_threads=0)


def test_vector_mlp_learns_a_view_dependent_choice_with_one_thread():
    import torch

    torch.set_num_threads(2)
    a = make_agent(MLP(width=16), 2, 0.9, Exploration(epsilon=0.3), seed=0, dim=2)
    assert torch.get_num_threads() == 1
    rng = np.random.default_rng(0)
    for i in range(1500):
        x = float(rng.random())
        k = a.decide((x, 1.0 - x), [0, 1], key=i)
        a.receive(HandoffMessage(0.0, 1, float(k == (x > 0.5))), key=i)
    assert a.greedy_successor((0.9, 0.1), [0, 1]) == 1 and a.greedy_successor((0.1, 0.9), [0, 1]) == 0
