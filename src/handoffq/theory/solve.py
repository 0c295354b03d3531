"""Exact solvers on a :class:`~handoffq.theory.model.FiniteModel`.

* :func:`value_iteration` - the centralised oracle (latent decision-epoch SMDP);
* :func:`evaluate_policy` - the exact value of any successor policy (a linear solve);
* :func:`obs_policy_to_states` - lift a policy over observations to latent states;
* :func:`q_error` - the behaviour-weighted distance between an observation-based Q and Q*.
"""

from __future__ import annotations

import numpy as np

from handoffq.theory.model import FiniteModel

__all__ = [
    "evaluate_policy",
    "greedy_state_policy",
    "obs_policy_to_states",
    "policy_value",
    "q_error",
    "value_iteration",
]


def value_iteration(model: FiniteModel, tol: float = 1e-10, max_iter: int = 100_000) -> np.ndarray:
    """Optimal option-value ``Q*(x, k)`` of the latent SMDP (``-inf`` where inadmissible)."""
    n, a = model.n_states, model.n_agents
    v = np.zeros(n)
    flat = model.discounted.reshape(n * a, n)
    for _ in range(max_iter):
        q = model.reward + (flat @ v).reshape(n, a)
        q = np.where(model.admissible, q, -np.inf)
        v_new = q.max(axis=1)
        if np.max(np.abs(v_new - v)) < tol:
            v = v_new
            break
        v = v_new
    q = model.reward + (flat @ v).reshape(n, a)
    return np.where(model.admissible, q, -np.inf)


def evaluate_policy(model: FiniteModel, policy: np.ndarray) -> np.ndarray:
    """Exact ``V^pi(x)`` of a deterministic (``(n,)`` ints) or stochastic (``(n, a)``) policy."""
    n = model.n_states
    if policy.ndim == 1:
        probs = np.zeros((n, model.n_agents))
        probs[np.arange(n), policy] = 1.0
    else:
        probs = policy
    if np.any((probs > 0) & ~model.admissible):
        raise ValueError("policy puts mass on an inadmissible successor")
    r = (probs * model.reward).sum(axis=1)
    m = np.einsum("xk,xky->xy", probs, model.discounted)
    return np.linalg.solve(np.eye(n) - m, r)


def policy_value(model: FiniteModel, policy: np.ndarray) -> float:
    """Expected discounted return of ``policy`` from the initial distribution."""
    return float(model.init @ evaluate_policy(model, policy))


def obs_policy_to_states(model: FiniteModel, obs_policy: list[np.ndarray]) -> np.ndarray:
    """Lift per-agent policies over observations (``obs_policy[i][o]`` a successor id, or a
    row of probabilities) to a policy over latent states."""
    first = np.asarray(obs_policy[0])
    if first.ndim == 1:
        return np.array(
            [obs_policy[model.agent_of[x]][model.obs_of[x]] for x in range(model.n_states)],
            dtype=np.int64,
        )
    return np.stack([obs_policy[model.agent_of[x]][model.obs_of[x]] for x in range(model.n_states)])


def greedy_state_policy(model: FiniteModel, q: np.ndarray) -> np.ndarray:
    """Greedy successor per latent state from ``q`` of shape ``(n_states, n_agents)``."""
    return np.argmax(np.where(model.admissible, q, -np.inf), axis=1)


def q_error(
    model: FiniteModel, q_obs: list[np.ndarray], q_star: np.ndarray, weights: np.ndarray
) -> float:
    """Root of ``E_{x~weights, k admissible uniform}[(Q_i(o(x), k) - Q*(x, k))^2]``.

    ``q_obs[i]`` is agent ``i``'s table ``(n_obs_i, n_agents)``; ``weights`` a distribution
    over latent states (typically the behaviour chain's stationary distribution).
    """
    lifted = np.stack([q_obs[model.agent_of[x]][model.obs_of[x]] for x in range(model.n_states)])
    adm = model.admissible
    sq = np.where(adm, (lifted - np.where(adm, q_star, 0.0)) ** 2, 0.0).sum(axis=1) / adm.sum(axis=1)
    return float(np.sqrt(weights @ sq))
