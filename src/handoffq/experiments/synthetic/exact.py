"""Exact quantities of a synthetic IC-SMDP instance, computed on its finite model.

Every score of T1 and T2 is exact: learned agents are read out as tables over their own
observations and evaluated on the decision-epoch model (:mod:`handoffq.theory.solve`), never
by sampled returns.

* :func:`reference` - the model, the centralised oracle ``Q*`` and its value, the uniform
  random successor policy (the behaviour every learner trains under: the fixed behaviour
  chain of Theorem 1) and its stationary distribution ``mu``;
* :func:`normalised` - ``(V - V_random) / (V_oracle - V_random)``: 0 is the uniform random
  policy, 1 the oracle;
* :func:`rms` / :func:`relative_error` - errors relative to the ``mu``-weighted RMS of ``Q*``;
* :func:`fixed_point_values` - exact values of the greedy policies of IC-Q's and naive
  independent Q's tabular fixed points (what infinite tabular training converges to).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.learn.team import greedy_obs_policy, q_tables
from handoffq.theory.ais import ais_induced_q, obs_q_tables
from handoffq.theory.fixed_points import greedy_tables_policy, icq_fixed_point, naive_fixed_point
from handoffq.theory.mixing import behaviour_chain, stationary, uniform_behaviour
from handoffq.theory.model import FiniteModel
from handoffq.theory.solve import (
    greedy_state_policy,
    obs_policy_to_states,
    policy_value,
    q_error,
    value_iteration,
)

__all__ = [
    "SIMULATED_NOTE",
    "Reference",
    "exact_floor",
    "fixed_point_values",
    "greedy_value",
    "latent_policy_value",
    "normalised",
    "reference",
    "relative_error",
    "rms",
    "team_q_error",
]

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
    admissible: np.ndarray  # (n_agents, n_agents): agent i may call k


def reference(cfg: SyntheticConfig) -> Reference:
    """Exact model, centralised oracle and the uniform behaviour's stationary distribution."""
    env = SyntheticICSMDP(cfg)
    model = env.model()
    q_star = value_iteration(model)
    b = uniform_behaviour(model)
    return Reference(
        model=model,
        q_star=q_star,
        oracle_value=policy_value(model, greedy_state_policy(model, q_star)),
        random_value=policy_value(model, b),
        behaviour=b,
        mu=stationary(behaviour_chain(model, b)),
        admissible=env.inst.admissible.copy(),
    )


def normalised(value: float, ref: Reference) -> float:
    """``(V - V_random) / (V_oracle - V_random)``: 0 = the uniform random policy, 1 = the oracle."""
    return float((value - ref.random_value) / (ref.oracle_value - ref.random_value))


def greedy_value(ref: Reference, team: list[Any]) -> float:
    """Exact value of the team's greedy successor policy (each agent on its own observation)."""
    pols = greedy_obs_policy(team, ref.model.n_obs, list(ref.admissible))
    return policy_value(ref.model, obs_policy_to_states(ref.model, pols))


def latent_policy_value(ref: Reference, q: np.ndarray) -> float:
    """Exact value of the greedy policy of a latent-state ``Q(x, k)`` (inadmissible: ``-inf``)."""
    return policy_value(ref.model, np.argmax(np.where(ref.model.admissible, q, -np.inf), axis=1))


def team_q_error(ref: Reference, team: list[Any]) -> float:
    """``mu``-weighted RMS distance between the team's ``Q_i(o(x), k)`` and the latent ``Q*(x, k)``."""
    return q_error(ref.model, q_tables(team, ref.model.n_obs), ref.q_star, ref.mu)


def rms(ref: Reference) -> float:
    """``mu``-weighted RMS of ``Q*`` over admissible successors (the scale of relative errors)."""
    adm = ref.model.admissible
    sq = np.where(adm, ref.q_star, 0.0) ** 2
    return float(np.sqrt(ref.mu @ (sq.sum(axis=1) / adm.sum(axis=1))))


def relative_error(ref: Reference, team: list[Any]) -> float:
    """:func:`team_q_error` divided by :func:`rms`: ``||Q - Q*||_mu / ||Q*||_mu``."""
    return team_q_error(ref, team) / rms(ref)


def exact_floor(ref: Reference) -> float:
    """Distance of IC-Q's exact tabular fixed point from ``Q*`` (no sampling and no
    approximation error: the AIS term of Theorem 1 alone), not yet relative."""
    return q_error(ref.model, obs_q_tables(ref.model, ais_induced_q(ref.model, ref.mu)), ref.q_star, ref.mu)


def fixed_point_values(cfg: SyntheticConfig, ref: Reference) -> dict[str, float]:
    """Exact values of the greedy policies of the *tabular fixed points* of IC-Q and of naive
    independent Q under the uniform behaviour (what infinitely long tabular training reaches)."""
    m = ref.model
    own = _own_obs(cfg, m)
    own_adm = np.stack([np.broadcast_to(ref.admissible[i], (m.n_states, cfg.n_agents))
                        for i in range(cfg.n_agents)])
    return {
        "icq_fixed_point_value": policy_value(m, greedy_tables_policy(m, icq_fixed_point(m, ref.mu))),
        "naive_fixed_point_value": policy_value(
            m, greedy_tables_policy(m, naive_fixed_point(m, ref.mu, own, own_adm))),
    }


def _own_obs(cfg: SyntheticConfig, m: FiniteModel) -> np.ndarray:
    """``(n_agents, n_states)``: agent ``i``'s own view of every model state (the interface
    group and its own private count, whoever is active)."""
    npv, n = cfg.n_private, cfg.n_agents
    if npv == 1:
        return np.stack([m.obs_of] * n)
    code = np.arange(m.n_states) % npv**n
    digits = np.array(np.unravel_index(code, (npv,) * n))  # (n, n_states)
    group = m.obs_of // npv
    return np.stack([group * npv + digits[i] for i in range(n)])
