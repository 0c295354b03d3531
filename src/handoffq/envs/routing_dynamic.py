"""Routing under load: many packets in flight, per-router FIFO queues, link failures.

The classic Q-routing setting (Boyan and Littman, 1994), driven by the same routers and the
same three-number messages as the single-packet environment.

**Time.** Discrete steps. At each step, in order:

1. *failure*: at ``fail_at`` the link ``fail_edge`` goes down for good (it leaves every
   admissible set; the oracle baseline is told through ``on_failure``);
2. *arrivals*: packets sent during the previous step reach their next router. A packet that
   reaches its destination is delivered (delivery time = now - birth); any other joins the
   tail of that router's FIFO queue;
3. *injection*: ``Poisson(load)`` new packets, each at a uniformly random router with a
   uniformly random other destination (refused at the source - never lost - when
   ``capacity`` packets are already in flight; refusals are counted);
4. *service*: every router takes up to ``service_rate`` packets from the head of its queue,
   decides their next hop and sends them (transmission takes one step).

**The interface and IC-Q.** A packet that had to wait in a router's queue (it was not served
in the step it arrived) is *detained*; the serving router observes ``(destination,
detained)`` and chooses among its live links (``obs_kind="dest"`` gives the destination only,
as in Boyan-Littman). A router "becomes active" for a packet when it serves it. With
``timing="service"`` (IC-Q), when router ``k`` serves a packet that ``i`` sent, ``k`` computes
``v = max Q_k(d, detained_k; .)`` and sends ``i`` the message ``(v, tau, R)``: ``tau`` is the
time since ``i`` sent the packet (the transmission plus the wait in ``k``'s queue) and ``R =
-sum_{u<tau} gamma^u`` (one unit of cost per step: waiting, then hopping - the reward of
:func:`~handoffq.envs.routing.invocation_reward` with unit costs). A packet delivered at
its destination yields ``(0, 1, -1)``. With ``timing="arrival"`` (Boyan-Littman), ``k``
replies as soon as the packet arrives, with ``tau`` = the wait in ``i``'s queue + the
transmission. Each router keeps one pending decision per packet (the batched agent interface
with the packet's slot as the batch slot), and every reply is a
:class:`~handoffq.core.channel.MessageBatch` through the audited :class:`Channel`: nothing
else crosses between routers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from handoffq.core.channel import Auditor, Channel, deliver_replies
from handoffq.core.env import EnvError
from handoffq.envs.routing import _relabel, check_graph

__all__ = ["DynamicConfig", "DynamicResult", "PacketNetwork", "invocation_rewards"]


def invocation_rewards(tau: np.ndarray, gamma: float) -> np.ndarray:
    """``R = -sum_{u<tau} gamma^u`` per invocation (unit cost per waiting or hopping step)."""
    tau = np.asarray(tau, dtype=float)
    return -tau if gamma == 1.0 else -(1.0 - gamma**tau) / (1.0 - gamma)


@dataclass(frozen=True)
class DynamicConfig:
    """Load, queues, run length and an optional link failure of a multi-packet run.

    ``steps`` injection steps are followed by up to ``drain`` steps without injection, so
    that packets injected late are still delivered (their times are not censored).
    """

    load: float = 1.0
    steps: int = 5000
    drain: int = 20000
    service_rate: int = 1
    gamma: float = 1.0
    capacity: int = 60000
    fail_at: int | None = None
    fail_edge: tuple[int, int] | None = None
    no_backtrack: bool = False

    def __post_init__(self) -> None:
        if self.load < 0:
            raise EnvError(f"load must be >= 0, got {self.load}")
        if self.steps < 1 or self.drain < 0:
            raise EnvError(f"steps must be >= 1 and drain >= 0, got {self.steps}, {self.drain}")
        if self.service_rate < 1:
            raise EnvError(f"service_rate must be >= 1, got {self.service_rate}")
        if not 0.0 < self.gamma <= 1.0:
            raise EnvError(f"gamma must be in (0, 1], got {self.gamma}")
        if self.capacity < 1:
            raise EnvError(f"capacity must be >= 1, got {self.capacity}")
        if (self.fail_at is None) != (self.fail_edge is None):
            raise EnvError("fail_at and fail_edge must be given together")

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for config.json)."""
        return asdict(self)


@dataclass
class DynamicResult:
    """Per-packet records of a run: birth, delivery step (-1 if undelivered), hops."""

    birth: np.ndarray
    delivered: np.ndarray
    hops: np.ndarray
    injected: int
    refused: int
    in_flight_end: int
    messages: int
    history: list[tuple[int, int, int, int]] = field(default_factory=list)

    def delivery_times(self, t0: int = 0, t1: int | None = None) -> np.ndarray:
        """Delivery times of delivered packets born in ``[t0, t1)``."""
        ok = (self.delivered >= 0) & (self.birth >= t0)
        if t1 is not None:
            ok &= self.birth < t1
        return (self.delivered - self.birth)[ok]


def _per_router(value: str | Sequence[str], n: int, allowed: tuple[str, ...], name: str) -> list[str]:
    """One setting per router from a single value or a sequence (checked)."""
    vals = [value] * n if isinstance(value, str) else list(value)
    if len(vals) != n:
        raise EnvError(f"{name} needs one value or {n} (one per router), got {len(vals)}")
    bad = sorted({v for v in vals if v not in allowed})
    if bad:
        raise EnvError(f"{name} must be one of {allowed}, got {bad}")
    return vals


class PacketNetwork:
    """A multi-packet routing simulator over a graph of routers (see the module docstring).

    Args:
        graph: undirected connected networkx graph (relabelled ``0 .. N-1`` like
            :class:`~handoffq.envs.routing.RoutingEnv`; ``self.graph`` is the relabelled one).
        routers: one router per node with the batched agent interface (``start_batch``,
            ``decide_batch``, ``value_batch``, ``receive_batch``).
        timing: when each router's successor replies - ``"service"`` (when it serves the
            packet: IC-Q), ``"arrival"`` (when the packet arrives: Boyan-Littman) or ``"none"``
            (a static router); one value for all routers or one per router.
        obs_kind: what each router observes - ``"dest_flag"`` (destination and detained flag)
            or ``"dest"`` (destination only); one value or one per router.
        config: the run's configuration.
        seed: seeds injections.
        auditor: sees every message crossing between routers.
        on_failure: called with the new graph when the link fails (the oracle's hook).
    """

    simulated = True

    def __init__(
        self,
        graph: nx.Graph,
        routers: Sequence[Any],
        config: DynamicConfig | None = None,
        seed: int = 0,
        auditor: Auditor | None = None,
        on_failure: Callable[[nx.Graph], None] | None = None,
        timing: str | Sequence[str] = "service",
        obs_kind: str | Sequence[str] = "dest_flag",
    ) -> None:
        check_graph(graph)
        self.config = config or DynamicConfig()
        self.graph, self.labels = _relabel(graph)
        self.n = self.graph.number_of_nodes()
        if len(routers) != self.n:
            raise EnvError(f"{len(routers)} routers given for a graph of {self.n} nodes")
        self.routers = list(routers)
        self.timing = _per_router(timing, self.n, ("service", "arrival", "none"), "timing")
        self._arrival = np.asarray([tm == "arrival" for tm in self.timing] + [False])
        self._service = np.asarray([tm == "service" for tm in self.timing] + [False])
        self.obs_kind = _per_router(obs_kind, self.n, ("dest_flag", "dest"), "obs_kind")
        self.channel = Channel(auditor)
        self.on_failure = on_failure
        self.rng = np.random.default_rng(seed)
        self.nbrs = [tuple(sorted(self.graph.neighbors(i))) for i in range(self.n)]
        self.live = [np.ones(len(nb), dtype=bool) for nb in self.nbrs]
        self._nbr_arr = [np.asarray(nb, dtype=np.int64) for nb in self.nbrs]
        cfg = self.config
        if cfg.fail_edge is not None:
            u, v = cfg.fail_edge
            if not self.graph.has_edge(u, v):
                raise EnvError(f"fail_edge {cfg.fail_edge} is not a link of the graph")
            g2 = self.graph.copy()
            g2.remove_edge(u, v)
            if not nx.is_connected(g2):
                raise EnvError(f"failing link {cfg.fail_edge} would disconnect the graph")
        cap = cfg.capacity
        self.dest = np.zeros(cap, dtype=np.int64)
        self.birth = np.zeros(cap, dtype=np.int64)
        self.ready = np.zeros(cap, dtype=np.int64)
        self.node = np.zeros(cap, dtype=np.int64)
        self.prev = np.full(cap, -1, dtype=np.int64)
        self.sent_at = np.zeros(cap, dtype=np.int64)
        self.prev_wait = np.zeros(cap, dtype=np.int64)
        self.hops = np.zeros(cap, dtype=np.int64)
        self.pid = np.full(cap, -1, dtype=np.int64)  # packet id held by the slot
        self.free = list(range(cap - 1, -1, -1))
        self.queues: list[deque[int]] = [deque() for _ in range(self.n)]
        self.transit: list[int] = []
        self._birth: list[int] = []
        self._delivered: list[int] = []
        self._hops: list[int] = []
        self.refused = 0
        self.t = 0
        for r in self.routers:
            r.start_batch(cap)

    # ------------------------------------------------------------------ helpers
    def _obs(self, router: int, slots: np.ndarray, flags: np.ndarray) -> np.ndarray:
        if self.obs_kind[router] == "dest":
            return self.dest[slots][:, None]
        return np.stack([self.dest[slots], flags], axis=1)

    def _mask(self, router: int, slots: np.ndarray) -> np.ndarray:
        """Admissible links of ``router`` for each packet: live ones, minus (with
        ``no_backtrack``) the link back to the router the packet came from, unless it is the
        only live one."""
        m = len(slots)
        base = np.broadcast_to(self.live[router], (m, len(self.nbrs[router])))
        if not self.config.no_backtrack or m == 0:
            return base
        back = self._nbr_arr[router][None, :] == self.prev[slots][:, None]
        mask = base & ~back
        return np.where(mask.any(axis=1, keepdims=True), mask, base)

    def _reply(self, src: int, slots: np.ndarray, value: np.ndarray, tau: np.ndarray) -> None:
        """Send ``(value, tau, R)`` from router ``src`` to each slot's predecessor."""
        reward = invocation_rewards(tau, self.config.gamma)
        senders = np.full(len(slots), src, dtype=np.int64)
        for d in deliver_replies(self.channel, self.prev[slots], senders, slots, value, tau, reward):
            self.routers[d.agent].receive_batch(d.keys, d.messages)

    def in_flight(self) -> int:
        """Packets in queues or on links."""
        return sum(len(q) for q in self.queues) + len(self.transit)

    def packet_ids(self) -> list[int]:
        """Ids of every packet in flight (each must appear once)."""
        ids = [int(self.pid[s]) for q in self.queues for s in q]
        return ids + [int(self.pid[s]) for s in self.transit]

    # ------------------------------------------------------------------ the loop
    def fail_link(self, u: int, v: int) -> None:
        """Take link ``u - v`` down."""
        self.live[u][self.nbrs[u].index(v)] = False
        self.live[v][self.nbrs[v].index(u)] = False
        self.graph.remove_edge(u, v)
        if self.on_failure is not None:
            self.on_failure(self.graph)

    def step(self, inject: bool = True) -> None:
        """Advance one time step (failure, arrivals, injection, service)."""
        cfg, t = self.config, self.t
        if cfg.fail_at is not None and t == cfg.fail_at:
            self.fail_link(*cfg.fail_edge)  # type: ignore[misc]
        arriving, self.transit = np.asarray(self.transit, dtype=np.int64), []
        if len(arriving):
            at = self.node[arriving]
            for k in np.unique(at):
                self._arrive(int(k), arriving[at == k], t)
        if inject:
            self._inject(t)
        for k in range(self.n):
            if self.queues[k]:
                self._serve(k, t)
        self.t += 1

    def _arrive(self, k: int, sel: np.ndarray, t: int) -> None:
        """Packets ``sel`` arriving at router ``k``: deliver or queue (and Boyan-Littman replies)."""
        done = self.dest[sel] == k
        fin, go = sel[done], sel[~done]
        if len(fin):
            tau = np.where(self._arrival[self.prev[fin]], self.prev_wait[fin] + 1, t - self.sent_at[fin])
            self._reply(k, fin, np.zeros(len(fin)), tau)
            for s in fin:
                self._delivered[self.pid[s]] = t
                self._hops[self.pid[s]] = int(self.hops[s])
                self.pid[s] = -1
                self.free.append(int(s))
        if not len(go):
            return
        self.ready[go] = t
        self.queues[k].extend(int(s) for s in go)
        arr = self._arrival[self.prev[go]]
        if arr.any():
            ga = go[arr]
            v = self.routers[k].value_batch(self._obs(k, ga, np.zeros(len(ga), dtype=np.int64)), self._mask(k, ga))
            self._reply(k, ga, np.asarray(v, float), self.prev_wait[ga] + 1)

    def _inject(self, t: int) -> None:
        """Poisson arrivals of new packets between uniform (source, destination) pairs."""
        for _ in range(int(self.rng.poisson(self.config.load))):
            s = int(self.rng.integers(self.n))
            d = int(self.rng.integers(self.n - 1))
            d += d >= s
            if not self.free:
                self.refused += 1
                continue
            slot = self.free.pop()
            self.pid[slot] = len(self._birth)
            self._birth.append(t)
            self._delivered.append(-1)
            self._hops.append(-1)
            self.dest[slot], self.birth[slot], self.ready[slot] = d, t, t
            self.node[slot], self.prev[slot], self.hops[slot] = s, -1, 0
            self.queues[s].append(slot)

    def _serve(self, k: int, t: int) -> None:
        """Router ``k`` serves up to ``service_rate`` queued packets: replies, then forwards."""
        q = self.queues[k]
        m = min(self.config.service_rate, len(q))
        slots = np.asarray([q.popleft() for _ in range(m)], dtype=np.int64)
        wait = t - self.ready[slots]
        router = self.routers[k]
        obs = self._obs(k, slots, (wait > 0).astype(np.int64))
        svc = (self.prev[slots] >= 0) & self._service[np.maximum(self.prev[slots], 0)]
        if svc.any():
            v = router.value_batch(obs[svc], self._mask(k, slots[svc]))
            self._reply(k, slots[svc], np.asarray(v, float), t - self.sent_at[slots[svc]])
        succ = np.asarray(router.decide_batch(slots, obs, self._mask(k, slots)), dtype=np.int64)
        self.prev[slots] = k
        self.sent_at[slots] = t
        self.prev_wait[slots] = wait
        self.node[slots] = succ
        self.hops[slots] += 1
        self.transit.extend(int(s) for s in slots)

    def run(
        self, progress: Callable[[int], None] | None = None, record_every: int = 0
    ) -> DynamicResult:
        """``steps`` steps with injection, then drain; returns the packet records."""
        history: list[tuple[int, int, int, int]] = []
        total = self.config.steps + self.config.drain
        while self.t < total:
            injecting = self.t < self.config.steps
            if not injecting and self.in_flight() == 0:
                break
            self.step(inject=injecting)
            if record_every and self.t % record_every == 0:
                history.append(
                    (
                        self.t,
                        len(self._birth),
                        sum(d >= 0 for d in self._delivered),
                        self.in_flight(),
                    )
                )
            if progress is not None and self.t % 100 == 0:
                progress(100)
        return DynamicResult(
            birth=np.asarray(self._birth, dtype=np.int64),
            delivered=np.asarray(self._delivered, dtype=np.int64),
            hops=np.asarray(self._hops, dtype=np.int64),
            injected=len(self._birth),
            refused=self.refused,
            in_flight_end=self.in_flight(),
            messages=self.channel.n_messages,
            history=history,
        )
