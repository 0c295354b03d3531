"""The Q-routing family as packet teams for :class:`~handoffq.envs.packet_network.PacketNetwork`.

Every algorithm keeps, per router ``x``, a table ``Q_x(d, y)``: the estimated time for a packet
at ``x`` bound for ``d`` to be delivered if ``x`` sends it to neighbour ``y``; a router forwards
to the live neighbour with the smallest estimate (ties broken uniformly at random, as in Boyan
and Littman's ``choose_link``). Tables start at 0 (no prior routes). Time is counted in steps:
``q`` is the time the packet waited in ``x``'s queue and ``s = 1`` the transmission. These are
baselines: they read the packet fields they need (:class:`~handoffq.core.packets.PacketView`)
and exchange their own scalars, all counted in ``scalars``.

Sources (what was checked, against what):

* **Q-routing** - Boyan and Littman, "Packet routing in dynamically changing networks: a
  reinforcement learning approach", NIPS 6 (1994). When ``x`` sends a packet for ``d`` to ``y``,
  ``y`` returns ``t = min_z Q_y(d, z)`` (0 if ``y = d``) and ``x`` updates
  ``Q_x(d, y) += eta (q + s + t - Q_x(d, y))``. Checked line by line against the authors'
  simulator ``netsim1.c`` (``send``: ``new_est = time_in_queue + internode + estimate(n_to,
  dest)``; ``do_learn``: ``*cell += (new_est - out) * eta``; default ``eta = 0.7``;
  ``choose_link``: uniform among the minima), distributed with the paper (mirrored in the public
  repository ``Duncanswilson/q-routing-protocol``, ``old_c_src/``). One scalar per hop.
  ``observe_detention=True`` gives Q-routing the observation IC-Q has by default: the packet's
  detention ``w`` at the router that holds it. Its estimate for a packet it observes at detention
  ``w`` is ``w + Q_x(d, y)`` (the packet will wait exactly ``w``), so ``y`` returns
  ``t = w_y + min_z Q_y(d, z)`` and ``x``'s update ``Q_x((d, q), y) += eta (q + s + t - ...)``
  becomes ``Q_x(d, y) += eta (s + t - Q_x(d, y))``. With this observation Q-routing's update
  *is* the factored IC-Q update (IC-Q with ``gamma = 1`` is Q-routing): the tests check that the
  runs are identical at the same step size. Still one scalar per hop.
* **Predictive Q-routing (PQ)** - Choi and Yeung, "Predictive Q-routing: a memory-based
  reinforcement learning approach to adaptive traffic control", NIPS 8 (1996). Besides ``Q`` a
  router keeps ``B`` (best estimate seen), ``R`` (recovery rate, <= 0) and ``U`` (time of the last
  update). Update with ``dQ = q + s + t - Q``: ``Q += alpha dQ``; ``B = min(B, Q)``; if ``dQ < 0``:
  ``R += beta dQ / (now - U)``; if ``dQ > 0``: ``R *= gamma``; ``U = now``. Decision:
  ``argmin_y max(Q + (now - U) R, B)``. Rule checked against the ``PredictiveQRouter`` of the
  public repository ``flyingleafe/dqnroute`` (``src/dqnroute/agents/routers/q_routing.py``); the
  parameter values ``alpha, beta, gamma = 0.7, 0.7, 0.9`` were not in the retrieved material.
  One scalar per hop.
* **Dual reinforcement Q-routing (DRQ)** - Kumar and Miikkulainen, "Dual reinforcement
  Q-routing: an on-line adaptive routing algorithm", ANNIE (1997). Forward exploration is
  Q-routing's update; backward exploration: a packet from source ``s`` carries the sender's
  estimate ``t_b = min_z Q_x(s, z)`` (0 when ``x = s``) of the time back to ``s``, and the receiver
  ``y`` updates ``Q_y(s, x) += eta_b (q_y + s + t_b - Q_y(s, x))``, ``q_y`` the time the packet will
  wait in ``y``'s queue (its position there). Checked against the paper's abstract
  (nn.cs.utexas.edu/?kumar:annie97: forward exploration as Q-routing plus backward exploration
  from "information appended to the packets they receive") and the abstract of Kumar's 1998
  thesis (nn.cs.utexas.edu/?kumar:ms98); the paper body was not retrievable, so the backward
  rule's form and ``eta_b = eta`` are restated from the paper as we know it and ``q_y`` is our
  reading. Two scalars per hop (the forward reply and the appended estimate).
* **Confidence-based Q-routing (CQ)** - Kumar and Miikkulainen, "Confidence-based Q-routing: an
  on-line adaptive network routing algorithm", ANNIE (1998). Every ``Q_x(d, y)`` has a confidence
  ``C_x(d, y)`` in [0, 1] (0 at start; the destination's own estimate, 0, has confidence 1). ``y``
  returns ``t`` and the confidence ``C_y(d, z*)`` of that estimate; the learning rate is
  ``eta = max(C_y(d, z*), 1 - C_x(d, y))``; ``Q_x(d, y) += eta (q + s + t - Q_x(d, y))`` and
  ``C_x(d, y) += eta (C_y(d, z*) - C_x(d, y))``; every confidence not updated in a step decays,
  ``C *= lambda``. Checked against the paper's abstract ("the learning rate is high if either the
  old Q value has a low confidence or the estimated Q value has a high confidence"), the UTCS
  project page (estimates improved "by keeping track of how recently they were updated") and the
  abstract of Yap's 2004 thesis on CQ (the C values of the non-selected Q values decay with a
  decay constant); the ``max`` form and ``lambda = 0.95`` are restated from the paper as we know
  it (the body was not retrievable). Two scalars per hop.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from handoffq.core.packets import NetworkView, PacketTeam, PacketView
from handoffq.envs.routing import hop_distances

__all__ = [
    "ConfidenceQRoutingTeam",
    "DualQRoutingTeam",
    "PredictiveQRoutingTeam",
    "QRoutingTeam",
    "RandomWalkTeam",
    "ShortestPathTeam",
]


def argmin_random(vals: np.ndarray, live: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Column of the smallest value among live ones per row, ties uniformly at random."""
    key = np.where(live, vals, np.inf)
    ties = key <= key.min(axis=1, keepdims=True)
    return np.argmax(rng.random(key.shape) * ties, axis=1)


class ShortestPathTeam(PacketTeam):
    """Static shortest-path routing (the oracle): the lowest-numbered neighbour one hop closer to
    the destination. It sees the whole graph and is recomputed at once when a link changes (a
    link-state protocol's flooding is not counted as overhead)."""

    name = "shortest_path"

    def attach(self, net: NetworkView) -> None:
        """Bind to the network and compute the table."""
        super().attach(net)
        self._recompute()

    def _recompute(self) -> None:
        net = self.net
        g = nx.Graph()
        g.add_nodes_from(range(net.n))
        for i in range(net.n):
            for c in np.flatnonzero(net.live[i]):
                g.add_edge(i, int(net.nbr[i, c]))
        dist = hop_distances(g)
        closer = dist[np.maximum(net.nbr, 0)] == (dist[:, None, :] - 1)  # (n, max_deg, N)
        closer &= net.live[:, :, None]
        self.table = np.argmax(closer, axis=1)  # (n, N): column per destination

    def decide(self, t: int, view: PacketView, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """The table's column for each packet's destination."""
        return self.table[view.router, view.dest]

    def on_link_change(self, t: int, u: int, v: int, up: bool) -> None:
        """Recompute the table on the live graph."""
        self._recompute()


class RandomWalkTeam(PacketTeam):
    """Forward to a uniformly random live neighbour (the trivial router)."""

    name = "random_walk"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)

    def decide(self, t: int, view: PacketView, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """A uniformly random live column per packet."""
        return np.argmax(self.rng.random(live.shape) * live, axis=1)


class QRoutingTeam(PacketTeam):
    """Boyan-Littman Q-routing (module docstring). ``eta``: learning rate;
    ``observe_detention``: the variant that observes the packet's detention (as IC-Q does)."""

    name = "q_routing"

    def __init__(self, eta: float = 0.7, seed: int = 0, observe_detention: bool = False) -> None:
        super().__init__()
        self.eta = float(eta)
        self.observe_detention = bool(observe_detention)
        self.rng = np.random.default_rng(seed)

    def attach(self, net: NetworkView) -> None:
        """Bind to the network and allocate this algorithm's per-router tables."""
        super().attach(net)
        self.Q = np.zeros((net.n, net.n, net.max_deg))
        self.col = np.full((net.n, net.n), -1, dtype=np.int64)  # col[x, y]: y's column at x
        for x in range(net.n):
            for c in range(int(net.deg[x])):
                self.col[x, net.nbr[x, c]] = c

    def estimate(self, routers: np.ndarray, dest: np.ndarray) -> np.ndarray:
        """``min_z Q_y(d, z)`` over live links (what ``y`` sends back)."""
        return np.where(self.net.live[routers], self.Q[routers, dest], np.inf).min(axis=1)

    def decide(self, t: int, view: PacketView, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """The live neighbour with the smallest estimate (random ties)."""
        return argmin_random(self.Q[view.router, view.dest], live, self.rng)

    def _reply(
        self, view: PacketView, delivered: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, PacketView, np.ndarray]:
        """The forward reply of every arrived packet: ``(x, d, column, target, view, delivered)``."""
        sent = view.prev >= 0
        view, delivered = view.select(sent), delivered[sent]
        t_est = np.where(delivered, 0.0, self.estimate(view.router, view.dest))
        self.scalars += len(view)
        x, d = view.prev, view.dest
        if self.observe_detention:  # y's estimate includes the wait it observes; x's own is sunk
            t_est = np.where(delivered, 0.0, view.position + t_est)
            target = 1.0 + t_est
        else:
            target = view.wait_prev + 1.0 + t_est
        return x, d, self.col[x, view.router], target, view, delivered

    def on_arrival(self, t: int, view: PacketView, delivered: np.ndarray) -> None:
        """Arrived packets: the receiving routers reply and the senders learn."""
        if len(view):
            x, d, c, target, _, _ = self._reply(view, delivered)
            self.Q[x, d, c] += self.eta * (target - self.Q[x, d, c])


class PredictiveQRoutingTeam(QRoutingTeam):
    """Choi-Yeung predictive Q-routing (module docstring): ``alpha`` (= ``eta``), ``beta``
    (recovery learning rate), ``gamma`` (recovery decay)."""

    name = "pq_routing"

    def __init__(self, eta: float = 0.7, beta: float = 0.7, gamma: float = 0.9, seed: int = 0) -> None:
        super().__init__(eta, seed)
        self.beta, self.gamma = float(beta), float(gamma)

    def attach(self, net: NetworkView) -> None:
        """Bind to the network and allocate this algorithm's per-router tables."""
        super().attach(net)
        shape = self.Q.shape
        self.B = np.full(shape, np.inf)  # best estimate learned so far
        self.R = np.zeros(shape)  # recovery rate (<= 0)
        self.U = np.full(shape, -1, dtype=np.int64)  # last update (-1: never)

    def predicted(self, t: int, routers: np.ndarray, dest: np.ndarray) -> np.ndarray:
        """``max(Q + (t - U) R, B)`` per neighbour (``Q`` itself for never-updated entries)."""
        q, u = self.Q[routers, dest], self.U[routers, dest]
        pred = np.maximum(q + (t - u) * self.R[routers, dest], self.B[routers, dest])
        return np.where(u < 0, q, pred)

    def decide(self, t: int, view: PacketView, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """The live neighbour with the smallest predicted estimate (random ties)."""
        return argmin_random(self.predicted(t, view.router, view.dest), live, self.rng)

    def on_arrival(self, t: int, view: PacketView, delivered: np.ndarray) -> None:
        """Arrived packets: the receiving routers reply and the senders learn."""
        if not len(view):
            return
        x, d, c, target, _, _ = self._reply(view, delivered)
        dq = target - self.Q[x, d, c]
        self.Q[x, d, c] += self.eta * dq
        self.B[x, d, c] = np.minimum(self.B[x, d, c], self.Q[x, d, c])
        u = self.U[x, d, c]
        r = self.R[x, d, c]
        r = np.where(dq < 0, r + self.beta * dq / np.maximum(t - u, 1), np.where(dq > 0, r * self.gamma, r))
        self.R[x, d, c] = np.where(u < 0, 0.0, r)
        self.U[x, d, c] = t


class DualQRoutingTeam(QRoutingTeam):
    """Kumar-Miikkulainen dual reinforcement Q-routing (module docstring): forward rate ``eta``,
    backward rate ``eta_b`` (default ``eta``)."""

    name = "drq_routing"

    def __init__(self, eta: float = 0.7, eta_b: float | None = None, seed: int = 0) -> None:
        super().__init__(eta, seed)
        self.eta_b = float(eta if eta_b is None else eta_b)

    def on_arrival(self, t: int, view: PacketView, delivered: np.ndarray) -> None:
        """Forward update as Q-routing, then the backward update from the appended estimate."""
        if not len(view):
            return
        super().on_arrival(t, view, delivered)
        view = view.select(view.prev >= 0)
        x, y, s = view.prev, view.router, view.src
        t_b = np.where(x == s, 0.0, self.estimate(x, s))
        self.scalars += len(view)
        keep = y != s  # the source itself keeps no estimate towards itself
        c = self.col[y, x][keep]
        y, s = y[keep], s[keep]
        target = (view.position + 1.0 + t_b)[keep]
        self.Q[y, s, c] += self.eta_b * (target - self.Q[y, s, c])


class ConfidenceQRoutingTeam(QRoutingTeam):
    """Kumar-Miikkulainen confidence-based Q-routing (module docstring): ``decay`` is ``lambda``,
    the per-step decay of the confidences that were not refreshed."""

    name = "cq_routing"

    def __init__(self, decay: float = 0.95, seed: int = 0) -> None:
        super().__init__(eta=1.0, seed=seed)
        self.decay = float(decay)

    def attach(self, net: NetworkView) -> None:
        """Bind to the network and allocate this algorithm's per-router tables."""
        super().attach(net)
        self.C = np.zeros(self.Q.shape)
        self._last_t = 0

    def _conf_of_estimate(self, routers: np.ndarray, dest: np.ndarray) -> np.ndarray:
        q = np.where(self.net.live[routers], self.Q[routers, dest], np.inf)
        return self.C[routers, dest, np.argmin(q, axis=1)]

    def on_arrival(self, t: int, view: PacketView, delivered: np.ndarray) -> None:
        """Arrived packets: replies with confidences; confidence-weighted updates."""
        if t != self._last_t:  # decay every confidence once per step, before this step's updates
            self.C *= self.decay ** (t - self._last_t)
            self._last_t = t
        if not len(view):
            return
        x, d, c, target, sent, deliv = self._reply(view, delivered)
        c_y = np.where(deliv, 1.0, self._conf_of_estimate(sent.router, sent.dest))
        self.scalars += len(sent)  # the confidence travels with the estimate
        eta = np.maximum(c_y, 1.0 - self.C[x, d, c])
        self.Q[x, d, c] += eta * (target - self.Q[x, d, c])
        # the refreshed entry's confidence moves towards the reply's (it was decayed above with
        # every other entry; the refresh replaces that decay)
        self.C[x, d, c] += eta * (c_y - self.C[x, d, c])
