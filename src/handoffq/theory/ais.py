"""Empirical AIS gap of an observation map, and the AIS-induced SMDP (IC-Q's fixed point).

Given a behaviour distribution ``mu`` over latent decision-epoch states, each observation
``o`` of agent ``i`` induces the conditional ``mu(x | o)``. Assumption 2 of the paper, at
the option scale:

* (B1) reward sufficiency ``eps = |R(x, k) - Rhat(o(x), k)|``,
  ``Rhat(o, k) = E_mu[R(x, k) | o]``;
* (B2) evolution sufficiency ``delta = TV(P(o' | x, k), Phat(o' | o(x), k))`` over the next
  decision epoch's (agent, observation) pair, termination included as one more outcome.

Both are reported as worst cases over the behaviour's support and as ``mu``-weighted means.
The scalar gap combines them as ``(eps + gamma_eff * L_V * delta) / (1 - gamma_eff)`` with
``L_V`` the span of the AIS-induced optimal value (the TV-Lipschitz constant of a value).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from handoffq.theory.model import FiniteModel

__all__ = ["AISGap", "ais_gap", "ais_induced_q", "gamma_eff", "obs_q_tables"]


@dataclass(frozen=True)
class AISGap:
    """Empirical AIS figures of a model under a behaviour distribution."""

    eps_max: float
    eps_mean: float
    delta_max: float
    delta_mean: float
    gamma_eff: float
    lipschitz: float
    gap_max: float
    gap_mean: float

    def as_dict(self) -> dict[str, float]:
        """Plain dict (for JSON)."""
        return {k: float(v) for k, v in asdict(self).items()}


def gamma_eff(model: FiniteModel, mu: np.ndarray, behaviour: np.ndarray) -> float:
    """``E[gamma**tau]`` under states ``mu`` and successor choice ``behaviour``."""
    return float(mu @ (behaviour * model.gamma_tau).sum(axis=1))


def _next_obs_dist(model: FiniteModel) -> np.ndarray:
    """``P(next (agent, obs) | x, k)`` with a final column for termination."""
    g = model.global_obs()
    n_g = int(sum(model.n_obs))
    n, a = model.n_states, model.n_agents
    out = np.zeros((n, a, n_g + 1))
    onehot = np.zeros((n, n_g))
    onehot[np.arange(n), g] = 1.0
    out[:, :, :n_g] = model.transition @ onehot
    out[:, :, n_g] = model.terminal_prob()
    return out


def _conditional(model: FiniteModel, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global obs of each state and ``mu(x | o(x))``."""
    g = model.global_obs()
    mass = np.bincount(g, weights=mu, minlength=int(sum(model.n_obs)))
    cond = np.where(mass[g] > 0, mu / np.where(mass[g] > 0, mass[g], 1.0), 0.0)
    return g, cond


def ais_induced_q(
    model: FiniteModel, mu: np.ndarray, tol: float = 1e-10, max_iter: int = 100_000
) -> np.ndarray:
    """Optimal Q of the AIS-induced SMDP over global observations: IC-Q's tabular fixed point
    under a behaviour whose state distribution is ``mu``. Shape ``(n_global_obs, n_agents)``."""
    g, cond = _conditional(model, mu)
    n_g = int(sum(model.n_obs))
    n, a = model.n_states, model.n_agents
    agg = np.zeros((n_g, n))
    agg[g, np.arange(n)] = cond
    r_hat = agg @ model.reward
    onehot = np.zeros((n, n_g))
    onehot[np.arange(n), g] = 1.0
    m_next = model.discounted @ onehot  # (n, a, n_g)
    m_hat = np.einsum("gx,xkh->gkh", agg, m_next)
    adm = (agg @ model.admissible.astype(float)) > 0
    adm[~adm.any(axis=1)] = True
    v = np.zeros(n_g)
    for _ in range(max_iter):
        q = np.where(adm, r_hat + m_hat @ v, -np.inf)
        v_new = q.max(axis=1)
        if np.max(np.abs(v_new - v)) < tol:
            v = v_new
            break
        v = v_new
    return np.where(adm, r_hat + m_hat @ v, -np.inf)


def obs_q_tables(model: FiniteModel, q_global: np.ndarray) -> list[np.ndarray]:
    """Split a global-observation Q into per-agent tables ``(n_obs_i, n_agents)``."""
    offsets = np.concatenate([[0], np.cumsum(model.n_obs)]).astype(np.int64)
    return [q_global[offsets[i] : offsets[i + 1]] for i in range(model.n_agents)]


def ais_gap(model: FiniteModel, mu: np.ndarray, behaviour: np.ndarray) -> AISGap:
    """Empirical AIS gap of the model's observation maps under ``mu`` (see module docstring)."""
    g, cond = _conditional(model, mu)
    n_g = int(sum(model.n_obs))
    n = model.n_states
    agg = np.zeros((n_g, n))
    agg[g, np.arange(n)] = cond
    r_hat = (agg @ model.reward)[g]  # (n, a)
    nxt = _next_obs_dist(model)
    p_hat = np.einsum("gx,xkh->gkh", agg, nxt)[g]
    support = (mu > 1e-12)[:, None] & model.admissible
    eps = np.where(support, np.abs(model.reward - r_hat), 0.0)
    delta = np.where(support, 0.5 * np.abs(nxt - p_hat).sum(axis=2), 0.0)
    w = (mu[:, None] * behaviour) * support
    w = w / w.sum()
    ge = gamma_eff(model, mu, behaviour)
    q_hat = ais_induced_q(model, mu)
    v_hat = np.where(np.isfinite(q_hat), q_hat, -np.inf).max(axis=1)
    seen = np.bincount(g, weights=mu, minlength=n_g) > 0
    vals = np.append(v_hat[seen], 0.0)  # termination has value 0
    lip = float(vals.max() - vals.min())
    eps_max, eps_mean = float(eps.max()), float((w * eps).sum())
    d_max, d_mean = float(delta.max()), float((w * delta).sum())
    return AISGap(
        eps_max=eps_max,
        eps_mean=eps_mean,
        delta_max=d_max,
        delta_mean=d_mean,
        gamma_eff=ge,
        lipschitz=lip,
        gap_max=(eps_max + ge * lip * d_max) / (1.0 - ge),
        gap_mean=(eps_mean + ge * lip * d_mean) / (1.0 - ge),
    )
