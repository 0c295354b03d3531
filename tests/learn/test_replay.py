"""ICQ+ agent: it is a HandoffAgent (scalar and batch forms, greedy, persistence), and a
greedy rollout through the project's EpisodeLoop matches the exact evaluation of its table."""

import numpy as np
import pytest

from handoffq.core.agent import HandoffAgent
from handoffq.core.channel import Channel
from handoffq.core.messages import HandoffMessage
from handoffq.envs.llm_math.batched import SimVecEnv
from handoffq.envs.llm_math.env import greedy_table
from handoffq.envs.llm_math.exact import evaluate, hidden_table
from handoffq.learn.replay import PlusConfig, ReplayICQAgent
from handoffq.learn.replay_runner import ReplayRunner, make_plus_team
from handoffq.llm.simulated import calibration
from handoffq.runtime.loop import EpisodeLoop, LocalTeam


def test_is_a_handoff_agent_and_scalar_forms_work() -> None:
    ag = ReplayICQAgent(0, (2, 2), (1, 2, 3), 1.0, PlusConfig(warmup=0, online=True), seed=1)
    assert isinstance(ag, HandoffAgent)
    k = ag.decide((1, 0), [1, 3], key="t1")
    assert k in (1, 3)
    with pytest.raises(RuntimeError, match="pending"):
        ag.decide((1, 0), [1, 3], key="t1")
    td = ag.receive(HandoffMessage(0.5, 1, 0.25), key="t1")
    assert td == pytest.approx(0.75)
    col = ag.candidates.index(k)
    assert ag.Q[ag.flat(np.array([[1, 0]]))[0], col] == pytest.approx(0.75)  # first step: alpha 1
    assert ag.greedy_successor((1, 0), [1, 2, 3]) == k
    assert ag.value((1, 0), [1, 2, 3]) == pytest.approx(0.75)
    other = ReplayICQAgent(0, (2, 2), (1, 2, 3), 1.0, seed=7)
    other.load_state_dict(ag.state_dict())
    assert np.array_equal(other.Q, ag.Q) and other.decisions == ag.decisions
    with pytest.raises(RuntimeError, match="no pending"):
        ag.receive(HandoffMessage(0.0, 1, 0.0), key="nope")
    with pytest.raises(ValueError, match="successor 9 is not one of its candidates"):
        ag.value((1, 0), [1, 9])
    with pytest.raises(ValueError, match="state of agent 0 loaded into agent 4"):
        ReplayICQAgent(4, (2, 2), (1, 2, 3), 1.0).load_state_dict(ag.state_dict())
    with pytest.raises(ValueError, match="no candidate successors"):
        ReplayICQAgent(0, (2, 2), (), 1.0)


def test_greedy_rollout_through_episode_loop_matches_exact_value() -> None:
    hid = hidden_table(calibration("mathqa"))
    pool = np.random.default_rng(0).choice(len(hid.prob), size=4000, p=hid.prob)
    env = SimVecEnv(hid.values[pool], n_envs=32, max_handoffs=8, interface="budget", seed=0)
    team = make_plus_team(env, PlusConfig(), 0)
    ReplayRunner(env, team, PlusConfig(), 8).train(20_000)
    exact = evaluate(greedy_table(team, "budget", 8), hid, 8, 0.0, "budget")["accuracy"]
    # the same agents, driven greedily by the project's loop on a fresh env of the population
    big = np.random.default_rng(1).choice(len(hid.prob), size=200_000, p=hid.prob)
    ev = SimVecEnv(hid.values[big], n_envs=2000, max_handoffs=8, interface="budget", seed=1)
    for a in team:
        a.start_batch(ev.n_envs)
    loop = EpisodeLoop(ev, LocalTeam(team), Channel(), learn=False, max_episodes=20_000)
    rets = []
    while loop.running:
        _, eps = loop.round()
        rets.append(eps.ret)
    acc = float(np.concatenate(rets).mean())
    assert abs(acc - exact) < 4 * np.sqrt(exact * (1 - exact) / 20_000) + 1e-9
