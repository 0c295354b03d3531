"""A vectorised multi-packet network after Boyan and Littman's simulator (routing under load).

The model is the one of the simulator Boyan and Littman distributed with their 1994 paper
(``netsim1.c``): every router holds one FIFO queue and forwards one packet per time unit;
sending over a link takes one time unit; packets are injected as a Poisson process at
uniformly random sources for uniformly random other destinations; the number of packets in
the network is capped (``maxpackets``, 1000 there and here) and an injection that finds the
network full is refused (counted). Time is discrete (one step = one time unit).

**Step order.** At every step ``t``:

1. *link events*: scheduled links go down (or up). A packet on a link that goes down is lost.
   Only the two routers at the ends of a link see its state (their live links change); the
   team is told through :meth:`~handoffq.core.packets.PacketTeam.on_link_change`.
2. *arrivals*: packets sent at ``t - 1`` reach their next router (in a random order). A packet
   whose next router is its destination is delivered (delivery time ``t - birth``); a packet
   that has made ``ttl`` hops without arriving is dropped (an IP-style time-to-live, the loop
   guard of real networks; counted); any other joins the tail of the router's queue. Its
   *position* there is its *detention*: it will wait exactly that many steps.
3. *injection*: ``Poisson(load)`` new packets join the tail of their source's queue.
4. *service*: every router with a non-empty queue takes the packet at its head, chooses a
   live link and sends it (the packet arrives at ``t + 1``).

**Observations and replies (IC-Q interface).** A router observes a packet it holds as
``obs_kind`` says: ``"dest"`` - its destination (Boyan and Littman's routers); ``"dest_flag"`` -
destination and whether it is detained (the paper's binary flag); ``"dest_wait"`` - destination
and the detention's length (its queue position: the router's own observation of its own queue,
of which the flag is the ``> 0`` special case). With ``timing="arrival"`` (default) router ``k``
becomes active for a packet when the packet reaches it: it observes it and the network sends
its predecessor ``i`` the three numbers ``(v, tau, R)``: ``v = `` ``k``'s value at its
observation (0 if ``k`` is the destination), ``tau`` = ``i``'s invocation (the packet's wait
in ``i``'s queue plus the transmission) and ``R = -sum_{u<tau} gamma^u`` (one unit of cost per
step). With ``timing="service"`` ``k`` replies when it takes the packet from its queue, and
``tau`` covers the transmission and the wait in ``k``'s queue. Every reply crosses the audited
:class:`~handoffq.core.channel.Channel` (:func:`~handoffq.core.channel.deliver_replies`).

Results (:class:`SimResult`): per-packet birth, delivery step (``-1`` if never delivered), hops,
and why a packet was lost (TTL, link); refused injections; scalars sent between routers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import networkx as nx
import numpy as np

from handoffq.core.channel import Auditor, Channel, deliver_replies
from handoffq.core.env import EnvError
from handoffq.core.packets import PacketTeam, PacketView
from handoffq.envs.routing import _relabel, check_graph
from handoffq.learn.router_team import rank_within

__all__ = [
    "OBS_KINDS",
    "TIMINGS",
    "LinkEvent",
    "LoadConfig",
    "PacketNetwork",
    "SimResult",
    "invocation_rewards",
    "load_at",
]

OBS_KINDS = ("dest", "dest_flag", "dest_wait")
TIMINGS = ("arrival", "service")
_LOST_TTL, _LOST_LINK = 1, 2


def invocation_rewards(tau: np.ndarray, gamma: float) -> np.ndarray:
    """``R = -sum_{u<tau} gamma^u`` per invocation (unit cost per waiting or hopping step)."""
    tau = np.asarray(tau, dtype=float)
    return -tau if gamma == 1.0 else -(1.0 - gamma**tau) / (1.0 - gamma)


@dataclass(frozen=True)
class LinkEvent:
    """Link ``(u, v)`` goes down (``up=False``) or comes back (``up=True``) at step ``at``."""

    at: int
    u: int
    v: int
    up: bool = False


@dataclass(frozen=True)
class LoadConfig:
    """Offered load, run length, capacity, discount and link events of a multi-packet run.

    ``load`` is packets injected per step (Poisson); ``phases`` (optional) overrides it with a
    piecewise-constant schedule ``((start_step, load), ...)``. ``steps`` steps inject packets;
    up to ``drain`` more steps let the packets in flight arrive (their delivery times are then
    not censored). ``gamma`` discounts the replies' rewards (1: delivery time).
    """

    load: float = 1.0
    steps: int = 5000
    drain: int = 5000
    capacity: int = 1000
    ttl: int = 64
    gamma: float = 1.0
    phases: tuple[tuple[int, float], ...] = ()
    link_events: tuple[LinkEvent, ...] = ()

    def __post_init__(self) -> None:
        if self.load < 0 or any(lo < 0 for _, lo in self.phases):
            raise EnvError(f"load must be >= 0, got {self.load} (phases {list(self.phases)})")
        if self.steps < 0 or self.drain < 0:
            raise EnvError(f"steps and drain must be >= 0, got {self.steps}, {self.drain}")
        if self.capacity < 1:
            raise EnvError(f"capacity must be >= 1, got {self.capacity}")
        if self.ttl < 1:
            raise EnvError(f"ttl must be >= 1, got {self.ttl}")
        if not 0.0 < self.gamma <= 1.0:
            raise EnvError(f"gamma must be in (0, 1], got {self.gamma}")

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for config.json)."""
        return asdict(self)


def load_at(cfg: LoadConfig, t: int) -> float:
    """Offered load at step ``t``."""
    load = cfg.load
    for start, lo in cfg.phases:
        if t >= start:
            load = lo
    return load


@dataclass
class SimResult:
    """Per-packet records of a run (one entry per injected packet) and its counters.

    ``lost`` is 0 (not lost), 1 (TTL) or 2 (link down); ``lost_at`` the step of the loss (-1).
    """

    birth: np.ndarray
    delivered: np.ndarray
    hops: np.ndarray
    lost: np.ndarray
    lost_at: np.ndarray
    refused_at: np.ndarray
    in_flight_end: int
    scalars: int
    messages: int
    steps_run: int

    @property
    def injected(self) -> int:
        """Packets injected (refused ones excluded)."""
        return int(self.birth.shape[0])

    def delivery_times(self, t0: int = 0, t1: int | None = None) -> np.ndarray:
        """Delivery times of delivered packets born in ``[t0, t1)``."""
        ok = (self.delivered >= 0) & (self.birth >= t0)
        if t1 is not None:
            ok &= self.birth < t1
        return (self.delivered - self.birth)[ok]

    def losses(self, t0: int, t1: int) -> dict[str, int]:
        """Packets lost (whenever born) and injections refused during steps ``[t0, t1)``."""
        at = (self.lost_at >= t0) & (self.lost_at < t1)
        return {
            "lost_ttl": int((at & (self.lost == _LOST_TTL)).sum()),
            "lost_link": int((at & (self.lost == _LOST_LINK)).sum()),
            "refused": int(((self.refused_at >= t0) & (self.refused_at < t1)).sum()),
        }

    def count(self, t0: int = 0, t1: int | None = None) -> dict[str, int]:
        """Injected / delivered / lost (TTL, link) / refused / undelivered counts for packets
        born (or refused) in ``[t0, t1)``."""
        sel = self.birth >= t0
        rsel = self.refused_at >= t0
        if t1 is not None:
            sel &= self.birth < t1
            rsel &= self.refused_at < t1
        return {
            "injected": int(sel.sum()),
            "delivered": int((sel & (self.delivered >= 0)).sum()),
            "lost_ttl": int((sel & (self.lost == _LOST_TTL)).sum()),
            "lost_link": int((sel & (self.lost == _LOST_LINK)).sum()),
            "refused": int(rsel.sum()),
            "undelivered": int((sel & (self.delivered < 0) & (self.lost == 0)).sum()),
        }


class _Records:
    """Per-packet records, grown on demand."""

    def __init__(self) -> None:
        self.n = 0
        self.birth = np.zeros(1024, dtype=np.int64)
        self.deliv = np.full(1024, -1, dtype=np.int64)
        self.hops = np.zeros(1024, dtype=np.int64)
        self.lost = np.zeros(1024, dtype=np.int8)
        self.lost_at = np.full(1024, -1, dtype=np.int64)

    def add(self, t: int, m: int) -> np.ndarray:
        """Ids of ``m`` new packets born at ``t``."""
        if self.n + m > len(self.birth):
            size = max(self.n + m, 2 * len(self.birth))
            for name, fill in (("birth", 0), ("deliv", -1), ("hops", 0), ("lost", 0), ("lost_at", -1)):
                old = getattr(self, name)
                new = np.full(size, fill, dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        ids = np.arange(self.n, self.n + m)
        self.birth[ids] = t
        self.deliv[ids], self.hops[ids], self.lost[ids], self.lost_at[ids] = -1, 0, 0, -1
        self.n += m
        return ids


class PacketNetwork:
    """The multi-packet network (see the module docstring).

    Args:
        graph: undirected connected networkx graph (relabelled ``0 .. N-1`` by sorted labels).
        team: the routing algorithm (a :class:`~handoffq.core.packets.PacketTeam`).
        config: load, run length, capacity, TTL, discount, link events.
        seed: seeds injections (one stream, so that every routing method sees the same offered
            packets) and the order of simultaneous arrivals (another).
        auditor: sees every handoff message ``(src, dst, MessageBatch)`` crossing the channel.
        timing: when a successor replies (``"arrival"`` or ``"service"``; IC-Q-interface teams).
        obs_kind: what a router observes of a packet it holds (``"dest"``, ``"dest_flag"``,
            ``"dest_wait"``).
    """

    simulated = True

    def __init__(
        self,
        graph: nx.Graph,
        team: PacketTeam,
        config: LoadConfig | None = None,
        seed: int = 0,
        auditor: Auditor | None = None,
        timing: str = "arrival",
        obs_kind: str = "dest",
    ) -> None:
        check_graph(graph)
        if timing not in TIMINGS:
            raise EnvError(f"timing must be one of {TIMINGS}, got {timing!r}")
        if obs_kind not in OBS_KINDS:
            raise EnvError(f"obs_kind must be one of {OBS_KINDS}, got {obs_kind!r}")
        self.config = config or LoadConfig()
        self.timing, self.obs_kind = timing, obs_kind
        self.graph, self.labels = _relabel(graph)
        n = self.n = self.graph.number_of_nodes()
        nbrs = [sorted(self.graph.neighbors(i)) for i in range(n)]
        self.deg = np.asarray([len(nb) for nb in nbrs], dtype=np.int64)
        self.max_deg = int(self.deg.max())
        self.nbr = np.full((n, self.max_deg), -1, dtype=np.int64)
        for i, nb in enumerate(nbrs):
            self.nbr[i, : len(nb)] = nb
        self.live = self.nbr >= 0
        for ev in self.config.link_events:
            if not self.graph.has_edge(ev.u, ev.v):
                raise EnvError(f"link event on ({ev.u}, {ev.v}), which is not a link of the graph")
        cap = self.capacity = self.config.capacity
        self.obs_nvec = {"dest": (n,), "dest_flag": (n, 2), "dest_wait": (n, cap + 1)}[obs_kind]
        self.inj_rng, self.rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.channel = Channel(auditor)
        z = np.zeros(cap, dtype=np.int64)
        self.dest, self.src, self.birth, self.node = z.copy(), z.copy(), z.copy(), z.copy()
        self.prev, self.sent_at, self.ready = np.full(cap, -1, dtype=np.int64), z.copy(), z.copy()
        self.wait_prev, self.hops, self.pid = z.copy(), z.copy(), np.full(cap, -1, dtype=np.int64)
        self.free = np.arange(cap - 1, -1, -1, dtype=np.int64)
        self.n_free = cap
        # FIFO queues: one ring buffer per router
        self.qbuf = np.zeros((n, cap + 1), dtype=np.int64)
        self.qhead = np.zeros(n, dtype=np.int64)
        self.qtail = np.zeros(n, dtype=np.int64)
        self.transit = np.zeros(0, dtype=np.int64)
        self.records = _Records()
        self.refused: list[int] = []
        self.t = 0
        self.team = team
        team.attach(self)

    # ------------------------------------------------------------------ helpers
    def queue_lengths(self) -> np.ndarray:
        """Packets waiting in each router's queue."""
        return self.qtail - self.qhead

    def in_flight(self) -> int:
        """Packets in queues or on links."""
        return int(self.queue_lengths().sum()) + len(self.transit)

    def observe(self, dest: np.ndarray, wait: np.ndarray) -> np.ndarray:
        """Routers' observations ``(B, d)`` of packets with these destinations and detentions."""
        if self.obs_kind == "dest":
            return dest[:, None]
        det = (wait > 0).astype(np.int64) if self.obs_kind == "dest_flag" else np.minimum(wait, self.capacity)
        return np.stack([dest, det], axis=1)

    def _view(self, slots: np.ndarray, router: np.ndarray, position: np.ndarray) -> PacketView:
        return PacketView(
            slot=slots, router=router, prev=self.prev[slots], dest=self.dest[slots], src=self.src[slots],
            birth=self.birth[slots], sent_at=self.sent_at[slots], wait_prev=self.wait_prev[slots],
            position=position,
        )

    def _release(self, slots: np.ndarray) -> None:
        m = len(slots)
        if m:
            self.pid[slots] = -1
            self.free[self.n_free : self.n_free + m] = slots
            self.n_free += m

    def _lose(self, slots: np.ndarray, why: int) -> None:
        p = self.pid[slots]
        self.records.lost[p], self.records.lost_at[p], self.records.hops[p] = why, self.t, self.hops[slots]
        self.team.on_drop(self.t, slots)
        self._release(slots)

    def _enqueue(self, slots: np.ndarray, nodes: np.ndarray, rank: np.ndarray) -> None:
        """Append ``slots`` to the tails of ``nodes``' queues (``rank``: order within a node)."""
        if len(slots):
            self.qbuf[nodes, (self.qtail[nodes] + rank) % self.qbuf.shape[1]] = slots
            self.qtail += np.bincount(nodes, minlength=self.n)
            self.ready[slots] = self.t

    def place(self, src: int, dest: int) -> int:
        """Inject one packet now at router ``src`` for ``dest`` (tests, demos); returns its slot."""
        if not (0 <= src < self.n and 0 <= dest < self.n) or src == dest or self.n_free == 0:
            raise EnvError(f"cannot place a packet {src} -> {dest} (routers 0..{self.n - 1}, free {self.n_free})")
        self._admit(np.array([src]), np.array([dest]))
        return int(self.free[self.n_free])

    def _reply(self, view: PacketView, value: np.ndarray, tau: np.ndarray) -> None:
        """Send ``(value, tau, R)`` from each packet's router to its predecessor; deliver."""
        if not len(view):
            return
        tau = np.asarray(tau, dtype=np.int64)
        reward = invocation_rewards(tau, self.config.gamma)
        out = deliver_replies(self.channel, view.prev, view.router, view.slot, np.asarray(value, float), tau, reward)
        self.team.receive(self.t, out)

    # ------------------------------------------------------------------ the loop
    def set_link(self, u: int, v: int, up: bool) -> None:
        """Take link ``u - v`` down or bring it back (packets on it are lost when it fails)."""
        self.live[u, int(np.flatnonzero(self.nbr[u] == v)[0])] = up
        self.live[v, int(np.flatnonzero(self.nbr[v] == u)[0])] = up
        if not up and len(self.transit):
            tr = self.transit
            on = ((self.prev[tr] == u) & (self.node[tr] == v)) | ((self.prev[tr] == v) & (self.node[tr] == u))
            if on.any():
                self.transit = tr[~on]
                self._lose(tr[on], _LOST_LINK)
        self.team.on_link_change(self.t, u, v, up)

    def step(self, inject: bool = True) -> None:
        """Advance one time step (link events, arrivals, injection, service)."""
        for ev in self.config.link_events:
            if ev.at == self.t:
                self.set_link(ev.u, ev.v, ev.up)
        if len(self.transit):
            self._arrivals()
        if inject:
            self._inject()
        if np.any(self.qtail > self.qhead):
            self._service()
        self.t += 1

    def _arrivals(self) -> None:
        t, team = self.t, self.team
        arriving = self.transit[self.rng.permutation(len(self.transit))]
        self.transit = np.zeros(0, dtype=np.int64)
        at = self.node[arriving]
        done = at == self.dest[arriving]
        dead = ~done & (self.hops[arriving] >= self.config.ttl)
        join = ~done & ~dead
        rank = np.zeros(len(arriving), dtype=np.int64)
        rank[join] = rank_within(at[join])
        # the place each joining packet takes in its router's queue: its detention there
        position = np.where(join, self.queue_lengths()[at] + rank, 0)
        view = self._view(arriving, at, position)
        team.on_arrival(t, view, done)
        if team.replies:
            self._arrival_replies(view, done)
        fin = arriving[done]
        if len(fin):
            p = self.pid[fin]
            self.records.deliv[p], self.records.hops[p] = t, self.hops[fin]
            self._release(fin)
        if dead.any():
            self._lose(arriving[dead], _LOST_TTL)
        if join.any():
            self._enqueue(arriving[join], at[join], rank[join])

    def _arrival_replies(self, view: PacketView, done: np.ndarray) -> None:
        """The replies of the routers the packets reached (all of them with arrival timing; the
        destinations' ``(0, tau, R)`` with service timing)."""
        if self.timing == "service":
            fin = view.select(done)
            self._reply(fin, np.zeros(len(fin)), self.t - fin.sent_at)
            return
        value = np.zeros(len(view))
        go = ~done
        if go.any():
            r = view.router[go]
            obs = self.observe(view.dest[go], view.position[go])
            value[go] = self.team.value(r, obs, self.live[r])
        self._reply(view, value, view.wait_prev + 1)

    def _admit(self, s: np.ndarray, d: np.ndarray) -> None:
        """New packets ``s -> d`` join their sources' queues (room is checked by the caller)."""
        m = len(s)
        slots = self.free[self.n_free - m : self.n_free][::-1].copy()
        self.n_free -= m
        self.pid[slots] = self.records.add(self.t, m)
        self.dest[slots], self.src[slots], self.birth[slots] = d, s, self.t
        self.node[slots], self.prev[slots], self.hops[slots] = s, -1, 0
        self.sent_at[slots], self.wait_prev[slots] = self.t, 0
        self._enqueue(slots, s, rank_within(s))

    def _inject(self) -> None:
        k = int(self.inj_rng.poisson(load_at(self.config, self.t)))
        if not k:
            return
        s = self.inj_rng.integers(self.n, size=k)
        d = self.inj_rng.integers(self.n - 1, size=k)
        d = d + (d >= s)
        room = min(k, self.n_free)
        if room < k:
            self.refused.extend([self.t] * (k - room))
        if room:
            self._admit(s[:room], d[:room])

    def _service(self) -> None:
        t, team = self.t, self.team
        busy = np.flatnonzero(self.qtail > self.qhead)
        slots = self.qbuf[busy, self.qhead[busy] % self.qbuf.shape[1]]
        self.qhead[busy] += 1
        wait = t - self.ready[slots]
        view = self._view(slots, busy, wait)
        team.on_service(t, view)
        obs = self.observe(view.dest, wait)
        if team.replies and self.timing == "service":
            handed = view.prev >= 0
            sub = view.select(handed)
            self._reply(sub, team.value(sub.router, obs[handed], self.live[sub.router]), t - sub.sent_at)
        live = self.live[busy]
        cols = np.asarray(team.decide(t, view, obs, live), dtype=np.int64)
        if np.any(~live[np.arange(len(busy)), cols]):
            raise RuntimeError(f"team {team.name} chose a link that is not live")
        team.on_send(t, view, cols)
        self.prev[slots], self.sent_at[slots], self.wait_prev[slots] = busy, t, wait
        self.node[slots] = self.nbr[busy, cols]
        self.hops[slots] += 1
        self.transit = slots

    def run(self) -> SimResult:
        """``steps`` steps with injection (counted from step 0), then drain; the records."""
        cfg = self.config
        total = cfg.steps + cfg.drain
        while self.t < total:
            injecting = self.t < cfg.steps
            if not injecting and self.in_flight() == 0:
                break
            self.step(inject=injecting)
        return self.result()

    def result(self) -> SimResult:
        """The records so far."""
        r, rec = self.records.n, self.records
        return SimResult(
            birth=rec.birth[:r].copy(),
            delivered=rec.deliv[:r].copy(),
            hops=rec.hops[:r].copy(),
            lost=rec.lost[:r].copy(),
            lost_at=rec.lost_at[:r].copy(),
            refused_at=np.asarray(self.refused, dtype=np.int64),
            in_flight_end=self.in_flight(),
            scalars=int(self.team.scalars) + 3 * self.channel.n_messages,
            messages=self.channel.n_messages,
            steps_run=self.t,
        )

