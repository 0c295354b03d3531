"""Naive independent Q: each agent bootstraps from its *own* max (the wrong fixed point).

At a handoff ``i -> j`` the naive agent ``i`` ignores the successor's value and regresses
``Q_i(o, j)`` on ``R + gamma**tau * max_k Q_i(o_i', k)`` where ``o_i'`` is agent ``i``'s own view
of the artifact it handed off. It solves ``Q_i = R + gamma^tau max Q_i`` - as if ``i`` itself
acted next - instead of the IC-SMDP Bellman equation whose max is over the successor's Q
(paper section 3: "a naive update that locally maximizes would solve the wrong fixed-point
equation"). It declares ``wants_own_view``, so runners hand it its own view of the artifact
beside each reply (:class:`~handoffq.core.agent.OwnView`); no value crosses between agents.
"""

from __future__ import annotations

import numpy as np

from handoffq.core.agent import OwnView
from handoffq.learn.agent import ICQAgent
from handoffq.learn.exploration import masked_max

__all__ = ["NaiveIndependentAgent"]


class NaiveIndependentAgent(ICQAgent):
    """An :class:`ICQAgent` whose target uses its own max at its own next view."""

    wants_own_view = True

    def _bootstrap(self, values: np.ndarray, own_view: OwnView | None) -> np.ndarray:
        """``max_k' Q_self(o', k')`` at the agent's own next view (0 where the episode ended)."""
        if own_view is None:
            return np.zeros_like(np.asarray(values, dtype=float))
        q = masked_max(self.q.values_batch(own_view.obs), own_view.mask)
        return np.where(own_view.alive, q, 0.0)
