"""Exact fixed points of the decentralised learners on a finite model.

* :func:`icq_fixed_point` - tabular IC-Q under a behaviour whose state distribution is ``mu``
  (the AIS-induced SMDP's optimal Q, :func:`handoffq.theory.ais.ais_induced_q`).
* :func:`naive_fixed_point` - tabular *naive independent Q*: agent ``i`` regresses
  ``Q_i(o, k)`` on ``R + gamma^tau max_{k'} Q_i(o_i', k')`` with ``o_i'`` its *own* view of the
  artifact it handed off and the max over its *own* admissible successors there. Its operator
  ``(T Q)_i(o, k) = E_mu[R(x, k) + sum_y D(x, k, y) max_{k'} Q_i(own_obs[i, y], k') | o]`` is a
  sup-norm contraction (modulus ``max E[gamma^tau] < 1``), so value iteration finds it.

Both return per-agent tables ``(n_obs_i, n_agents)`` with ``-inf`` at inadmissible columns, and
:func:`greedy_tables_policy` lifts greedy choices to a latent-state policy for exact evaluation.
"""

from __future__ import annotations

import numpy as np

from handoffq.theory.ais import ais_induced_q, obs_q_tables
from handoffq.theory.model import FiniteModel

__all__ = ["greedy_tables_policy", "icq_fixed_point", "naive_fixed_point"]


def _conditional_weights(model: FiniteModel, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global obs of each state and ``mu(x | o(x))`` (uniform within an unvisited obs)."""
    g = model.global_obs()
    n_g = int(sum(model.n_obs))
    mass = np.bincount(g, weights=mu, minlength=n_g)
    cnt = np.bincount(g, minlength=n_g).astype(float)
    cond = np.where(mass[g] > 0, mu / np.where(mass[g] > 0, mass[g], 1.0), 1.0 / np.maximum(cnt[g], 1.0))
    return g, cond


def icq_fixed_point(model: FiniteModel, mu: np.ndarray) -> list[np.ndarray]:
    """IC-Q's tabular fixed point under state distribution ``mu`` (per-agent tables)."""
    return obs_q_tables(model, ais_induced_q(model, mu))


def naive_fixed_point(
    model: FiniteModel,
    mu: np.ndarray,
    own_obs: np.ndarray,
    own_admissible: np.ndarray,
    tol: float = 1e-10,
    max_iter: int = 100_000,
) -> list[np.ndarray]:
    """Naive independent Q's tabular fixed point (see module docstring).

    Args:
        model: the finite model.
        mu: state distribution of the behaviour (weights the states behind an observation).
        own_obs: ``(n_agents, n_states)``: the flat observation agent ``i`` has of state ``y``
            (its own view of the artifact, whoever is active in ``y``).
        own_admissible: ``(n_agents, n_states, n_agents)`` bool: the successors agent ``i``
            would consider at its own view of ``y`` (the max of its bootstrap).
    """
    a = model.n_agents
    g, cond = _conditional_weights(model, mu)
    offsets = np.concatenate([[0], np.cumsum(model.n_obs)]).astype(np.int64)
    tables = []
    for i in range(a):
        rows = np.flatnonzero(model.agent_of == i)
        n_o = model.n_obs[i]
        agg = np.zeros((n_o, len(rows)))
        agg[g[rows] - offsets[i], np.arange(len(rows))] = cond[rows]
        r_hat = agg @ model.reward[rows]  # (n_o, a)
        d_hat = np.einsum("or,rky->oky", agg, model.discounted[rows])  # (n_o, a, n)
        adm_obs = (agg @ model.admissible[rows].astype(float)) > 0
        adm_obs[~adm_obs.any(axis=1)] = True
        own = own_obs[i]
        own_adm = own_admissible[i]
        q = np.zeros((n_o, a))
        for _ in range(max_iter):
            vy = np.where(own_adm, q[own], -np.inf).max(axis=1)  # (n,)
            q_new = r_hat + d_hat @ vy
            if np.max(np.abs(q_new - q)) < tol:
                q = q_new
                break
            q = q_new
        tables.append(np.where(adm_obs, q, -np.inf))
    return tables


def greedy_tables_policy(model: FiniteModel, tables: list[np.ndarray]) -> np.ndarray:
    """Latent-state policy of greedy choices from per-agent observation tables."""
    pol = np.empty(model.n_states, dtype=np.int64)
    for x in range(model.n_states):
        row = np.where(model.admissible[x], tables[model.agent_of[x]][model.obs_of[x]], -np.inf)
        pol[x] = int(np.argmax(row))
    return pol
