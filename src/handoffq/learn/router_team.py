"""Tabular IC-Q for a whole team of routers, vectorised over packets, driven by the episode loop.

A routing team has one agent per node: router ``i`` keeps its own table ``Q_i(o, c)`` over its
observations ``o`` (the routing environment's ``(destination, detained)``, flattened in C order
as :class:`~handoffq.learn.estimators.TabularEstimator` flattens them) and its candidate
successors ``c`` (its sorted neighbours). :class:`RouterTables` stores these per-router tables
side by side in one flat array: router ``i``'s table is ``flat[off[i] : off[i] + n_obs * deg[i]]``
reshaped to ``(n_obs, deg[i])`` (:meth:`RouterTables.table` returns that view).

:class:`ICQRouterTeam` implements the episode loop's :class:`~handoffq.runtime.loop.Team`
protocol, so :class:`~handoffq.runtime.loop.EpisodeLoop` drives it exactly as it drives a
:class:`~handoffq.runtime.loop.LocalTeam` of :class:`~handoffq.learn.agent.ICQAgent` objects:
the loop groups the rows of a round by acting router and hands every group the router's own
observations and admissible masks; the team answers all groups with a few array operations.
Nothing mixes routers: every row names the router acting on it and touches only that router's
block, its pending decision (keyed by the loop's key) and its counters. In particular:

* :meth:`ICQRouterTeam.decide` - router ``i`` picks a successor from its own row ``Q_i(o, .)``
  (epsilon-greedy over the admissible candidates, first maximum on ties, epsilon decayed with
  the router's own decision count, as :func:`~handoffq.learn.exploration.choose_batch`);
* :meth:`ICQRouterTeam.value` - the scalar ``v = max_c Q_k(o', c)`` that successor ``k`` sends
  back when it becomes active at its own observation ``o'``;
* :meth:`ICQRouterTeam.receive` - each predecessor regresses its pending ``Q_i(o, c)`` on the
  reply ``R + gamma**tau * v`` (paper eq. 5) that reached it through the audited channel, with
  its own visit-count step sizes; updates of one entry in one round are merged exactly as
  :meth:`~handoffq.learn.estimators.TabularEstimator.update_batch` merges them.

So a run of the vectorised team is the run of per-router ``ICQAgent`` objects (the tests check
that the tables are equal on a seeded run); only the exploration draws come from one generator
instead of one per router (the same distribution). :class:`NaiveRouterTeam` is the naive
independent-Q baseline (own bootstrap, :class:`~handoffq.baselines.naive.NaiveIndependentAgent`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from handoffq.core.agent import OwnView
from handoffq.core.channel import Delivery
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.targets import td_target_batch

__all__ = ["ICQRouterTeam", "NaiveRouterTeam", "RouterTables", "greedy_next_hops", "rank_within"]


def rank_within(keys: np.ndarray) -> np.ndarray:
    """Rank of each entry among the entries with the same key, in array order."""
    keys = np.asarray(keys)
    if len(keys) <= 1:
        return np.zeros(len(keys), dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(k)]))
    rank = np.empty(len(k), dtype=np.int64)
    rank[order] = np.arange(len(k)) - group_start
    return rank


class RouterTables:
    """Per-router tables ``Q_i(o, c)`` (``n_obs`` rows, ``deg_i`` columns) in one flat array.

    Args:
        nbrs: ``nbrs[i]`` is router ``i``'s candidate successors (sorted neighbours).
        n_obs: observations per router.
        init: initial value of every entry (0: optimistic when every hop costs).
    """

    def __init__(self, nbrs: Sequence[Sequence[int]], n_obs: int, init: float = 0.0) -> None:
        self.n = len(nbrs)
        self.n_obs = int(n_obs)
        self.deg = np.asarray([len(nb) for nb in nbrs], dtype=np.int64)
        if self.n == 0 or np.any(self.deg < 1):
            raise ValueError("every router needs at least one candidate successor")
        self.max_deg = int(self.deg.max())
        sizes = self.deg * self.n_obs
        self.off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.flat = np.full(int(sizes.sum()), float(init))
        self.visits = np.zeros(self.flat.size, dtype=np.int64)
        pad = np.full((self.n, self.max_deg), -1, dtype=np.int64)
        for i, nb in enumerate(nbrs):
            pad[i, : len(nb)] = sorted(int(k) for k in nb)
        self.nbr = pad  # (n, max_deg): successor id per column, -1 = no column
        self.col_ok = pad >= 0
        self._cols = np.arange(self.max_deg, dtype=np.int64)

    def table(self, i: int) -> np.ndarray:
        """Router ``i``'s own table, a writable ``(n_obs, deg_i)`` view."""
        d = int(self.deg[i])
        return self.flat[self.off[i] : self.off[i] + self.n_obs * d].reshape(self.n_obs, d)

    def entry(self, routers: np.ndarray, obs: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Flat index of entry ``(router, obs, col)`` for every row."""
        return self.off[routers] + obs * self.deg[routers] + cols

    def rows(self, routers: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """``(B, max_deg)`` values of each router's row ``obs`` (``-inf`` past its degree)."""
        base = self.off[routers] + obs * self.deg[routers]
        cols = np.minimum(self._cols[None, :], self.deg[routers][:, None] - 1)
        vals = self.flat[base[:, None] + cols]
        return np.where(self.col_ok[routers], vals, -np.inf)

    def segments(self, routers: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The rows ``obs`` of ``routers`` as contiguous segments of one gather (no padding).

        Returns ``(idx, col, starts, lens)``: flat indices of the rows' entries back to back,
        each entry's column, where each row's segment starts, and its length (the degree).
        """
        lens = self.deg[routers]
        ends = np.cumsum(lens)
        starts = ends - lens
        col = np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(starts, lens)
        idx = np.repeat(self.off[routers] + obs * lens, lens) + col
        return idx, col, starts, lens

    def merged_update(self, flat: np.ndarray, targets: np.ndarray, alpha: np.ndarray) -> None:
        """Apply ``Q += a (y - Q)``; duplicate entries in one batch are merged as
        :meth:`~handoffq.learn.estimators.TabularEstimator.update_batch` merges them (mean
        target, joint step ``1 - (1 - mean a)^count``)."""
        if len(flat) == 0:
            return
        if len(flat) == 1 or _distinct(flat):
            self.flat[flat] += np.clip(alpha, 0.0, 1.0) * (targets - self.flat[flat])
            return
        uniq, inv, counts = np.unique(flat, return_inverse=True, return_counts=True)
        mean_t = np.bincount(inv, weights=targets, minlength=len(uniq)) / counts
        mean_a = np.bincount(inv, weights=alpha, minlength=len(uniq)) / counts
        joint = 1.0 - np.power(1.0 - np.clip(mean_a, 0.0, 1.0), counts)
        self.flat[uniq] += joint * (mean_t - self.flat[uniq])


def _distinct(idx: np.ndarray) -> bool:
    """Whether all entries of an integer array differ (sorting a copy)."""
    srt = np.sort(idx)
    return bool(np.all(srt[1:] != srt[:-1]))


class ICQRouterTeam(RouterTables):
    """IC-Q routers (Algorithm 1) for a whole team, tabular, vectorised over packets.

    Implements the episode loop's :class:`~handoffq.runtime.loop.Team` protocol (see the module
    docstring); call :meth:`start_batch` with the loop's number of keys first.

    Args:
        nbrs: candidate successors per router (the environment's sorted neighbours).
        obs_nvec: sizes of the routers' observation dimensions (the same for every router).
        gamma: primitive discount.
        exploration: epsilon-greedy exploration over admissible successors (``kind`` must be
            ``"epsilon"``; the epsilon decays per router with its own decision count).
        schedule: step sizes (per-entry visit counts for ``"visits"``/``"visits_offset"``,
            per-router update counts for ``"decay"``).
        seed: seeds the exploration draws.
    """

    bootstrap = "message"

    def __init__(
        self,
        nbrs: Sequence[Sequence[int]],
        obs_nvec: Sequence[int],
        gamma: float,
        exploration: Exploration | None = None,
        schedule: StepSize | None = None,
        seed: int = 0,
    ) -> None:
        self.obs_nvec = tuple(int(k) for k in obs_nvec)
        super().__init__(nbrs, math.prod(self.obs_nvec))
        self._strides = np.asarray(
            [math.prod(self.obs_nvec[j + 1 :]) for j in range(len(self.obs_nvec))], dtype=np.int64
        )
        self.gamma = float(gamma)
        self.exploration = exploration or Exploration(epsilon=0.1)
        if self.exploration.kind != "epsilon":
            raise ValueError("the vectorised router team supports epsilon-greedy exploration only")
        self.schedule = schedule or StepSize("visits", a0=1.0, power=0.7)
        self.rng = np.random.default_rng(seed)
        self.decisions = np.zeros(self.n, dtype=np.int64)
        self.updates = np.zeros(self.n, dtype=np.int64)
        self.start_batch(0)

    # ---------------------------------------------------------------- helpers
    def flat_obs(self, obs: np.ndarray) -> np.ndarray:
        """Row index of each observation ``(B, d)`` (C order, as the tabular estimator)."""
        return np.asarray(obs, dtype=np.int64).reshape(len(obs), -1) @ self._strides

    def start_batch(self, n_keys: int) -> None:
        """Pending-decision storage for keys ``0 .. n_keys - 1`` (one decision per key)."""
        self.p_router = np.full(int(n_keys), -1, dtype=np.int64)
        self.p_obs = np.zeros(int(n_keys), dtype=np.int64)
        self.p_col = np.zeros(int(n_keys), dtype=np.int64)

    def _stack(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[int]]:
        """Routers, flat observations and the padded admissible mask (``None`` when every
        candidate is admissible) of the groups' rows, and the group sizes."""
        sizes = [len(o) for _, o, _ in groups]
        routers = np.repeat(np.asarray([a for a, _, _ in groups], dtype=np.int64), sizes)
        obs = self.flat_obs(np.concatenate([o for _, o, _ in groups])) if groups else np.zeros(0, np.int64)
        return routers, obs, self._pad([m for _, _, m in groups], len(routers)), sizes

    def _pad(self, masks: Sequence[np.ndarray], rows: int) -> np.ndarray | None:
        """Stack per-group masks into ``(rows, max_deg)`` (``None`` if all are all-true)."""
        if all(m.all() for m in masks):
            return None
        mask = np.zeros((rows, self.max_deg), dtype=bool)
        row = 0
        for m in masks:
            mask[row : row + len(m), : m.shape[1]] = m
            row += len(m)
        return mask

    @staticmethod
    def _split(values: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
        return np.split(values, np.cumsum(sizes)[:-1]) if sizes else []

    # ---------------------------------------------------------- row methods
    def _masked(self, mask: np.ndarray | None, routers: np.ndarray) -> np.ndarray | None:
        """``mask`` (padded to ``max_deg``) unless every candidate of every row is admissible."""
        if mask is None or mask[self.col_ok[routers]].all():
            return None
        return mask

    def _segment_values(
        self, routers: np.ndarray, obs: np.ndarray, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        idx, col, starts, lens = self.segments(routers, obs)
        vals = self.flat[idx]
        if mask is not None:
            vals = np.where(mask[np.repeat(np.arange(len(routers)), lens), col], vals, -np.inf)
        return vals, col, starts, lens

    def decide_rows(
        self, routers: np.ndarray, obs: np.ndarray, mask: np.ndarray | None = None, greedy: bool = False
    ) -> np.ndarray:
        """Column chosen by router ``routers[b]`` at its flat observation ``obs[b]``: the first
        admissible maximum, or (exploring) a uniformly random admissible column with the
        router's epsilon. ``mask``: ``(B, max_deg)`` admissible columns (``None``: all)."""
        b = len(routers)
        if b == 0:
            return np.zeros(0, dtype=np.int64)
        mask = self._masked(mask, routers)
        vals, col, starts, lens = self._segment_values(routers, obs, mask)
        best = np.maximum.reduceat(vals, starts)
        first = np.minimum.reduceat(np.where(vals == np.repeat(best, lens), col, self.max_deg), starts)
        exp = self.exploration
        if greedy or exp.epsilon <= 0.0:
            return first
        eps = np.maximum(exp.epsilon_min, exp.epsilon * exp.decay ** self.decisions[routers].astype(float))
        explore = self.rng.random(b) < eps
        if mask is None:
            rand = (self.rng.random(b) * lens).astype(np.int64)
        else:
            rand = np.argmax(self.rng.random(mask.shape) * mask, axis=1)
        return np.where(explore, rand, first)

    def value_rows(self, routers: np.ndarray, obs: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """``max_c Q_k(o', c)`` over admissible columns: the scalar a successor sends back."""
        if len(routers) == 0:
            return np.zeros(0)
        vals, _, starts, _ = self._segment_values(routers, obs, self._masked(mask, routers))
        return np.maximum.reduceat(vals, starts)

    def step_sizes(self, routers: np.ndarray, flat: np.ndarray) -> np.ndarray:
        """Step sizes of a round's updates (counting the visits and updates they make)."""
        np.add.at(self.visits, flat, 1)
        t = self.updates[routers]
        if self.schedule.kind == "decay":  # the router's own update count, in row order
            t = t + rank_within(routers)
        alpha = self.schedule(t, self.visits[flat])
        np.add.at(self.updates, routers, 1)
        return alpha

    def _bootstrap(self, routers: np.ndarray, value: np.ndarray, own: list[OwnView | None]) -> np.ndarray:
        """The ``v`` of the targets: the successors' values (overridden by the naive baseline)."""
        return value

    # ------------------------------------------------------- Team protocol
    def wants_own_view(self, agent: int) -> bool:
        """Only the naive baseline bootstraps from its own view."""
        return self.bootstrap == "own"

    def decide(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray]], greedy: bool
    ) -> list[np.ndarray]:
        """Successors for each ``(router, keys, obs, mask)`` group; remembered unless greedy."""
        routers, obs, mask, sizes = self._stack([(a, o, m) for a, _, o, m in groups])
        cols = self.decide_rows(routers, obs, mask, greedy)
        if not greedy:
            keys = np.concatenate([k for _, k, _, _ in groups]) if groups else np.zeros(0, np.int64)
            self.p_router[keys], self.p_obs[keys], self.p_col[keys] = routers, obs, cols
            np.add.at(self.decisions, routers, 1)
        return self._split(self.nbr[routers, cols], sizes)

    def value(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Values for each ``(router, obs, mask)`` group."""
        routers, obs, mask, sizes = self._stack(groups)
        return self._split(self.value_rows(routers, obs, mask), sizes)

    def receive(self, deliveries: Sequence[tuple[Delivery, OwnView | None]]) -> None:
        """Each predecessor regresses its pending decisions on the replies it was delivered."""
        if not deliveries:
            return
        keys = np.concatenate([d.keys for d, _ in deliveries])
        expect = np.repeat([d.agent for d, _ in deliveries], [len(d.keys) for d, _ in deliveries])
        routers = self.p_router[keys]
        if np.any(routers != expect):
            bad = keys[routers != expect][:5].tolist()
            raise RuntimeError(f"replies delivered for keys with no pending decision of their receiver: {bad}")
        self.p_router[keys] = -1
        obs, cols = self.p_obs[keys], self.p_col[keys]
        value = np.concatenate([d.messages.value for d, _ in deliveries])
        duration = np.concatenate([d.messages.duration for d, _ in deliveries])
        reward = np.concatenate([d.messages.reward for d, _ in deliveries])
        boot = self._bootstrap(routers, value, [own for _, own in deliveries])
        flat = self.entry(routers, obs, cols)
        self.merged_update(flat, td_target_batch(reward, duration, boot, self.gamma), self.step_sizes(routers, flat))

    def decide_local(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]], greedy: bool) -> list[np.ndarray]:
        """Routers are pre-configured: they have no local actions."""
        raise RuntimeError("routers are pre-configured: they have no local actions")

    def after_local(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    ) -> None:
        """Routers are pre-configured: they have no local actions."""
        raise RuntimeError("routers are pre-configured: they have no local actions")

    def forget(self, keys: np.ndarray | None = None) -> int:
        """Drop pending decisions (all, or those of ``keys``); return how many were dropped."""
        sel = slice(None) if keys is None else np.asarray(keys, dtype=np.int64)
        n = int((self.p_router[sel] >= 0).sum())
        self.p_router[sel] = -1
        return n


class NaiveRouterTeam(ICQRouterTeam):
    """Naive independent Q (DESIGN.md section 2) for a router team: after handing a packet to
    ``k`` the router regresses ``Q_i(o, k)`` on ``R + gamma**tau * max_c Q_i(o', c)`` at its
    *own* view ``o'`` of the packet it handed off (0 when the packet was delivered) and ignores
    the successor's value - as :class:`~handoffq.baselines.naive.NaiveIndependentAgent`."""

    bootstrap = "own"

    def _bootstrap(self, routers: np.ndarray, value: np.ndarray, own: list[OwnView | None]) -> np.ndarray:
        """``max_c Q_self(o', c)`` at the router's own next view (0 where the episode ended)."""
        if any(v is None for v in own):
            raise RuntimeError("the naive router team needs its own view of every handed-off packet")
        views = [v for v in own if v is not None]
        obs = self.flat_obs(np.concatenate([v.obs for v in views]))
        alive = np.concatenate([v.alive for v in views])
        q = self.value_rows(routers, obs, self._pad([v.mask for v in views], len(routers)))
        return np.where(alive, q, 0.0)


def greedy_next_hops(team: ICQRouterTeam, flag: int = 0) -> np.ndarray:
    """``(N, N)`` table: router ``i``'s greedy successor for destination ``d`` at observation
    ``(d, flag)`` (first maximum on ties, as the routers decide); the diagonal holds ``i``."""
    n = team.n
    obs = team.flat_obs(np.stack([np.arange(n), np.full(n, flag)], axis=1))
    table = np.empty((n, n), dtype=np.int64)
    for i in range(n):
        table[i] = team.nbr[i, np.argmax(team.table(i)[obs], axis=1)]
    table[np.arange(n), np.arange(n)] = np.arange(n)
    return table
