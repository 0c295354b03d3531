"""IC-Q with decentralised replay, traced values and Boltzmann exploration (``ICQ+``), batched.

Everything here keeps the interface constraint of IC-Q: an agent owns its estimator, its
visit counts, its generator and its *own* records; nothing but ``(v, tau, R)`` messages
crosses agents, through the audited :class:`~handoffq.core.channel.Channel`.

Tools on top of the IC-Q update (each can be switched off; :class:`PlusConfig`; the
experiment's choice is the default):

1. **Decentralised replay** (``replay``). Every handoff has a key both parties know (a
   handoff id: protocol metadata, like the (task, handoff) key of a pending decision, not an
   observation). The predecessor keeps ``(key, its own observation o, its choice k, tau, R)``;
   the successor keeps ``(key, its own arrival observation o', tau, R)`` and which of its own
   decisions followed. On replay the predecessor sends the keys of its stored handoffs to
   each successor; the successor re-evaluates ``v`` on its *stored* observation and replies
   with the same three numbers ``(v, tau, R)`` per key; the predecessor regresses
   ``Q(o, k)`` on ``R + gamma**tau * v`` over all its stored handoffs. For a table the
   regression is solved exactly (the mean target of each ``(o, k)``); with the budget
   interface every handoff lowers the budget, so ``max_handoffs`` Jacobi sweeps reach the
   fixed point of the data.
2. **Traced values** (``trace`` = lambda, default 1). The value a successor sends for a stored
   handoff is ``max_k' Q(o', k')`` *unless its own stored choice after that arrival is still
   its greedy choice*, in which case it sends its own latest regression target for that
   choice (Watkins-style Q(lambda) computed backwards through the messages). Still one
   scalar per handoff, computed from the successor's own records. Why: the four bits (even
   with the budget) alias who wrote the current answer; bootstrapping ``max Q`` at an
   aliased observation mixes arrivals from different histories, and plain IC-Q's fixed
   point is then not the best routing of the class (issue 11 report).
3. **Boltzmann exploration** (``temperature``) over the agent's own ``Q`` after ``warmup``
   uniformly random own decisions. Keeps the behaviour close to the greedy routing (so the
   replayed arrivals look like the greedy routing's) while still trying close competitors.
4. Alternatives kept for the ablation: optimistic ``U`` table with a count bonus from the
   agent's own visit counts propagated through a second replay pass (``bonus``,
   ``optimistic``), epsilon-greedy (``epsilon``), Thompson-style sampling (``thompson``),
   pessimistic exploit values (``pessimism``), recency-weighted replay (``recency``) and
   double estimation (``double``, untraced values only).

The online IC-Q update (one step of ``Q(o, k)`` towards ``R + gamma**tau * v`` with step
``1 / n(o, k) ** power``) runs at every handoff as in plain IC-Q; replay refits from all
stored data at geometrically spaced times (``replay_growth``).

Estimators: tables (default) or, for ``Q``, a per-agent MLP (the paper's 3 x 512) fitted by
a few optimiser steps per replay on the agent's own mean targets.

:class:`ReplayICQAgent` implements the :class:`~handoffq.core.agent.HandoffAgent` protocol
(scalar and batch forms; pending decisions keyed by slot or key), so any runner of the project
can drive it (e.g. :class:`~handoffq.runtime.loop.EpisodeLoop` for greedy evaluation). Replay
needs two pieces of protocol metadata besides the messages, which
:class:`~handoffq.learn.replay_runner.ReplayRunner` supplies: the handoff id of each decision
and who replied (:meth:`ReplayICQAgent.tag_handoffs`), and the successor's own arrival records
(:meth:`ReplayICQAgent.arrive_batch`). Scalar ``receive`` takes the online IC-Q step only
(no handoff id: nothing is stored for replay).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handoffq.core.agent import Key
from handoffq.core.channel import MessageBatch
from handoffq.core.env import flat_obs_index, obs_size
from handoffq.core.messages import HandoffMessage
from handoffq.learn.agent import AgentBase
from handoffq.learn.exploration import masked_argmax, masked_max

__all__ = ["PlusConfig", "ReplayICQAgent"]


@dataclass(frozen=True)
class PlusConfig:
    """Switches and constants of ICQ+ (defaults: the configuration used in the experiment)."""

    replay: bool = field(default=True, metadata={"help": "decentralised replay (fitted Q)"})
    bonus: float = field(default=0.0, metadata={"help": "count bonus beta / sqrt(n) in U"})
    optimistic: bool = field(default=False, metadata={"help": "untried pairs worth v_max in U"})
    v_max: float = field(default=1.0, metadata={"help": "largest return (optimistic value)"})
    epsilon: float = field(default=0.0, metadata={"help": "uniform exploration mixed in"})
    epsilon_half: float = field(
        default=0.0, metadata={"help": "epsilon halves every this many own decisions (0: fixed)"}
    )
    epsilon_min: float = field(default=0.0, metadata={"help": "floor of the decaying epsilon"})
    pessimism: float = field(
        default=0.0,
        metadata={"help": "exploit values = mean target - pessimism * its standard error"},
    )
    warmup: int = field(
        default=3000, metadata={"help": "own decisions taken uniformly at random first"}
    )
    thompson: float = field(
        default=0.0,
        metadata={"help": "act on Q + thompson * SE * N(0,1) per decision (0: off)"},
    )
    temperature: float = field(
        default=0.05, metadata={"help": "Boltzmann exploration over Q (0: act on U / epsilon)"}
    )
    recency: float = field(
        default=0.0,
        metadata={"help": "replay weight half-life as a fraction of own stored handoffs (0: equal)"},
    )
    double: bool = field(default=False, metadata={"help": "double estimation of sent values"})
    trace: float = field(
        default=1.0,
        metadata={"help": "lambda of the replayed value: own greedy continuation vs max Q"},
    )
    step_power: float = field(default=0.6, metadata={"help": "online step 1/n**power"})
    online: bool = field(
        default=False,
        metadata={"help": "also take the online IC-Q step at every handoff (between replays)"},
    )
    replay_growth: float = field(
        default=0.1, metadata={"help": "replay when stored handoffs grew by this fraction"}
    )
    replay_min: int = field(default=64, metadata={"help": "... or by at least this many"})
    max_sweeps: int = field(default=60, metadata={"help": "replay sweeps cap (cyclic obs)"})
    sweep_tol: float = field(default=1e-7, metadata={"help": "stop sweeps below this change"})


class _Store:
    """Growable parallel int/float arrays (an agent's own records)."""

    def __init__(self, names: Sequence[tuple[str, Any]]) -> None:
        self.names = [n for n, _ in names]
        self.cap = 1024
        self.n = 0
        self.arr = {n: np.zeros(self.cap, dtype=dt) for n, dt in names}

    def append(self, **cols: np.ndarray) -> None:
        m = len(next(iter(cols.values())))
        if self.n + m > self.cap:
            while self.n + m > self.cap:
                self.cap *= 2
            for n in self.names:
                new = np.zeros(self.cap, dtype=self.arr[n].dtype)
                new[: self.n] = self.arr[n][: self.n]
                self.arr[n] = new
        for n in self.names:
            self.arr[n][self.n : self.n + m] = cols[n]
        self.n += m

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arr[name][: self.n]


class ReplayICQAgent(AgentBase):
    """One ICQ+ agent (batched protocol of :class:`~handoffq.learn.agent.ICQAgent`, plus replay).

    Args:
        agent_id: this agent's index.
        obs_nvec: sizes of its observation dimensions.
        candidates: its candidate successors (action set).
        gamma: primitive discount.
        cfg: :class:`PlusConfig`.
        seed: seeds its private generator.
        estimator: ``None`` (table) or an MLP estimator for ``Q`` (:mod:`~handoffq.learn.estimators`).
        mlp_steps: optimiser steps per replay refit of an MLP ``Q``.
    """

    def __init__(
        self,
        agent_id: int,
        obs_nvec: Sequence[int],
        candidates: Sequence[int],
        gamma: float,
        cfg: PlusConfig | None = None,
        seed: int = 0,
        estimator: Any | None = None,
        mlp_steps: int = 50,
    ) -> None:
        super().__init__(agent_id, obs_nvec, candidates, gamma, seed)
        self.n_obs = obs_size(self.obs_nvec)
        self.n_act = len(self.candidates)
        self.cfg = cfg or PlusConfig()
        self.mlp = estimator
        self.mlp_steps = int(mlp_steps)
        shape = (self.n_obs, self.n_act)
        self.Q = np.zeros(shape)  # exploit values (a table, or the MLP's outputs cached)
        self.QA = np.zeros(shape)
        self.QB = np.zeros(shape)
        self.U = np.full(shape, self.cfg.v_max if self.cfg.optimistic else 0.0)
        self.N = np.zeros(shape, dtype=np.int64)  # own visit counts (decisions answered)
        self.SE = np.full(shape, 0.5)  # standard error of each exploit value (own data)
        self.dec = _Store(
            [("key", np.int64), ("obs", np.int64), ("col", np.int64), ("succ", np.int64),
             ("tau", np.int64), ("R", float), ("arr", np.int64)]
        )
        self.arr = _Store(
            [("key", np.int64), ("obs", np.int64), ("tau", np.int64), ("R", float),
             ("dec", np.int64)]
        )
        # latest replay target of each own decision, per table
        self._y: dict[str, np.ndarray] = {"Q": np.zeros(0), "U": np.zeros(0)}
        self._slot_obs = np.zeros(0, dtype=np.int64)
        self._slot_col = np.zeros(0, dtype=np.int64)
        self._slot_arr = np.zeros(0, dtype=np.int64)
        self._slot_dec_arr = np.zeros(0, dtype=np.int64)
        self._slot_key = np.zeros(0, dtype=np.int64)
        self._slot_succ = np.zeros(0, dtype=np.int64)
        self._pending: dict[Key, tuple[int, int]] = {}
        self._pos_cache: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ helpers
    def flat(self, obs: np.ndarray) -> np.ndarray:
        """Flat indices of observation rows ``(B, d)``."""
        return flat_obs_index(obs, self.obs_nvec)

    def start_batch(self, n_slots: int) -> None:
        """Per-slot pending storage for ``n_slots`` parallel episodes."""
        self._slot_obs = np.zeros(n_slots, dtype=np.int64)
        self._slot_col = np.full(n_slots, -1, dtype=np.int64)
        self._slot_arr = np.full(n_slots, -1, dtype=np.int64)
        self._slot_dec_arr = np.full(n_slots, -1, dtype=np.int64)
        self._slot_key = np.full(n_slots, -1, dtype=np.int64)
        self._slot_succ = np.full(n_slots, -1, dtype=np.int64)

    def new_tasks(self, slots: np.ndarray) -> None:
        """A new task starts in ``slots`` (this agent has not been handed it yet)."""
        self._slot_arr[slots] = -1

    # ------------------------------------------------------------------ acting
    def decide_batch(
        self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool = False
    ) -> np.ndarray:
        """Successors for ``slots`` (``greedy``: argmax of ``Q``, nothing remembered)."""
        o = self.flat(obs)
        if greedy:
            return np.asarray(self.candidates, dtype=np.int64)[masked_argmax(self.Q[o], mask)]
        cols = self._explore_cols(o, mask)
        eps = self.epsilon_now()
        if eps > 0:
            explore = self.rng.random(len(o)) < eps
            rnd = np.argmax(self.rng.random(mask.shape) * mask, axis=1)
            cols = np.where(explore, rnd, cols)
        self.decisions += len(slots)
        self._slot_obs[slots] = o
        self._slot_col[slots] = cols
        self._slot_dec_arr[slots] = self._slot_arr[slots]
        return np.asarray(self.candidates, dtype=np.int64)[cols]

    def _explore_cols(self, o: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Behaviour columns at flat observations ``o`` (warmup, Thompson, Boltzmann or ``U``)."""
        if self.decisions < self.cfg.warmup:
            return np.argmax(self.rng.random(mask.shape) * mask, axis=1)
        if self.cfg.thompson > 0:
            # posterior-style sampling around the exploit values; untried pairs first
            x = self.Q[o] + self.cfg.thompson * self.SE[o] * self.rng.standard_normal((len(o), self.n_act))
            x = np.where(self.N[o] == 0, self.cfg.v_max + 1.0 + self.rng.random(x.shape), x)
            return np.argmax(np.where(mask, x, -np.inf), axis=1)
        if self.cfg.temperature > 0:
            return self._boltzmann(o, mask)
        u = np.where(mask, self.U[o], -np.inf)
        noise = self.rng.random(u.shape) * 1e-9  # random tie-break among equal values
        return np.argmax(u + noise, axis=1)

    def _boltzmann(self, o: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = self.Q[o]
        if self.cfg.bonus > 0:
            # local count bonus from own visit counts (untried successors first)
            x = x + self.cfg.bonus / np.sqrt(self.N[o] + 1.0)
        z = np.where(mask, x / self.cfg.temperature, -np.inf)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        r = self.rng.random((len(o), 1))
        return np.minimum((np.cumsum(p, axis=1) < r).sum(axis=1), mask.shape[1] - 1)

    def epsilon_now(self) -> float:
        """Current exploration rate (decays with this agent's own decision count)."""
        c = self.cfg
        if c.epsilon_half <= 0:
            return c.epsilon
        return max(c.epsilon_min, c.epsilon * 0.5 ** (self.decisions / c.epsilon_half))

    def greedy_cols(self) -> np.ndarray:
        """Greedy (exploit) column at every observation, ``(n_obs,)``."""
        return np.argmax(self.Q, axis=1)

    # ------------------------------------------------------------------ messages
    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The scalar sent back on arrival: ``max_k Q(o', k)`` (exploit values)."""
        return masked_max(self.Q[self.flat(obs)], mask)

    def arrive_batch(
        self, slots: np.ndarray, keys: np.ndarray, obs: np.ndarray, tau: np.ndarray, R: np.ndarray
    ) -> None:
        """Remember own arrival observations of handoffs ``keys`` (for replay)."""
        start = self.arr.n
        self.arr.append(key=keys, obs=self.flat(obs), tau=tau, R=R, dec=np.full(len(keys), -1))
        self._slot_arr[slots] = np.arange(start, start + len(keys))

    def tag_handoffs(self, slots: np.ndarray, keys: np.ndarray, succ: np.ndarray) -> None:
        """Protocol metadata of the pending decisions of ``slots``: each handoff's id (both
        parties know it) and who replied (``-1``: the episode ended, ``v = 0``)."""
        self._slot_key[slots] = keys
        self._slot_succ[slots] = succ

    def receive_batch(
        self, slots: np.ndarray, messages: MessageBatch, own_view: Any | None = None
    ) -> None:
        """IC-Q regression data from the replies to the pending decisions of ``slots``.

        Stores each handoff (for replay, with the ids from :meth:`tag_handoffs`) and takes the
        online IC-Q step when ``cfg.online`` (or without replay).
        """
        o, c = self._slot_obs[slots], self._slot_col[slots]
        y = messages.reward + np.power(self.gamma, messages.duration) * messages.value
        np.add.at(self.N, (o, c), 1)
        if self.cfg.online or not self.cfg.replay:
            self._online_step(o, c, y)
        keys, succ = self._slot_key[slots], self._slot_succ[slots]
        arr = self._slot_dec_arr[slots]
        start = self.dec.n
        self.dec.append(
            key=keys, obs=o, col=c, succ=succ, tau=messages.duration, R=messages.reward, arr=arr
        )
        has = arr >= 0
        self.arr.arr["dec"][arr[has]] = np.arange(start, start + len(keys))[has]
        for name in ("Q", "U"):
            self._y[name] = np.concatenate([self._y.get(name, np.zeros(0)), y])
        self._slot_col[slots] = -1

    def _online_step(self, o: np.ndarray, c: np.ndarray, y: np.ndarray) -> None:
        """One IC-Q step of ``Q(o, c)`` towards ``y`` (step ``1 / n ** power``; duplicates in
        a batch take the sequentially-equivalent mean step)."""
        alpha = 1.0 / np.maximum(self.N[o, c], 1) ** self.cfg.step_power
        flat = o * self.n_act + c
        uniq, inv, cnt = np.unique(flat, return_inverse=True, return_counts=True)
        mt = np.bincount(inv, weights=y, minlength=len(uniq)) / cnt
        ma = np.bincount(inv, weights=alpha, minlength=len(uniq)) / cnt
        step = 1.0 - np.power(1.0 - np.clip(ma, 0, 1), cnt)
        q = self.Q.reshape(-1)
        q[uniq] += step * (mt - q[uniq])

    # ------------------------------------------------------------------ scalar protocol
    def decide(self, obs: Sequence[int], admissible: Sequence[int], key: Key = None) -> int:
        """Choose a successor at ``obs`` (same behaviour as the batch form); remember it."""
        if key in self._pending:
            raise RuntimeError(f"agent {self.agent_id} already has a pending decision under key {key!r}")
        o = self.flat(np.asarray([obs]))
        col = int(self._explore_cols(o, self._mask(admissible)[None, :])[0])
        self.decisions += 1
        self._pending[key] = (int(o[0]), col)
        return self.candidates[col]

    def greedy_successor(self, obs: Sequence[int], admissible: Sequence[int]) -> int:
        """The greedy admissible successor at ``obs``."""
        o = self.flat(np.asarray([obs]))
        return self.candidates[int(masked_argmax(self.Q[o], self._mask(admissible)[None, :])[0])]

    def value(self, obs: Sequence[int], admissible: Sequence[int]) -> float:
        """``max_k Q(o, k)`` over ``admissible``."""
        return float(self.value_batch(np.asarray([obs]), self._mask(admissible)[None, :])[0])

    def receive(
        self, message: HandoffMessage, key: Key = None, own_view: Any | None = None
    ) -> float:
        """Online IC-Q step of the decision ``key`` (scalar path: nothing stored for replay)."""
        try:
            o, c = self._pending.pop(key)
        except KeyError:
            raise RuntimeError(f"agent {self.agent_id} has no pending decision under key {key!r}") from None
        y = message.reward + self.gamma**message.duration * message.value
        td = float(y - self.Q[o, c])
        self.N[o, c] += 1
        self._online_step(np.array([o]), np.array([c]), np.array([y]))
        return td

    def forget(self, keys: Sequence[Key] | None = None) -> int:
        """Drop pending decisions (all, or those in ``keys``, and all batch slots with None)."""
        if keys is None:
            n = len(self._pending) + int((self._slot_col >= 0).sum())
            self._pending.clear()
            self._slot_col[:] = -1
            return n
        return sum(self._pending.pop(k, None) is not None for k in keys)

    def decide_local(self, obs: Sequence[int], key: Key = None) -> int:
        """Pre-configured agent: no local actions."""
        raise RuntimeError(f"agent {self.agent_id} has no local actions")

    def greedy_local(self, obs: Sequence[int]) -> int:
        """Pre-configured agent: no local actions."""
        raise RuntimeError(f"agent {self.agent_id} has no local actions")

    def after_local(
        self, reward: float, post_obs: Sequence[int] | None, admissible: Sequence[int], key: Key = None
    ) -> float:
        """Pre-configured agent: no local actions."""
        raise RuntimeError(f"agent {self.agent_id} has no local actions")

    def decide_local_batch(self, slots: np.ndarray, obs: np.ndarray, greedy: bool = False) -> np.ndarray:
        """Pre-configured agent: no local actions."""
        raise RuntimeError(f"agent {self.agent_id} has no local actions")

    def after_local_batch(
        self,
        slots: np.ndarray,
        rewards: np.ndarray,
        post_obs: np.ndarray,
        post_mask: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Pre-configured agent: no local actions."""
        raise RuntimeError(f"agent {self.agent_id} has no local actions")

    def state_dict(self) -> dict[str, Any]:
        """This agent's own state: tables, counts, decision count, generator (records are
        not checkpointed: a restored agent replays from new data)."""
        return {"agent_id": self.agent_id, "Q": self.Q.copy(), "U": self.U.copy(), "N": self.N.copy(),
                "SE": self.SE.copy(), "decisions": self.decisions, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self._check_owner(state, "state")
        for name in ("Q", "U", "N", "SE"):
            setattr(self, name, np.array(state[name]))
        self.decisions = int(state["decisions"])
        self.rng.bit_generator.state = state["rng"]

    # ------------------------------------------------------------------ replay
    def table(self, which: str) -> np.ndarray:
        """The table named ``which`` (``Q``, ``U``, ``QA``, ``QB``)."""
        return getattr(self, which)

    def revalue(self, pred: int, keys: np.ndarray, which: str) -> MessageBatch:
        """Replay reply: ``(v, tau, R)`` per stored handoff ``keys`` from ``pred``.

        ``v`` is re-evaluated on this agent's own stored arrival observation.
        """
        cache = self._pos_cache.get(pred)
        done = 0 if cache is None else len(cache)
        if done < len(keys):
            new = np.searchsorted(self.arr["key"], keys[done:])
            cache = new if cache is None else np.concatenate([cache, new])
            self._pos_cache[pred] = cache
        assert cache is not None
        pos = cache[: len(keys)]
        o = self.arr["obs"][pos]
        if which == "D":  # double estimation: select with one half, evaluate with the other
            ka = np.argmax(self.QA[o], axis=1)
            kb = np.argmax(self.QB[o], axis=1)
            v = 0.5 * (self.QB[o, ka] + self.QA[o, kb])
        else:
            tab = self.table(which)[o]
            v = tab.max(axis=1)
            lam = self.cfg.trace if which in ("Q", "U") else 0.0
            if lam > 0:
                # traced value: where this agent's own stored choice after that arrival is
                # still its greedy choice, send its own latest target for that choice
                d = self.arr["dec"][pos]
                has = d >= 0
                dd = d[has]
                chosen = tab[has, self.dec["col"][dd]]
                greedy = chosen >= v[has] - 1e-12
                idx = np.flatnonzero(has)[greedy]
                v[idx] = (1 - lam) * v[idx] + lam * self._y[which][dd[greedy]]
        return MessageBatch(v, self.arr["tau"][pos], self.arr["R"][pos])

    def keys_by_successor(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(successor, keys, rows)`` of this agent's stored handoffs (successor -1: ended)."""
        succ = self.dec["succ"]
        out = []
        for j in np.unique(succ):
            rows = np.flatnonzero(succ == j)
            out.append((int(j), self.dec["key"][rows], rows))
        return out

    def refit(self, which: str, replies: dict[int, tuple[np.ndarray, MessageBatch]]) -> float:
        """Regress table ``which`` on the replayed targets; returns the largest change.

        ``replies[j] = (rows, MessageBatch)`` for each successor ``j`` (``-1``: ended, v=0).
        """
        n = self.dec.n
        y = np.empty(n)
        for rows, msg in replies.values():
            y[rows] = msg.reward + np.power(self.gamma, msg.duration) * msg.value
        if which in ("Q", "U"):
            self._y[which] = y
        o, c = self.dec["obs"], self.dec["col"]
        flat = o * self.n_act + c
        size = self.n_obs * self.n_act
        w = np.ones(n)
        if self.cfg.recency > 0 and n:
            half_life = max(self.cfg.recency * n, 1.0)
            w = np.power(0.5, (n - 1 - np.arange(n)) / half_life)
        if which in ("QA", "QB"):
            half = (self.dec["key"] & 1) == (0 if which == "QA" else 1)
            flat, y, w = flat[half], y[half], w[half]
        cnt = np.bincount(flat, minlength=size).reshape(self.n_obs, self.n_act)
        wsum = np.bincount(flat, weights=w, minlength=size).reshape(self.n_obs, self.n_act)
        tot = np.bincount(flat, weights=w * y, minlength=size).reshape(self.n_obs, self.n_act)
        seen = cnt > 0
        mean = np.where(seen, tot / np.where(wsum > 0, wsum, 1.0), 0.0)
        if which == "Q":
            sq = np.bincount(flat, weights=w * y * y, minlength=size).reshape(self.n_obs, self.n_act)
            var = np.maximum(np.where(seen, sq / np.where(wsum > 0, wsum, 1.0), 0.0) - mean**2, 0.0)
            # effective sample size of the weighted mean
            w2 = np.bincount(flat, weights=w * w, minlength=size).reshape(self.n_obs, self.n_act)
            n_eff = np.where(w2 > 0, wsum**2 / np.where(w2 > 0, w2, 1.0), 1.0)
            se = np.sqrt((var + 0.25 / (n_eff + 1.0)) / n_eff)  # (prior keeps n=1 honest)
            self.SE = np.where(seen, se, 0.5)
            if self.cfg.pessimism > 0:
                mean = np.where(seen, mean - self.cfg.pessimism * se, 0.0)
        old = self.table(which).copy()
        if which == "U":
            bonus = self.cfg.bonus / np.sqrt(np.maximum(cnt, 1))
            new = np.where(
                seen, np.minimum(mean + bonus, self.cfg.v_max),
                self.cfg.v_max if self.cfg.optimistic else 0.0,
            )
        elif which == "Q" and self.mlp is not None:
            new = self._fit_mlp(mean, cnt)
        else:
            new = np.where(seen, mean, 0.0)
        setattr(self, which, new)
        return float(np.max(np.abs(new - old))) if new.size else 0.0

    def _fit_mlp(self, mean: np.ndarray, cnt: np.ndarray) -> np.ndarray:
        """A few optimiser steps of the MLP on its own mean targets; returns its outputs."""
        est = self.mlp
        assert est is not None
        obs_seen = np.flatnonzero(cnt.sum(axis=1) > 0)
        if len(obs_seen) == 0:
            return self.Q
        rows = np.array(np.unravel_index(obs_seen, self.obs_nvec)).T
        o_rep = np.repeat(np.arange(len(obs_seen)), self.n_act)
        a_rep = np.tile(np.arange(self.n_act), len(obs_seen))
        tgt = mean[obs_seen].reshape(-1)
        w = cnt[obs_seen].reshape(-1).astype(float)
        # untried successors at a visited observation: regressed to 0 with a small weight
        w = np.where(w > 0, w, 1.0)
        w = w / w.sum()
        for _ in range(self.mlp_steps):
            est.fit_weighted(rows[o_rep], a_rep, tgt, w)
        # the MLP's outputs replace the exploit table (never-visited observations keep 0)
        all_rows = np.array(np.unravel_index(np.arange(self.n_obs), self.obs_nvec)).T
        out = est.values_batch(all_rows).astype(float)
        return np.where(cnt.sum(axis=1, keepdims=True) > 0, out, 0.0)

