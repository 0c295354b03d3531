"""Multi-agent packet routing (paper section 5.3): every node of a graph is a router (an agent).

**Graphs.** :func:`make_graph` builds the paper's families - Erdos-Renyi, Barabasi-Albert,
Watts-Strogatz, chain (a path) - plus Boyan and Littman's irregular 6x6 grid
(:func:`boyan_littman_6x6`, family ``"bl36"``) and a simpler two-cluster grid (``"grid"``); any
user-supplied undirected ``networkx`` graph works too (:func:`check_graph`).
Generation is seeded (``numpy`` ``SeedSequence`` -> networkx seed). *Connectivity is ensured
by stitching*: when a random draw is disconnected, each smaller component is joined to the
largest one by a single edge between two nodes drawn with the seeded generator (the chain,
Barabasi-Albert with ``m >= 1`` and the grid are connected by construction). A user graph
that is disconnected, empty, a single node, directed, or has self-loops is rejected with an
:class:`~handoffq.core.env.EnvError` naming the problem.

**Agents and interface.** Nodes are relabelled ``0 .. N-1`` (sorted original labels;
``env.labels`` keeps them). The interface state is the packet: its destination, the router
holding it, whether it is detained there, how many hops it has made. Router ``i`` observes
``(destination, detained)`` only - ``obs_nvec = (N, 2)`` - and its candidate successors are
its neighbours (sorted); all are admissible. Handing the packet to ``k`` is one hop.

**Detention.** On arrival at a router other than its destination (and at the source) a
packet is *detained* with probability ``detain_prob`` - the router is busy with background
traffic; under load in :mod:`handoffq.envs.packet_network` it is a real queue. A detained
packet waits ``detain_steps`` primitive steps at ``wait_cost`` each before its hop.

**Rewards.** Router ``i``'s invocation lasts ``tau = 1 + detained * detain_steps`` primitive
steps and earns ``R = -wait_cost * sum_{u<w} gamma^u - hop_cost * gamma^w`` (waiting first,
then the hop). Handing the packet to its destination delivers it and ends the episode; after
``max_hops`` hops the episode is truncated (a time limit, not a terminal state).

**Why (destination, detained) is an exact AIS** (eps = delta = 0). Given the router that
acts (the agent knows who it is) and its successor choice ``k``, the invocation's reward and
duration depend only on the detained flag; the next interface state is "packet at ``k``,
same destination, fresh flag ~ Bernoulli(detain_prob)", independent of the source, of the
route taken so far and of everything else. So two packets with the same destination and flag
at a router have the same distribution of future rewards and observations under every
policy: they are interchangeable for the learner (tested). The hop counter matters only to
the time limit, which is a truncation, not part of the task. Because every hop costs the same
and ``gamma < 1``, maximising the discounted return means minimising the number of hops, and
the optimal successor is a neighbour on a shortest path (detention is i.i.d. per hop, so it
does not change which route is best).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import shortest_path

from handoffq.core.env import EnvError, LocalStep, SeededRng, Transition, VecLocalStep, VecTransition, check_step

__all__ = [
    "BL36_EDGES",
    "FAMILIES",
    "RoutingConfig",
    "RoutingEnv",
    "RoutingVecEnv",
    "boyan_littman_6x6",
    "check_graph",
    "hop_distances",
    "invocation_reward",
    "make_graph",
    "route_accuracy",
    "stitch_components",
    "two_cluster_grid",
]

FAMILIES = ("erdos_renyi", "barabasi_albert", "watts_strogatz", "chain")


# ---------------------------------------------------------------------------- graphs
def stitch_components(graph: nx.Graph, rng: np.random.Generator) -> nx.Graph:
    """Join every smaller component to the largest one with one random edge (in place)."""
    comps = sorted(
        (sorted(c) for c in nx.connected_components(graph)), key=lambda c: (-len(c), c[0])
    )
    if len(comps) <= 1:
        return graph
    giant = comps[0]
    for comp in comps[1:]:
        u = comp[int(rng.integers(len(comp)))]
        v = giant[int(rng.integers(len(giant)))]
        graph.add_edge(u, v)
    return graph


def two_cluster_grid(rows: int = 6, cols: int = 6, bridges: Sequence[int] = (1, 5)) -> nx.Graph:
    """A grid split into an upper and a lower cluster joined only at the ``bridges`` columns.

    After Boyan and Littman's irregular 6x6 grid: traffic between the clusters must cross a
    few bridge links, which static shortest paths overload. Nodes are ``r * cols + c``.
    """
    if rows < 2 or cols < 1:
        raise EnvError(f"two_cluster_grid needs rows >= 2 and cols >= 1, got {rows}x{cols}")
    bad = [b for b in bridges if not 0 <= b < cols]
    if bad or not bridges:
        raise EnvError(f"bridge columns must be non-empty and in [0, {cols}), got {list(bridges)}")
    g = nx.Graph()
    g.add_nodes_from(range(rows * cols))
    half = rows // 2
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                g.add_edge(r * cols + c, r * cols + c + 1)
            if r + 1 < rows and (r + 1 != half or c in bridges):
                g.add_edge(r * cols + c, (r + 1) * cols + c)
    return g


#: Boyan and Littman's irregular 6x6 grid, as the ``6x6.net`` file distributed with their
#: simulator (``netsim1.c``; public mirror: ``Duncanswilson/q-routing-protocol``, ``old_c_src``).
#: Nodes are ``6 * row + col``; columns 0-2 and 3-5 form two 18-node clusters joined by two
#: bridge links, ``20 - 21`` (row 3) and ``32 - 33`` (row 5); inside the clusters, links
#: ``24 - 25``, ``28 - 29`` and the vertical links between rows 4 and 5 except ``24 - 30`` and
#: ``29 - 35`` are absent, so the bottom bridge is reached only along the bottom row.
# fmt: off
BL36_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (3, 4), (4, 5),
    (0, 6), (1, 7), (2, 8), (3, 9), (4, 10), (5, 11),
    (6, 7), (7, 8), (9, 10), (10, 11),
    (6, 12), (7, 13), (8, 14), (9, 15), (10, 16), (11, 17),
    (12, 13), (13, 14), (15, 16), (16, 17),
    (12, 18), (13, 19), (14, 20), (15, 21), (16, 22), (17, 23),
    (18, 19), (19, 20), (20, 21), (21, 22), (22, 23),
    (18, 24), (19, 25), (20, 26), (21, 27), (22, 28), (23, 29),
    (25, 26), (27, 28),
    (24, 30), (29, 35),
    (30, 31), (31, 32), (32, 33), (33, 34), (34, 35),
)
# fmt: on


def boyan_littman_6x6() -> nx.Graph:
    """The 36-node irregular grid of Boyan and Littman (1994) (see :data:`BL36_EDGES`).

    Reconstructed from the network file of the authors' simulator (``6x6.net``: node
    coordinates on a 6x6 lattice with a gap between columns 2 and 3, and its link list) and
    cross-checked against an independent adjacency list of the same network; 36 nodes, 50
    links, two clusters of 18 joined by the bridges ``20 - 21`` and ``32 - 33``.
    """
    g = nx.Graph()
    g.add_nodes_from(range(36))
    g.add_edges_from(BL36_EDGES)
    return g


def make_graph(family: str, n: int, seed: int = 0, **params: float) -> nx.Graph:
    """A connected random graph of ``family`` with ``n`` nodes (seeded; see module docstring).

    Parameters (defaults in brackets): Erdos-Renyi ``p`` [``2 ln(n) / n``, capped at 1];
    Barabasi-Albert ``m`` [2]; Watts-Strogatz ``k`` [4] and ``p`` [0.1]; chain: none;
    ``grid``: a :func:`two_cluster_grid` with ``rows`` [6] and ``cols`` [``n // rows``];
    ``bl36``: :func:`boyan_littman_6x6` (``n`` must be 36).
    """
    n = int(n)
    if n < 2:
        raise EnvError(f"a routing graph needs at least 2 nodes, got n={n}")
    ss = np.random.SeedSequence(int(seed))
    nx_seed = int(ss.generate_state(1)[0])
    rng = np.random.default_rng(ss.spawn(1)[0])
    if family == "erdos_renyi":
        p = float(params.get("p", min(1.0, 2.0 * np.log(n) / n)))
        g = nx.gnp_random_graph(n, p, seed=nx_seed)
    elif family == "barabasi_albert":
        m = int(params.get("m", 2))
        g = nx.barabasi_albert_graph(n, min(m, n - 1), seed=nx_seed)
    elif family == "watts_strogatz":
        k = int(params.get("k", 4))
        g = nx.watts_strogatz_graph(n, min(k, n - 1), float(params.get("p", 0.1)), seed=nx_seed)
    elif family == "chain":
        g = nx.path_graph(n)
    elif family == "grid":
        rows = int(params.get("rows", 6))
        g = two_cluster_grid(rows, max(1, n // rows))
    elif family == "bl36":
        if n != 36:
            raise EnvError(f"the bl36 graph has 36 nodes, got n={n}")
        g = boyan_littman_6x6()
    else:
        raise EnvError(f"unknown graph family {family!r} (expected one of {(*FAMILIES, 'grid', 'bl36')})")
    g.remove_edges_from(list(nx.selfloop_edges(g)))
    return stitch_components(g, rng)


def check_graph(graph: object) -> None:
    """Raise :class:`EnvError` unless ``graph`` is a usable routing graph (message names why)."""
    if not isinstance(graph, nx.Graph):
        raise EnvError(f"routing graph must be a networkx.Graph, got {type(graph).__name__}")
    if graph.is_directed():
        raise EnvError("routing graph must be undirected (got a directed graph)")
    if graph.is_multigraph():
        raise EnvError("routing graph must be a simple graph (got a multigraph)")
    n = graph.number_of_nodes()
    if n == 0:
        raise EnvError("routing graph is empty (no nodes)")
    loops = sorted({u for u, _ in nx.selfloop_edges(graph)}, key=repr)
    if loops:
        only = " (it has only self-loops)" if graph.number_of_edges() == len(loops) else ""
        raise EnvError(
            f"routing graph has self-loops at nodes {loops[:10]}{only}; a router cannot forward "
            "a packet to itself"
        )
    if n < 2:
        raise EnvError("routing graph has a single node: there is nowhere to route a packet")
    if not nx.is_connected(graph):
        k = nx.number_connected_components(graph)
        raise EnvError(
            f"routing graph is disconnected ({k} components): some destinations are unreachable"
        )


def _relabel(graph: nx.Graph) -> tuple[nx.Graph, tuple[Hashable, ...]]:
    try:
        labels = tuple(sorted(graph.nodes))
    except TypeError:
        labels = tuple(graph.nodes)
    mapping = {lab: i for i, lab in enumerate(labels)}
    g = nx.Graph()
    g.add_nodes_from(range(len(labels)))
    g.add_edges_from((mapping[u], mapping[v]) for u, v in graph.edges)
    return g, labels


def hop_distances(graph: nx.Graph) -> np.ndarray:
    """All-pairs hop distances ``(N, N)`` of a graph on nodes ``0 .. N-1`` (int64)."""
    adj = nx.to_scipy_sparse_array(graph, nodelist=range(graph.number_of_nodes()), format="csr")
    d = shortest_path(adj, method="D", unweighted=True, directed=False)
    if not np.all(np.isfinite(d)):
        raise EnvError("routing graph is disconnected: some destinations are unreachable")
    return d.astype(np.int64)


# ------------------------------------------------------------------------- maths
def invocation_reward(wait: int, gamma: float, wait_cost: float, hop_cost: float) -> float:
    """``-wait_cost * sum_{u<wait} gamma^u - hop_cost * gamma^wait``: wait, then one hop."""
    waited = float(wait) if gamma == 1.0 else (1.0 - gamma**wait) / (1.0 - gamma)
    return -wait_cost * waited - hop_cost * gamma**wait


def route_accuracy(next_hops: Sequence[np.ndarray], dist: np.ndarray) -> np.ndarray:
    """Which ``(source, destination)`` pairs a routing table delivers along a shortest path.

    ``next_hops[f][i, d]`` is router ``i``'s successor for destination ``d`` when the detained
    flag is ``f`` (give one table when the flag never varies, both when it may). A pair is
    correct when *every* route the packet may take (any flag pattern) reaches ``d`` in exactly
    ``dist[s, d]`` hops. Returns an ``(N, N)`` bool array (the diagonal is True; callers
    average over ``s != d``).
    """
    n = dist.shape[0]
    good = dist == 0
    cols = np.broadcast_to(np.arange(n)[None, :], (n, n))
    for layer in range(1, int(dist.max()) + 1):
        at = dist == layer
        ok = np.ones((n, n), dtype=bool)
        for nh in next_hops:
            ok &= (dist[nh, cols] == layer - 1) & good[nh, cols]
        good = np.where(at, ok, good)
    return good


# ------------------------------------------------------------------- environments
@dataclass(frozen=True)
class RoutingConfig:
    """Costs, discount, detention and hop limit of the routing environment.

    ``max_hops=None`` means ``4 * N`` hops. ``gamma = 1`` is allowed (every episode ends:
    delivery or the hop limit); the static experiment uses ``gamma = 0.99``.
    """

    gamma: float = 0.99
    hop_cost: float = 1.0
    wait_cost: float = 1.0
    detain_prob: float = 0.0
    detain_steps: int = 1
    max_hops: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.gamma <= 1.0:
            raise EnvError(f"gamma must be in (0, 1], got {self.gamma}")
        if self.hop_cost <= 0:
            raise EnvError(f"hop_cost must be positive, got {self.hop_cost}")
        if self.wait_cost < 0:
            raise EnvError(f"wait_cost must be >= 0, got {self.wait_cost}")
        if not 0.0 <= self.detain_prob < 1.0:
            raise EnvError(f"detain_prob must be in [0, 1), got {self.detain_prob}")
        if self.detain_steps < 1:
            raise EnvError(f"detain_steps must be >= 1, got {self.detain_steps}")
        if self.max_hops is not None and self.max_hops < 1:
            raise EnvError(f"max_hops must be >= 1, got {self.max_hops}")

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for config.json)."""
        return asdict(self)


class _Topology(SeededRng):
    """Shared graph bookkeeping of the single and vectorised environments."""

    def _setup(self, graph: nx.Graph, config: RoutingConfig | None) -> None:
        check_graph(graph)
        self.config = config or RoutingConfig()
        self.graph, self.labels = _relabel(graph)
        self._index = {lab: i for i, lab in enumerate(self.labels)}
        self.n_agents = self.graph.number_of_nodes()
        self.gamma = self.config.gamma
        self.max_hops = self.config.max_hops or 4 * self.n_agents
        self._nbrs = tuple(tuple(sorted(self.graph.neighbors(i))) for i in range(self.n_agents))
        self._pos = [{k: c for c, k in enumerate(nb)} for nb in self._nbrs]

    def index_of(self, label: Hashable, what: str = "node") -> int:
        """Router index of a node label; :class:`EnvError` naming it if it is not in the graph."""
        try:
            return self._index[label]
        except (KeyError, TypeError):
            raise EnvError(f"{what} {label!r} is not a node of the routing graph") from None

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """``(N destinations, 2 detained flags)``."""
        return (self.n_agents, 2)

    def candidates(self, agent: int) -> tuple[int, ...]:
        """The router's neighbours, sorted."""
        return self._nbrs[agent]

    def local_actions(self, agent: int) -> int:
        """Routers are pre-configured: no local actions."""
        return 0

    def neighbours(self, agent: int) -> tuple[int, ...]:
        """Router ``agent``'s neighbours (sorted; its candidate successors)."""
        return self._nbrs[agent]


class RoutingEnv(_Topology):
    """One packet routed through a graph of routers (:class:`~handoffq.core.env.HandoffEnv`).

    Args:
        graph: an undirected, connected networkx graph (see :func:`check_graph`).
        config: costs, discount, detention, hop limit.
        seed: seeds the environment's generator (source/destination and detention draws).
    """

    simulated = True

    def __init__(
        self, graph: nx.Graph, config: RoutingConfig | None = None, seed: int | None = None
    ) -> None:
        self._setup(graph, config)
        self.agent_names = tuple(f"router_{i}" for i in range(self.n_agents))
        self.reset(seed)

    def reset(
        self, seed: int | None = None, source: Hashable | None = None, dest: Hashable | None = None
    ) -> None:
        """New packet: ``source``/``dest`` given as node labels, or drawn uniformly (``s != d``)."""
        self._seed_rng(seed)
        n = self.n_agents
        d = self.index_of(dest, "destination") if dest is not None else None
        s = self.index_of(source, "source") if source is not None else None
        if s is None:
            s = int(self._rng.integers(n)) if d is None else _other(self._rng, n, d)
        if d is None:
            d = _other(self._rng, n, s)
        if s == d:
            raise EnvError(f"source and destination are the same node ({self.labels[s]!r})")
        self._node, self._dest, self._hops, self._done = s, d, 0, False
        self._flag = self._draw_flag()
        self.source = s

    def _draw_flag(self) -> int:
        p = self.config.detain_prob
        return int(p > 0 and self._rng.random() < p)

    @property
    def active_agent(self) -> int:
        """The router holding the packet."""
        return self._node

    @property
    def destination(self) -> int:
        """The packet's destination (router index)."""
        return self._dest

    @property
    def hops(self) -> int:
        """Hops made so far."""
        return self._hops

    def observe(self, agent: int) -> tuple[int, ...]:
        """``(destination, detained)`` of the packet (the interface state's only visible part)."""
        return (self._dest, self._flag)

    def admissible(self, agent: int) -> tuple[int, ...]:
        """All neighbours."""
        return self._nbrs[agent]

    def act(self, local_action: int) -> LocalStep:
        """Not available: routers are pre-configured."""
        raise EnvError("routers are pre-configured: the routing environment has no local actions")

    def step(self, successor: int) -> Transition:
        """Wait (if detained), hop to ``successor``; deliver, truncate or draw the next flag."""
        check_step(self, successor, self._done)
        cfg = self.config
        wait = self._flag * cfg.detain_steps
        reward = invocation_reward(wait, cfg.gamma, cfg.wait_cost, cfg.hop_cost)
        self._node = int(successor)
        self._hops += 1
        if self._node == self._dest:
            self._done = True
            self._flag = 0
            return Transition(wait + 1, reward, True, False)
        self._flag = self._draw_flag()
        truncated = self._hops >= self.max_hops
        self._done = truncated
        return Transition(wait + 1, reward, False, truncated)


def _other(rng: np.random.Generator, n: int, avoid: int) -> int:
    """A uniform index in ``0 .. n-1`` other than ``avoid``."""
    x = int(rng.integers(n - 1))
    return x + (x >= avoid)


class RoutingVecEnv(_Topology):
    """``n_envs`` independent packets routed at once (a :class:`~handoffq.core.env.VecHandoffEnv`).

    Same dynamics as :class:`RoutingEnv`; each slot is one packet with a uniformly drawn
    ``(source, destination)`` pair, restarted in place when it is delivered or truncated.
    """

    simulated = True

    def __init__(
        self,
        graph: nx.Graph,
        config: RoutingConfig | None = None,
        n_envs: int = 1024,
        seed: int | None = None,
    ) -> None:
        self._setup(graph, config)
        if n_envs < 1:
            raise EnvError(f"n_envs must be >= 1, got {n_envs}")
        self.n_envs = int(n_envs)
        n = self.n_agents
        edges = np.asarray(
            [(u, v) for u, v in self.graph.edges] + [(v, u) for u, v in self.graph.edges]
        )
        self._edge_keys = np.sort(edges[:, 0] * n + edges[:, 1])
        self._masks = [np.ones((1, len(nb)), dtype=bool) for nb in self._nbrs]
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Fresh packets in every slot."""
        self._seed_rng(seed)
        b = self.n_envs
        self._node = np.zeros(b, dtype=np.int64)
        self._dest = np.zeros(b, dtype=np.int64)
        self._flag = np.zeros(b, dtype=np.int64)
        self._hops = np.zeros(b, dtype=np.int64)
        self.reset_slots(np.arange(b))

    def reset_slots(self, slots: np.ndarray) -> None:
        """New uniformly drawn ``(source, destination)`` packets in ``slots``."""
        n, m = self.n_agents, len(slots)
        s = self._rng.integers(n, size=m)
        d = self._rng.integers(n - 1, size=m)
        d = d + (d >= s)
        self._node[slots] = s
        self._dest[slots] = d
        self._hops[slots] = 0
        self._flag[slots] = self.draw_flags(m)

    def place(self, node: int, dests: np.ndarray, slots: np.ndarray | None = None) -> None:
        """Put a fresh packet at router ``node`` in ``slots`` (default: every slot), the packet
        of the ``r``-th listed slot going to ``dests[r]``."""
        slots = np.arange(self.n_envs) if slots is None else np.asarray(slots, dtype=np.int64)
        dests = np.asarray(dests, dtype=np.int64)
        if dests.shape != slots.shape:
            raise EnvError(f"place() needs one destination per slot ({len(slots)}), got shape {dests.shape}")
        if np.any(dests == node) or np.any((dests < 0) | (dests >= self.n_agents)):
            raise EnvError(f"destinations for router {node} must be other routers of the graph")
        self._node[slots] = node
        self._dest[slots] = dests
        self._hops[slots] = 0
        self._flag[slots] = self.draw_flags(len(slots))

    def draw_flags(self, m: int) -> np.ndarray:
        """``m`` fresh detained flags (Bernoulli ``detain_prob``)."""
        p = self.config.detain_prob
        if p <= 0:
            return np.zeros(m, dtype=np.int64)
        return (self._rng.random(m) < p).astype(np.int64)

    def active(self) -> np.ndarray:
        """Router holding each slot's packet."""
        return self._node.copy()

    def observe(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """``(destination, detained)`` rows for ``slots``."""
        return np.stack([self._dest[slots], self._flag[slots]], axis=1)

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Every neighbour is admissible."""
        return np.broadcast_to(self._masks[agent], (len(slots), len(self._nbrs[agent])))

    def act(self, slots: np.ndarray, actions: np.ndarray) -> VecLocalStep:
        """Not available: routers are pre-configured."""
        raise EnvError("routers are pre-configured: the routing environment has no local actions")

    def step(self, successors: np.ndarray, slots: np.ndarray | None = None) -> VecTransition:
        """One hop (after any detention) in every slot (or in ``slots`` only)."""
        cfg = self.config
        rows = np.arange(self.n_envs) if slots is None else np.asarray(slots, dtype=np.int64)
        k = np.asarray(successors, dtype=np.int64)
        if k.shape != rows.shape:
            raise EnvError(f"step() needs one successor per slot ({len(rows)}), got shape {k.shape}")
        node = self._node[rows]
        keys = node * self.n_agents + k
        pos = np.minimum(np.searchsorted(self._edge_keys, keys), len(self._edge_keys) - 1)
        linked = self._edge_keys[pos] == keys
        if not linked.all():
            bad = int(np.flatnonzero(~linked)[0])
            raise EnvError(f"successor {int(k[bad])} is not a neighbour of router {int(node[bad])}")
        wait = self._flag[rows] * cfg.detain_steps
        g = cfg.gamma
        waited = wait.astype(float) if g == 1.0 else (1.0 - g**wait) / (1.0 - g)
        reward = -cfg.wait_cost * waited - cfg.hop_cost * g**wait
        self._node[rows] = k
        self._hops[rows] += 1
        term = k == self._dest[rows]
        self._flag[rows] = np.where(term, 0, self.draw_flags(len(rows)))
        trunc = ~term & (self._hops[rows] >= self.max_hops)
        return VecTransition(wait + 1, reward, term, trunc)
