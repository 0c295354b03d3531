import numpy as np
import pytest

from handoffq.core.messages import HandoffMessage
from handoffq.learn.agent import ICQAgent
from handoffq.learn.exploration import Exploration, choose, choose_batch
from handoffq.learn.schedules import StepSize, step_size


def test_exploration_only_over_admissible():
    rng = np.random.default_rng(0)
    q = np.array([10.0, 0.0, 5.0, 1.0])
    allowed = np.array([1, 3])
    for kind in ("epsilon", "boltzmann"):
        ex = Exploration(kind=kind, epsilon=1.0, temperature=5.0)
        picks = {choose(q, allowed, ex, 0, rng) for _ in range(200)}
        assert picks == {1, 3}
        mask = np.zeros((50, 4), bool)
        mask[:, [1, 3]] = True
        assert set(choose_batch(np.tile(q, (50, 1)), mask, ex, 0, rng).tolist()) <= {1, 3}
    greedy = Exploration(epsilon=0.0)
    assert choose(q, allowed, greedy, 0, rng) == 3


def test_step_size_schedules():
    assert step_size(StepSize("constant", 0.3), 100, 5) == 0.3
    assert step_size(StepSize("decay", 1.0, t0=10), 10, 1) == 0.5
    assert step_size(StepSize("visits", 1.0, power=1.0), 0, 4) == 0.25
    with pytest.raises(ValueError):
        StepSize("cosine")


def test_agent_regresses_on_message_target():
    agent = ICQAgent(0, (2,), (0, 1, 2), gamma=0.5, exploration=Exploration(epsilon=0.0),
                     schedule=StepSize("constant", 1.0))
    k = agent.decide((1,), (1, 2))
    assert k in (1, 2)
    agent.receive(HandoffMessage(value=4.0, duration=2, reward=1.0))
    assert agent.q.values((1,))[agent.columns([k])[0]] == pytest.approx(1.0 + 0.25 * 4.0)
    with pytest.raises(RuntimeError):
        agent.receive(HandoffMessage(0.0, 1, 0.0))  # nothing pending


def test_value_is_max_over_admissible_only():
    agent = ICQAgent(0, (1,), (0, 1), gamma=0.9)
    agent.q.table[0] = [5.0, 1.0]
    assert agent.value((0,), (1,)) == 1.0
    assert agent.value((0,), (0, 1)) == 5.0


def test_adaptable_agent_local_update():
    agent = ICQAgent(0, (2,), (0, 1), gamma=0.5, n_local=3, exploration=Exploration(epsilon=0.0),
                     schedule=StepSize("constant", 1.0))
    agent.q.table[1] = [2.0, 6.0]
    a = agent.decide_local((0,))
    agent.after_local(1.0, (1,), (0, 1))
    assert agent.qa.values((0,))[a] == pytest.approx(1.0 + 0.5 * 6.0)
    assert agent.value((0,), (0, 1)) == pytest.approx(4.0)  # max_a Qa is what it sends


def test_state_dict_roundtrip():
    a = ICQAgent(3, (2,), (0, 1), gamma=0.9, seed=5)
    a.decide((0,), (0, 1))
    a.receive(HandoffMessage(1.0, 1, 1.0))
    b = ICQAgent(3, (2,), (0, 1), gamma=0.9, seed=0)
    b.load_state_dict(a.state_dict())
    assert b.t == a.t and np.array_equal(b.q.table, a.q.table)
    assert b.rng.random() == a.rng.random()
    with pytest.raises(ValueError):
        ICQAgent(1, (2,), (0, 1), gamma=0.9).load_state_dict(a.state_dict())
