"""Naive independent Q: each agent bootstraps from its *own* max (the wrong fixed point).

At a handoff ``i -> j`` the naive agent ``i`` ignores the successor's value and regresses
``Q_i(o, j)`` on ``R + gamma**tau * max_k Q_i(o_i', k)`` where ``o_i'`` is agent ``i``'s own view
of the artifact it handed off. It solves ``Q_i = R + gamma^tau max Q_i`` - as if ``i`` itself
acted next - instead of the IC-SMDP Bellman equation whose max is over the successor's Q
(DESIGN.md section 2). The runner calls :meth:`receive_own` for agents whose ``bootstrap`` is
``"own"``; no value crosses between agents.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from handoffq.core.env import Obs
from handoffq.learn.agent import ICQAgent
from handoffq.learn.targets import td_target

__all__ = ["NaiveIndependentAgent"]


class NaiveIndependentAgent(ICQAgent):
    """An :class:`ICQAgent` whose target uses its own max at its own next view."""

    bootstrap = "own"

    def receive_own(
        self, duration: int, reward: float, own_next_obs: Obs, own_admissible: Sequence[int]
    ) -> float:
        """Regress the pending ``Q(o, k)`` on ``R + gamma**tau * max_k' Q_self(o', k')``."""
        if self._pending is None:
            raise RuntimeError(f"agent {self.agent_id} has no pending handoff")
        obs, col = self._pending
        self._pending = None
        own = float(np.max(self.q.values(own_next_obs)[self.columns(own_admissible)]))
        y = td_target(reward, duration, own, self.gamma)
        err = self.q.update(obs, col, y, self._alpha(obs, col))
        self.t += 1
        return err
