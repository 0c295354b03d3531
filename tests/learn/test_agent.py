import numpy as np
import pytest

from handoffq.core.messages import HandoffMessage
from handoffq.learn.agent import ICQAgent
from handoffq.learn.exploration import Exploration, choose, choose_batch
from handoffq.learn.schedules import StepSize, step_size
from handoffq.learn.targets import NonFiniteQError


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


def _agent_state(agent: ICQAgent) -> tuple:
    """Everything an update may change: Q, visits, counters, pending decisions, generator."""
    return (agent.q.table.copy().tobytes(), agent.visits.counts.copy().tobytes(), agent.t, agent.t_local,
            dict(agent._pending), dict(agent._pending_local), str(agent.rng.bit_generator.state))


@pytest.mark.parametrize("v, r", [(1e308, 1e308), (-1e308, -1e308)])
def test_overflowing_target_is_refused_and_nothing_changes(v, r):
    agent = ICQAgent(0, (2,), (0, 1), gamma=0.99, exploration=Exploration(epsilon=0.0),
                     schedule=StepSize("constant", 1.0))
    agent.decide((1,), (0, 1), key="k")
    before = _agent_state(agent)
    with pytest.raises(NonFiniteQError, match="not finite"):
        agent.receive(HandoffMessage(value=v, duration=1, reward=r), key="k")
    assert _agent_state(agent) == before and np.isfinite(agent.q.table).all()
    agent.receive(HandoffMessage(1.0, 1, 0.0), key="k")  # the decision still waits, and learns
    assert not agent._pending and agent.t == 1


def test_overflowing_step_is_refused_and_nothing_changes():
    agent = ICQAgent(0, (1,), (0, 1), gamma=1.0, exploration=Exploration(epsilon=0.0),
                     schedule=StepSize("constant", 1.0))
    agent.q.table[0] = [-1.7e308, -1.7e308]
    agent.decide((0,), (0, 1), key="k")
    before = _agent_state(agent)
    with pytest.raises(NonFiniteQError):  # the target is finite, target - Q is not
        agent.receive(HandoffMessage(value=0.0, duration=1, reward=1.7e308), key="k")
    assert _agent_state(agent) == before


def test_batch_and_local_updates_refuse_non_finite_targets():
    from handoffq.core.channel import MessageBatch

    agent = ICQAgent(0, (2,), (0, 1), gamma=0.99, n_local=2, schedule=StepSize("constant", 1.0))
    agent.start_batch(2)
    slots = np.array([0, 1])
    agent.decide_batch(slots, np.array([[0], [1]]), np.ones((2, 2), bool))
    before = _agent_state(agent)
    with pytest.raises(NonFiniteQError):
        agent.receive_batch(slots, MessageBatch(np.array([1e308, 0.0]), np.array([1, 1]), np.array([1e308, 0.0])))
    assert _agent_state(agent) == before and agent.has_pending_batch(slots).all()
    agent.decide_local((0,), key="l")
    before = _agent_state(agent)
    with pytest.raises(NonFiniteQError):
        agent.after_local(float("inf"), None, (0, 1), key="l")
    assert _agent_state(agent) == before


def test_routing_agent_fast_path_refuses_non_finite_targets():
    from handoffq.router.learners import Tabular, make_agent

    agent = make_agent(Tabular(), 2, 0.99, Exploration(epsilon=0.0), seed=0)
    agent.decide((0,), (0, 1), key="k")
    before = _agent_state(agent)
    with pytest.raises(NonFiniteQError):
        agent.receive(HandoffMessage(1e308, 1, 1e308), key="k")
    assert _agent_state(agent) == before
