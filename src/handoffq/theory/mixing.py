"""The behaviour chain at handoff level: stationary distribution, spectral gap, mixing time.

Under a stationary behaviour policy ``b(k | x)`` the decision-epoch states form a Markov chain;
an episode that ends restarts from the initial distribution (how a learner that plays episode
after episode sees it). Its stationary distribution weights the AIS gap and Q errors; its
spectral gap gives the mixing time of Theorem 1's residual term.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from handoffq.theory.model import FiniteModel

__all__ = ["MixingReport", "behaviour_chain", "mixing", "stationary", "uniform_behaviour"]


def uniform_behaviour(model: FiniteModel) -> np.ndarray:
    """Uniform choice over admissible successors, shape ``(n_states, n_agents)``."""
    adm = model.admissible.astype(float)
    return adm / adm.sum(axis=1, keepdims=True)


def behaviour_chain(model: FiniteModel, behaviour: np.ndarray) -> np.ndarray:
    """Transition matrix of decision-epoch states under ``behaviour``, with restarts."""
    step = np.einsum("xk,xky->xy", behaviour, model.transition)
    term = (behaviour * model.terminal_prob()).sum(axis=1)
    return step + term[:, None] * model.init[None, :]


def stationary(chain: np.ndarray) -> np.ndarray:
    """Stationary distribution of a row-stochastic matrix (power iteration, then a solve)."""
    n = chain.shape[0]
    a = chain.T - np.eye(n)
    a[-1, :] = 1.0
    b = np.zeros(n)
    b[-1] = 1.0
    try:
        mu = np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        mu = np.full(n, 1.0 / n)
        for _ in range(10_000):
            mu = mu @ chain
    mu = np.clip(mu, 0.0, None)
    return mu / mu.sum()


@dataclass(frozen=True)
class MixingReport:
    """Spectral gap, relaxation time and mixing times of the behaviour chain."""

    spectral_gap: float
    relaxation_time: float
    mixing_time_bound: float
    mixing_time: int


def mixing(chain: np.ndarray, eps: float = 0.25, max_steps: int = 10_000) -> MixingReport:
    """Mixing figures of an ergodic chain restricted to its stationary support.

    ``spectral_gap`` is ``1 - |lambda_2|``; ``mixing_time_bound`` is
    ``relaxation_time * log(1 / (eps * mu_min))``; ``mixing_time`` is the exact
    ``min{t : max_x TV(P^t(x, .), mu) <= eps}`` found by powering the matrix.
    """
    mu = stationary(chain)
    keep = mu > 1e-12
    p = chain[np.ix_(keep, keep)]
    p = p / p.sum(axis=1, keepdims=True)
    mu_k = mu[keep] / mu[keep].sum()
    ev = np.sort(np.abs(np.linalg.eigvals(p)))[::-1]
    lam2 = float(ev[1]) if len(ev) > 1 else 0.0
    gap = max(1.0 - lam2, 1e-12)
    t_rel = 1.0 / gap
    bound = t_rel * float(np.log(1.0 / (eps * mu_k.min())))
    pt = np.eye(p.shape[0])
    t_mix = max_steps
    for t in range(1, max_steps + 1):
        pt = pt @ p
        if 0.5 * np.abs(pt - mu_k[None, :]).sum(axis=1).max() <= eps:
            t_mix = t
            break
    return MixingReport(gap, t_rel, bound, t_mix)
