"""Centralised Q-learning on the latent state: a learner that sees everything.

It is *not* an IC-SMDP algorithm (it reads the latent decision-epoch state through the
environment's privileged ``latent_state()``); it is the upper reference against which IC-Q is
measured (paper section 5.1). SMDP Q-learning:
``Q(x, k) <- Q + a (R + gamma^tau max_k' Q(x', k') - Q)``.

:class:`CentralisedQ` plays one episode at a time on a scalar environment;
:func:`train_latent_q` runs the same update batched over a vectorised environment whose
``latent_state(slots)`` returns the latent state of each slot (the synthetic IC-SMDP's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from handoffq.core.channel import group_by
from handoffq.learn.estimators import TabularEstimator
from handoffq.learn.exploration import Exploration, choose, choose_batch, masked_max
from handoffq.learn.schedules import StepSize, step_size
from handoffq.learn.targets import td_target, td_target_batch

__all__ = ["CentralisedQ", "random_policy_value", "train_latent_q"]


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


def train_latent_q(
    env: Any, n_states: int, budget: int, seed: int = 0, schedule: StepSize | None = None
) -> np.ndarray:
    """Batched tabular SMDP Q-learning on the latent state, uniform admissible behaviour.

    Privileged: reads ``env.latent_state(slots)`` (states indexed as in the environment's exact
    model) of a vectorised environment with ``n_envs`` slots; plays exactly ``budget``
    handoffs. Returns ``Q(x, k)``, shape ``(n_states, n_agents)`` (columns = agent ids).
    """
    sched = schedule or StepSize("visits", 1.0, power=0.7)
    n = env.n_agents
    cands = [np.asarray(env.candidates(a), dtype=np.int64) for a in range(n)]
    q = TabularEstimator((n_states,), n)
    visits = np.zeros(n_states * n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    uniform = Exploration(epsilon=1.0)
    env.reset(seed)
    done = 0
    while done < budget:
        slots = np.arange(min(env.n_envs, budget - done))
        active = env.active()[slots]
        x = env.latent_state(slots)
        succ = np.empty(len(slots), dtype=np.int64)
        for a, idx in group_by(active):
            succ[idx] = cands[a][choose_batch(None, env.mask(slots[idx], a), uniform, 0, rng)]
        tr = env.step(succ, None if len(slots) == env.n_envs else slots)
        value = np.zeros(len(slots))
        live = np.flatnonzero(~tr.terminated)
        x2 = env.latent_state(slots[live])
        for j, idx in group_by(env.active()[slots[live]]):
            rows = live[idx]
            value[rows] = masked_max(q.table[x2[idx]][:, cands[j]], env.mask(slots[rows], j))
        flat = x * n + succ
        visits += np.bincount(flat, minlength=visits.size)
        steps = sched(done + np.arange(len(slots)), visits[flat])
        q.update_batch(x[:, None], succ, td_target_batch(tr.reward, tr.duration, value, env.gamma), steps)
        done += len(slots)
        env.reset_slots(slots[tr.terminated | tr.truncated])
    return q.table


def random_policy_value(model: Any) -> float:
    """Exact value of the uniformly random admissible successor policy."""
    from handoffq.theory.mixing import uniform_behaviour
    from handoffq.theory.solve import policy_value

    return policy_value(model, uniform_behaviour(model))
