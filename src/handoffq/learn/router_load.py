"""IC-Q routers under load, on the network's IC-Q interface (:class:`~handoffq.core.packets.PacketTeam`).

Each router ``i`` keeps its own estimate ``Q_i(o, c)`` of the (negative) time to delivery of a
packet it observes as ``o`` and hands to neighbour ``c`` (one unit of cost per step spent
waiting in a queue or on a link; ``gamma = 1``). The messages are IC-Q's (paper eqs. 4-5),
relayed by the network (:class:`~handoffq.envs.packet_network.PacketNetwork`) through the audited
channel: when a packet reaches router ``k`` (``timing="arrival"``), ``k`` observes it and sends
the router that handed it over ``(v, tau, R)`` with ``v = max_c Q_k(o', c)`` over its live links
(0 if ``k`` is the destination), ``tau`` the predecessor's invocation (its queue wait plus the
transmission) and ``R = -tau``; the predecessor regresses its pending ``Q_i(o, c)`` for that
packet (kept per packet slot) on ``y = R + gamma**tau v`` with a constant step ``step`` (the
load is not stationary). Nothing else crosses between routers; a lost packet leaves its
pending decision unanswered.

**Observation.** The router's observation is set by the network's ``obs_kind``. The experiment's
default is ``"dest_wait"``: the destination and the *length* of the packet's detention - its
position in the router's own FIFO queue (it waits exactly that long). This goes beyond the
paper's binary detained flag (``"dest_flag"``), of which it is the ``> 0`` special case; both are
the router's own observation of its own queue, and nothing more crosses between routers.

**Estimators.** ``estimator="table"``: one entry per ``(o, c)`` (observations ``"dest"`` or
``"dest_flag"``). ``estimator="factored"`` (default): ``Q_i((d, w), c) = -w + U_i(d, c)`` with the
detention ``w`` (``-W_i(f) + U_i(d, c)`` with the flag ``f``, ``W_i`` the router's mean own wait
given the flag; ``W_i(0)`` alone with ``"dest"``): the same regression on ``y``, with the target's
two parts fit separately - the wait ``w = tau - 1`` the packet spent in ``i``'s own queue (it is
in the message, and ``i`` saw it) and the rest ``y + w = -1 + v`` (``U_i``). The router's own
wait is sunk when it chooses a link, so decisions use ``U_i(d, .)`` only and are not disturbed
by the noise of its own queue, while the value it reports upstream includes the wait the packet
is about to incur. It is a function approximator for ``Q_i(o, c)`` (a structured table), not a
new update rule; it needs ``gamma = 1`` and arrival timing.

**Decisions.** ``"greedy"`` (default; ties uniformly at random) or ``"epsilon"`` (a uniformly
random live link with probability ``epsilon``). With a plain table, the destination as the only
observation, greedy decisions and arrival timing, these routers *are* Boyan-Littman Q-routing
(the tests check that the runs are identical).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np

from handoffq.config import option
from handoffq.core.channel import Delivery
from handoffq.core.packets import NetworkView, PacketTeam, PacketView
from handoffq.learn.router_team import RouterTables

__all__ = ["ICQLoadConfig", "ICQLoadTeam"]


@dataclasses.dataclass(frozen=True)
class ICQLoadConfig:
    """Free parameters of IC-Q routers under load (defaults: chosen on tuning seeds 0-4)."""

    step: float = option(0.3, "constant step size of IC-Q under load (the load is not stationary)", above=0.0, max=1.0)
    estimator: Literal["factored", "table"] = option(
        "factored", "'factored' (Q = -own wait + U_i(d, c): decisions ignore the sunk own wait) or 'table'"
    )
    exploration: Literal["greedy", "epsilon"] = option("greedy", "'greedy' (random ties) or 'epsilon'")
    epsilon: float = option(0.0, "probability of a uniformly random live link ('epsilon')", min=0.0, max=1.0)
    wait_step: float = option(0.1, "step of the mean own wait W_i(flag) (factored, flag observation)",
                              above=0.0, max=1.0)
    gamma: float = option(1.0, "discount per step (1: minimise delivery time, as Q-routing)", above=0.0, max=1.0)

    def __post_init__(self) -> None:
        if not 0.0 < self.step <= 1.0:
            raise ValueError(f"icq.step must be in (0, 1], got {self.step}")
        if self.estimator not in ("factored", "table"):
            raise ValueError(f"icq.estimator must be 'factored' or 'table', got {self.estimator!r}")
        if self.exploration not in ("greedy", "epsilon"):
            raise ValueError(f"icq.exploration must be 'greedy' or 'epsilon', got {self.exploration!r}")


class ICQLoadTeam(PacketTeam):
    """IC-Q routers under load (see the module docstring)."""

    name = "ic_q"
    replies = True

    def __init__(self, config: ICQLoadConfig | None = None, seed: int = 0) -> None:
        super().__init__()
        self.cfg = config or ICQLoadConfig()
        self.rng = np.random.default_rng(seed)

    def attach(self, net: NetworkView) -> None:
        """Check the network's observation and timing; allocate this team's tables."""
        super().attach(net)
        cfg, kind = self.cfg, net.obs_kind
        if cfg.estimator == "factored" and (net.timing != "arrival" or cfg.gamma != 1.0):
            raise ValueError("the factored IC-Q estimator needs the network's timing='arrival' and gamma = 1")
        if cfg.estimator == "table" and kind == "dest_wait":
            raise ValueError("a plain IC-Q table needs obs_kind 'dest' or 'dest_flag' (use the factored estimator)")
        nbrs = [tuple(int(k) for k in net.nbr[i, : net.deg[i]]) for i in range(net.n)]
        self.wait_is_length = kind == "dest_wait"
        if cfg.estimator == "factored":
            self.tab = RouterTables(nbrs, net.n)  # U_i(d, c): transmission + downstream value
        else:
            self.tab = RouterTables(nbrs, math.prod(net.obs_nvec))  # Q_i(o, c)
        self.W = np.zeros((net.n, 2))  # W_i(f): own expected wait given the flag (factored)
        cap = net.capacity
        self.p_router = np.full(cap, -1, dtype=np.int64)  # pending decision per packet slot
        self.p_dest = np.zeros(cap, dtype=np.int64)
        self.p_det = np.zeros(cap, dtype=np.int64)
        self.p_col = np.zeros(cap, dtype=np.int64)

    # ------------------------------------------------------------ estimates
    @staticmethod
    def _split_obs(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Destination and detention (length or flag; 0 when not observed) of each row."""
        obs = np.asarray(obs, dtype=np.int64)
        return obs[:, 0], (obs[:, 1] if obs.shape[1] > 1 else np.zeros(len(obs), dtype=np.int64))

    def _row_index(self, dest: np.ndarray, det: np.ndarray) -> np.ndarray:
        """Row of the estimator's table: the destination (factored) or the flat observation."""
        if self.cfg.estimator == "factored" or self.net.obs_kind == "dest":
            return dest
        return 2 * dest + det

    def _choice_rows(self, routers: np.ndarray, dest: np.ndarray, det: np.ndarray) -> np.ndarray:
        """The part of ``Q_i(o, .)`` that depends on the successor (all of it for a table)."""
        return self.tab.rows(routers, self._row_index(dest, det))

    def _own_wait(self, routers: np.ndarray, det: np.ndarray) -> np.ndarray:
        """The factored estimate's own-wait term: the detention's length, or ``W_i(flag)``."""
        if self.wait_is_length:
            return det.astype(float)
        return self.W[routers, det]

    def value(self, routers: np.ndarray, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """``max_c Q_k(o', c)`` over ``k``'s live links: what ``k`` sends back."""
        dest, det = self._split_obs(obs)
        best = np.where(live, self._choice_rows(routers, dest, det), -np.inf).max(axis=1)
        if self.cfg.estimator == "factored":
            return best - self._own_wait(routers, det)
        return best

    def decide(self, t: int, view: PacketView, obs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """Each serving router's choice among its live links (greedy on its own estimates)."""
        dest, det = self._split_obs(obs)
        q = np.where(live, self._choice_rows(view.router, dest, det), -np.inf)
        ties = q >= q.max(axis=1, keepdims=True)
        cols = np.argmax(self.rng.random(q.shape) * ties, axis=1)
        if self.cfg.exploration == "epsilon" and self.cfg.epsilon > 0:
            rnd = np.argmax(self.rng.random(q.shape) * live, axis=1)
            cols = np.where(self.rng.random(len(q)) < self.cfg.epsilon, rnd, cols)
        s = view.slot
        self.p_router[s], self.p_dest[s], self.p_det[s], self.p_col[s] = view.router, dest, det, cols
        return cols

    # ------------------------------------------------------------- learning
    def receive(self, t: int, deliveries: Sequence[Delivery]) -> None:
        """Each predecessor regresses its pending ``Q_i(o, c)`` on the reply it got."""
        if not deliveries:
            return
        slots = np.concatenate([d.keys for d in deliveries])
        expect = np.repeat([d.agent for d in deliveries], [len(d.keys) for d in deliveries])
        routers = self.p_router[slots]
        if np.any(routers != expect):
            raise RuntimeError(f"replies for packets with no pending decision of their receiver: {slots[:5].tolist()}")
        self.p_router[slots] = -1
        value = np.concatenate([d.messages.value for d in deliveries])
        tau = np.concatenate([d.messages.duration for d in deliveries]).astype(float)
        reward = np.concatenate([d.messages.reward for d in deliveries])
        dest, det, cols = self.p_dest[slots], self.p_det[slots], self.p_col[slots]
        disc = np.power(self.cfg.gamma, tau) * value
        if self.cfg.estimator == "factored":
            # y = R + v = -(w + 1) + v: U_i(d, c) on y + w = -1 + v (the own wait w = tau - 1 is
            # in the message); R + (tau - 1) is exactly -1, so the target is exactly -1 + v
            target = (reward + (tau - 1.0)) + disc
            if not self.wait_is_length:
                self._learn_wait(routers, det, tau - 1.0)
        else:
            target = reward + disc
        flat = self.tab.entry(routers, self._row_index(dest, det), cols)
        self.tab.merged_update(flat, target, np.full(len(flat), self.cfg.step))

    def _learn_wait(self, routers: np.ndarray, flag: np.ndarray, wait: np.ndarray) -> None:
        """``W_i(f)`` towards the mean own wait of this step's packets with flag ``f``."""
        cnt = np.zeros(self.W.shape)
        tot = np.zeros(self.W.shape)
        np.add.at(cnt, (routers, flag), 1.0)
        np.add.at(tot, (routers, flag), wait)
        hit = cnt > 0
        a = 1.0 - (1.0 - self.cfg.wait_step) ** cnt[hit]
        self.W[hit] += a * (tot[hit] / cnt[hit] - self.W[hit])

    def on_drop(self, t: int, slots: np.ndarray) -> None:
        """Lost packets: their pending decisions get no reply."""
        self.p_router[slots] = -1
