"""Shared pieces of the synthetic-IC-SMDP experiments (T1, T2) and benchmarks."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP, SyntheticVecEnv
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import greedy_obs_policy, make_team, q_tables
from handoffq.runtime import make_runner
from handoffq.runtime.inprocess import BatchedRunner
from handoffq.theory.mixing import behaviour_chain, stationary, uniform_behaviour
from handoffq.theory.model import FiniteModel
from handoffq.theory.solve import (
    greedy_state_policy,
    obs_policy_to_states,
    policy_value,
    q_error,
    value_iteration,
)

__all__ = ["SIMULATED_NOTE", "Reference", "greedy_value", "reference", "team_q_error", "train_icq"]

SIMULATED_NOTE = (
    "synthetic IC-SMDP: a randomly generated finite model (handoffq.envs.synthetic), "
    "not a real workflow"
)


@dataclasses.dataclass(frozen=True)
class Reference:
    """Exact quantities of one instance at one rho: model, oracle, behaviour distribution."""

    model: FiniteModel
    q_star: np.ndarray
    oracle_value: float
    random_value: float
    behaviour: np.ndarray
    mu: np.ndarray


def reference(cfg: SyntheticConfig) -> Reference:
    """Exact model, centralised oracle and the uniform behaviour's stationary distribution."""
    model = SyntheticICSMDP(cfg).model()
    q_star = value_iteration(model)
    b = uniform_behaviour(model)
    mu = stationary(behaviour_chain(model, b))
    return Reference(
        model=model,
        q_star=q_star,
        oracle_value=policy_value(model, greedy_state_policy(model, q_star)),
        random_value=policy_value(model, b),
        behaviour=b,
        mu=mu,
    )


def train_icq(
    cfg: SyntheticConfig,
    budget: int,
    seed: int,
    estimator: str = "tabular",
    estimator_kwargs: dict[str, Any] | None = None,
    epsilon: float = 1.0,
    schedule: StepSize | None = None,
    runtime: str = "inprocess",
    n_envs: int = 256,
    unit: str = "handoffs",
) -> list[Any]:
    """Train an IC-Q team for ``budget`` handoffs (or primitive steps with
    ``unit="steps"``); return the agents.

    ``runtime="inprocess"`` uses the batched (vectorised) in-process runner with ``n_envs``
    concurrent episodes; ``"ray"`` the distributed runner. The default behaviour is uniform
    over admissible successors (``epsilon=1``): a fixed behaviour chain, as in Theorem 1.
    """
    explore = Exploration(epsilon=epsilon)
    if runtime == "inprocess":
        env = SyntheticVecEnv(cfg, n_envs=n_envs, seed=seed)
        team = make_team(env, seed=seed, estimator=estimator, estimator_kwargs=estimator_kwargs,
                         exploration=explore, schedule=schedule)
        _spend(BatchedRunner(env, team, seed=seed), budget, unit, n_envs)
        return team
    env1 = SyntheticICSMDP(cfg, seed=seed)
    team = make_team(env1, seed=seed, estimator=estimator, estimator_kwargs=estimator_kwargs,
                     exploration=explore, schedule=schedule)
    _spend(make_runner(runtime, env1, team, seed=seed), budget, unit, 64)
    return team


def _spend(runner: Any, budget: int, unit: str, chunk: int) -> None:
    """Train until ``budget`` handoffs, or ``budget`` primitive steps (in chunks of handoffs)."""
    if unit == "handoffs":
        runner.train(budget)
        return
    if unit != "steps":
        raise ValueError(f"unknown budget unit {unit!r} (expected 'handoffs' or 'steps')")
    while runner.stats.primitive_steps < budget:
        runner.train(chunk)


def _admissible_masks(cfg: SyntheticConfig) -> list[np.ndarray]:
    env = SyntheticICSMDP(cfg)
    return [env.inst.admissible[i] for i in range(cfg.n_agents)]


def greedy_value(cfg: SyntheticConfig, ref: Reference, team: list[Any]) -> float:
    """Exact value of the team's greedy successor policy."""
    pols = greedy_obs_policy(team, ref.model.n_obs, _admissible_masks(cfg))
    return policy_value(ref.model, obs_policy_to_states(ref.model, pols))


def team_q_error(ref: Reference, team: list[Any]) -> float:
    """Behaviour-weighted RMS distance between the team's Q and the latent ``Q*``."""
    return q_error(ref.model, q_tables(team, ref.model.n_obs), ref.q_star, ref.mu)


def rms(q: np.ndarray, mu: np.ndarray, admissible: np.ndarray) -> float:
    """Behaviour-weighted RMS of ``Q*`` itself (the scale for relative errors)."""
    sq = np.where(admissible, np.where(admissible, q, 0.0) ** 2, 0.0).sum(axis=1) / admissible.sum(axis=1)
    return float(np.sqrt(mu @ sq))
