"""Build a team of IC-Q agents for an environment: one agent per environment agent."""

from __future__ import annotations

from typing import Any

import numpy as np

from handoffq.learn.agent import ICQAgent
from handoffq.learn.estimators import make_estimator
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize

__all__ = ["greedy_obs_policy", "make_team", "q_tables"]


def make_team(
    env: Any,
    seed: int = 0,
    estimator: str = "tabular",
    estimator_kwargs: dict[str, Any] | None = None,
    exploration: Exploration | None = None,
    schedule: StepSize | None = None,
    agent_cls: type = ICQAgent,
    local_estimator: str | None = None,
    local_estimator_kwargs: dict[str, Any] | None = None,
) -> list[Any]:
    """One agent per environment agent, each with its own estimator and seed.

    Works with a :class:`~handoffq.core.env.HandoffEnv` or a ``VecHandoffEnv`` (both expose
    ``obs_nvec``, ``candidates``; adaptable environments also ``local_actions``).
    """
    seeds = np.random.SeedSequence(seed).spawn(env.n_agents)
    team = []
    for i in range(env.n_agents):
        s = int(seeds[i].generate_state(1)[0])
        nvec = env.obs_nvec(i)
        cands = env.candidates(i)
        q = make_estimator(estimator, nvec, len(cands), seed=s, **(estimator_kwargs or {}))
        n_local = env.local_actions(i) if hasattr(env, "local_actions") else 0
        qa = None
        if n_local:
            qa = make_estimator(
                local_estimator or estimator, nvec, n_local, seed=s + 1,
                **(local_estimator_kwargs or estimator_kwargs or {}),
            )
        team.append(
            agent_cls(
                i, nvec, cands, env.gamma, estimator=q, exploration=exploration,
                schedule=schedule, seed=s, n_local=n_local, local_estimator=qa,
            )
        )
    return team


def q_tables(team: list[Any], n_obs: tuple[int, ...]) -> list[np.ndarray]:
    """Each agent's Q over all its (flat) observations, ``(n_obs_i, n_candidates_i)``.

    Observation dimensions are enumerated with ``np.unravel_index`` of the agent's nvec.
    """
    out = []
    for agent, n in zip(team, n_obs):
        obs = np.array(np.unravel_index(np.arange(n), agent.obs_nvec)).T
        out.append(agent.q.values_batch(obs))
    return out


def greedy_obs_policy(team: list[Any], n_obs: tuple[int, ...], admissible: list[np.ndarray]) -> list[np.ndarray]:
    """Greedy successor id per flat observation for each agent (``admissible[i]``: bool mask
    over agent ``i``'s candidates)."""
    pols = []
    for agent, q, adm in zip(team, q_tables(team, n_obs), admissible):
        cols = np.argmax(np.where(adm[None, :], q, -np.inf), axis=1)
        pols.append(np.asarray(agent.candidates)[cols])
    return pols
