"""A finite decision-epoch SMDP with per-agent observation maps: what the theory tools read.

States ``x`` of the *latent decision-epoch SMDP* (paper section 2.2) are indexed
``0 .. n_states-1``; each has an active agent ``agent_of[x]`` and an observation
``obs_of[x]`` (the flat index of that agent's observation ``phi_i``). Actions are successor
ids ``0 .. n_agents-1``, restricted by ``admissible[x, k]``.

Arrays:
    reward[x, k]        expected option reward ``E[R | x, k]``
    discounted[x, k, y] ``E[gamma**tau 1{x_next = y} | x, k]`` (sub-stochastic; the
                        missing mass is termination)
    transition[x, k, y] ``P(x_next = y | x, k)`` (the rest is termination)
    gamma_tau[x, k]     ``E[gamma**tau | x, k]`` (terminating invocations included)
    init[x]             initial distribution
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FiniteModel"]


@dataclass(frozen=True)
class FiniteModel:
    """The exact finite model of an IC-SMDP at decision epochs (see module docstring)."""

    n_agents: int
    agent_of: np.ndarray
    obs_of: np.ndarray
    n_obs: tuple[int, ...]
    admissible: np.ndarray
    reward: np.ndarray
    discounted: np.ndarray
    transition: np.ndarray
    gamma_tau: np.ndarray
    init: np.ndarray

    @property
    def n_states(self) -> int:
        """Number of latent decision-epoch states."""
        return int(self.agent_of.shape[0])

    def terminal_prob(self) -> np.ndarray:
        """``P(episode ends during the invocation | x, k)``, shape ``(n_states, n_agents)``."""
        return np.clip(1.0 - self.transition.sum(axis=2), 0.0, 1.0)

    def global_obs(self) -> np.ndarray:
        """A single index per (agent, observation) pair, for every state."""
        offsets = np.concatenate([[0], np.cumsum(self.n_obs)[:-1]]).astype(np.int64)
        return offsets[self.agent_of] + self.obs_of

    def check(self, atol: float = 1e-9) -> None:
        """Raise ``ValueError`` if the arrays are inconsistent."""
        n, a = self.n_states, self.n_agents
        for name, arr, shape in [
            ("reward", self.reward, (n, a)),
            ("discounted", self.discounted, (n, a, n)),
            ("transition", self.transition, (n, a, n)),
            ("gamma_tau", self.gamma_tau, (n, a)),
            ("admissible", self.admissible, (n, a)),
            ("init", self.init, (n,)),
        ]:
            if arr.shape != shape:
                raise ValueError(f"model field {name} has shape {arr.shape}, expected {shape}")
        if np.any(self.transition.sum(axis=2) > 1 + atol) or np.any(self.transition < -atol):
            raise ValueError("model field transition is not sub-stochastic")
        if np.any(self.discounted > self.transition + atol):
            raise ValueError("model field discounted exceeds transition")
        if abs(self.init.sum() - 1.0) > 1e-6:
            raise ValueError("model field init does not sum to 1")
        if not self.admissible.any(axis=1).all():
            raise ValueError("a state has no admissible successor")
