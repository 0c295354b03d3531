"""The vectorised router team is IC-Q per router, driven by the shared episode loop."""

from __future__ import annotations

import numpy as np
import pytest

from handoffq.baselines.routing import NaiveRoutingAgent
from handoffq.core.channel import Channel, deliver_replies
from handoffq.envs.routing import RoutingConfig, RoutingEnv, RoutingVecEnv, make_graph
from handoffq.learn.exploration import Exploration
from handoffq.learn.router_team import ICQRouterTeam, NaiveRouterTeam, RouterTables, greedy_next_hops, rank_within
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import BatchedRunner
from handoffq.runtime.packet_episodes import EpisodicRouterTrainer


def _team(graph, cfg, cls=ICQRouterTeam, **kw):
    env = RoutingEnv(graph, cfg)
    return cls([env.candidates(i) for i in range(env.n_agents)], env.obs_nvec(0), cfg.gamma, **kw)


@pytest.mark.parametrize(
    "schedule",
    [StepSize("visits", power=0.7), StepSize("visits_offset", t0=5.0, power=0.7), StepSize("decay", t0=50.0)],
)
@pytest.mark.parametrize(("cls", "agent_cls"), [(ICQRouterTeam, None), (NaiveRouterTeam, NaiveRoutingAgent)])
def test_team_equals_per_agent_icq_agents(schedule, cls, agent_cls) -> None:
    """Same seeded run, same tables: the vectorised team on the loop = ICQAgents on the loop.

    Greedy decisions, so that the agents' private exploration draws do not matter; the updates
    (targets, merged duplicates, per-entry steps) must agree to the last bit or nearly."""
    g = make_graph("erdos_renyi", 12, seed=3)
    cfg = RoutingConfig(gamma=0.95, detain_prob=0.5)
    vec = RoutingVecEnv(g, cfg, n_envs=16, seed=7)
    kw = {} if agent_cls is None else {"agent_cls": agent_cls}
    agents = make_team(vec, seed=0, exploration=Exploration(epsilon=0.0), schedule=schedule, **kw)
    BatchedRunner(vec, agents, seed=7).train(16 * 40)
    team = _team(g, cfg, cls, exploration=Exploration(epsilon=0.0), schedule=schedule, seed=0)
    EpisodicRouterTrainer(g, team, cfg, n_slots=16, seed=7).train(16 * 40)
    assert max(np.abs(a.q.table).max() for a in agents) > 0  # something was learned
    for i, a in enumerate(agents):
        np.testing.assert_allclose(team.table(i), a.q.table, rtol=0, atol=1e-12)


def test_tables_are_separate_blocks() -> None:
    t = RouterTables([(1, 2), (0,), (0,)], n_obs=4)
    assert t.table(0).shape == (4, 2) and t.table(1).shape == (4, 1)
    t.table(1)[:] = 5.0
    assert np.all(t.table(0) == 0) and np.all(t.table(2) == 0)
    rows = t.rows(np.array([0, 1]), np.array([3, 2]))
    assert rows.shape == (2, 2) and rows[1, 0] == 5.0 and rows[1, 1] == -np.inf


def test_rank_within() -> None:
    assert rank_within(np.array([3, 1, 3, 3, 1])).tolist() == [0, 0, 1, 2, 1]


def test_decisions_values_and_exploration_respect_masks() -> None:
    g = make_graph("barabasi_albert", 15, seed=0)
    cfg = RoutingConfig(detain_prob=0.5)
    team = _team(g, cfg, exploration=Exploration(epsilon=1.0), seed=1)
    rng = np.random.default_rng(0)
    team.flat[:] = rng.normal(size=team.flat.size)
    routers = rng.integers(team.n, size=400)
    obs = rng.integers(team.n_obs, size=400)
    mask = team.col_ok[routers] & (rng.random((400, team.max_deg)) < 0.5)
    mask[np.arange(400), 0] = True
    q = np.where(mask, team.rows(routers, obs), -np.inf)
    np.testing.assert_array_equal(team.decide_rows(routers, obs, mask, greedy=True), np.argmax(q, axis=1))
    np.testing.assert_array_equal(team.value_rows(routers, obs, mask), q.max(axis=1))
    cols = team.decide_rows(routers, obs, mask)  # epsilon = 1: uniformly random admissible
    assert mask[np.arange(400), cols].all() and len(set(cols.tolist())) > 1


def test_team_protocol_groups_and_wrong_receiver() -> None:
    g = make_graph("chain", 4, seed=0)
    cfg = RoutingConfig()
    team = _team(g, cfg, exploration=Exploration(epsilon=0.0))
    team.start_batch(4)
    m = np.ones((2, 2), dtype=bool)
    out = team.decide([(1, np.array([0, 1]), np.array([[3, 0], [0, 0]]), m), (2, np.array([2]),
                                                                               np.array([[3, 0]]), m[:1])], False)
    assert [len(o) for o in out] == [2, 1] and set(out[0].tolist()) <= {0, 2} and set(out[1].tolist()) <= {1, 3}
    ch = Channel()
    ok = deliver_replies(ch, np.array([1]), np.array([2]), np.array([0]), np.array([-1.0]), np.array([1]),
                         np.array([-1.0]))
    team.receive([(d, None) for d in ok])
    assert team.table(1).min() < 0  # router 1 learned
    wrong = deliver_replies(ch, np.array([3]), np.array([2]), np.array([1]), np.array([0.0]), np.array([1]),
                            np.array([-1.0]))
    with pytest.raises(RuntimeError, match="no pending decision"):
        team.receive([(d, None) for d in wrong])
    assert team.forget() == 2 and team.forget() == 0
    with pytest.raises(RuntimeError, match="local actions"):
        team.decide_local([], False)


def test_greedy_next_hops_diagonal_and_first_max() -> None:
    g = make_graph("chain", 3, seed=0)
    team = _team(g, RoutingConfig())
    hops = greedy_next_hops(team, 0)
    assert np.diag(hops).tolist() == [0, 1, 2]
    assert hops[1].tolist()[0] == 0 and hops[1, 2] == 0  # ties: the first neighbour


def test_only_epsilon_exploration() -> None:
    with pytest.raises(ValueError, match="epsilon-greedy"):
        _team(make_graph("chain", 3), RoutingConfig(), exploration=Exploration(kind="boltzmann"))
