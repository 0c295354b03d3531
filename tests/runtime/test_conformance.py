"""Runner conformance: every runner plays the same episode loop, so on the same environment
each reaches the same fixed point (the hand-solved toy, and IC-Q's exact tabular fixed point
of a small synthetic IC-SMDP), and only message batches cross between agents."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from handoffq.core.channel import MessageBatch
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.envs.toy import TwoAgentCycle, hand_solution
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team, q_tables
from handoffq.runtime import RUNTIMES, make_runner
from handoffq.theory.ais import ais_induced_q, obs_q_tables
from handoffq.theory.mixing import behaviour_chain, stationary, uniform_behaviour

SMALL = SyntheticConfig.dense(n_agents=3, n_interface=3, gamma=0.8)  # the original (dense) instance family


def _train(
    runtime: str, env: Any, budget: int, request: pytest.FixtureRequest, power: float = 0.6
) -> tuple[list[Any], list[Any]]:
    if runtime == "ray":
        pytest.importorskip("ray")
        request.getfixturevalue("ray_local")
    team = make_team(env, seed=0, exploration=Exploration(epsilon=1.0), schedule=StepSize("visits", 1.0, power=power))
    audit: list[Any] = []
    kwargs = {"n_envs": 8} if runtime == "batched" else {}
    runner = make_runner(runtime, env, team, seed=0, auditor=lambda s, d, p: audit.append(p), **kwargs)
    try:
        stats = runner.train(budget)
    finally:
        getattr(runner, "close", lambda: None)()
    assert stats.handoffs == budget
    assert audit and all(type(p) is MessageBatch for p in audit)
    assert sum(len(p) for p in audit) == budget  # one three-number reply per handoff
    return team, audit


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runner_reaches_the_hand_solved_toy_fixed_point(runtime: str, request: pytest.FixtureRequest) -> None:
    team, _ = _train(runtime, TwoAgentCycle(), 6000, request)
    for (i, k), want in hand_solution(0.9).items():
        assert team[i].q.values((0,))[k] == pytest.approx(want, abs=2e-2), (runtime, i, k)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runner_reaches_icq_exact_fixed_point(runtime: str, request: pytest.FixtureRequest) -> None:
    env = SyntheticICSMDP(SMALL, seed=0)
    model = env.model()
    mu = stationary(behaviour_chain(model, uniform_behaviour(model)))
    exact = obs_q_tables(model, ais_induced_q(model, mu))
    untrained = make_team(env, seed=0)
    adm = [env.inst.admissible[i] for i in range(env.n_agents)]

    def err(team: list[Any]) -> float:
        got = q_tables(team, model.n_obs)
        return max(float(np.abs(np.where(a, g - e, 0.0)).max()) for g, e, a in zip(got, exact, adm))

    assert err(untrained) > 1.0  # the check below can fail
    # step sizes visits**-0.8: the stochastic-approximation noise at 20k updates is 0.09-0.15
    # whatever order a runner delivers replies in (Ray's is asynchronous); with visits**-0.6 it
    # was 0.11-0.29, and Ray's run-to-run spread crossed the bound on a loaded machine
    team, _ = _train(runtime, env, 20_000, request, power=0.8)
    assert err(team) < 0.25, (runtime, err(team))
