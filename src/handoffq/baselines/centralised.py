"""Centralised Q-learning on the latent state: a learner that sees everything.

It is *not* an IC-SMDP algorithm (it reads the latent decision-epoch state through the
environment's privileged ``latent_state()``); it is the sample-efficiency reference against
which IC-Q is measured. SMDP Q-learning: ``Q(x, k) <- Q + a (R + gamma^tau max_k' Q(x', k') - Q)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from handoffq.learn.exploration import Exploration, choose
from handoffq.learn.schedules import StepSize, step_size
from handoffq.learn.targets import td_target

__all__ = ["CentralisedQ", "random_policy_value"]


class CentralisedQ:
    """Tabular SMDP Q-learning over latent states ``x`` (needs ``env.latent_state()``)."""

    def __init__(
        self,
        n_states: int,
        n_agents: int,
        gamma: float,
        exploration: Exploration | None = None,
        schedule: StepSize | None = None,
        seed: int = 0,
    ) -> None:
        self.q = np.zeros((n_states, n_agents))
        self.visits = np.zeros((n_states, n_agents), dtype=np.int64)
        self.gamma = gamma
        self.exploration = exploration or Exploration()
        self.schedule = schedule or StepSize()
        self.rng = np.random.default_rng(seed)
        self.t = 0

    def train(
        self, env: Any, budget: int, seed: int = 0, progress: Callable[[int], None] | None = None
    ) -> int:
        """Play episodes until ``budget`` handoffs; returns the number of episodes."""
        done_h, ep = 0, 0
        while done_h < budget:
            env.reset(seed + ep)
            ep += 1
            x = env.latent_state()
            while done_h < budget:
                i = env.active_agent
                adm = np.asarray(env.admissible(i))
                k = choose(self.q[x], adm, self.exploration, self.t, self.rng)
                tr = env.step(int(k))
                done_h += 1
                if tr.terminated:
                    v = 0.0
                else:
                    x2 = env.latent_state()
                    v = float(self.q[x2, list(env.admissible(env.active_agent))].max())
                self.visits[x, k] += 1
                a = step_size(self.schedule, self.t, int(self.visits[x, k]))
                self.q[x, k] += a * (td_target(tr.reward, tr.duration, v, self.gamma) - self.q[x, k])
                self.t += 1
                if progress is not None:
                    progress(1)
                if tr.terminated or tr.truncated:
                    break
                x = x2
        return ep


def random_policy_value(model: Any) -> float:
    """Exact value of the uniformly random admissible successor policy."""
    from handoffq.theory.mixing import uniform_behaviour
    from handoffq.theory.solve import policy_value

    return policy_value(model, uniform_behaviour(model))
