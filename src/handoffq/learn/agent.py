"""The IC-Q agent (paper Algorithm 1): successor Q over its own observations.

An :class:`ICQAgent` holds its own estimator, its own random generator and its own pending
decisions, keyed so that many episodes or tasks can be in flight through it at once. It is
called with its *own* observation only and learns from nothing but the
:class:`~handoffq.core.messages.HandoffMessage` its successor sends back (it implements
:class:`~handoffq.core.agent.HandoffAgent`):

* ``decide(o, admissible, key)`` picks a successor ``k`` (exploring over admissible ones
  only) and remembers ``(o, k)`` under ``key``;
* ``value(o', admissible)`` is what the agent sends back when it becomes active:
  ``max_k' Q(o', k')`` (or ``max_a Qa(o', a)`` for an adaptable agent; eq. 4);
* ``receive(msg, key)`` regresses that ``Q(o, k)`` on ``R + gamma**tau * v`` (eq. 5).

Adaptable agents (``n_local > 0``, paper section 3) also learn ``Qa(o, a)`` for local actions,
regressed on ``r + gamma * max_k Q(o', k)`` at the post-action observation - inside the agent,
no message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from handoffq.core.agent import Key, OwnView
from handoffq.core.channel import MessageBatch
from handoffq.core.env import flat_obs_index, obs_size
from handoffq.core.messages import HandoffMessage
from handoffq.learn.estimators import Estimator, TabularEstimator
from handoffq.learn.exploration import (
    Exploration,
    choose,
    choose_batch,
    greedy,
    masked_argmax,
    masked_max,
)
from handoffq.learn.schedules import StepSize
from handoffq.learn.targets import NonFiniteQError, finite_target, finite_targets, td_target_batch

__all__ = ["AgentBase", "ICQAgent", "VisitCounter"]

_DENSE_VISITS = 4_000_000  # (observation, action) pairs above which visits live in a dict


class VisitCounter:
    """Visits per ``(observation, action)`` pair (the ``"visits"`` step-size schedule).

    A dense array when the pair space is small, a dict otherwise; the scalar and the batch
    updates of an agent count in the same store.
    """

    def __init__(self, obs_nvec: Sequence[int], n_actions: int) -> None:
        self.obs_nvec = tuple(int(n) for n in obs_nvec)
        self.n_actions = int(n_actions)
        n_pairs = obs_size(self.obs_nvec) * self.n_actions
        self.counts: np.ndarray | None = np.zeros(n_pairs, dtype=np.int64) if n_pairs <= _DENSE_VISITS else None
        self.sparse: dict[tuple[int, ...], int] = {}

    def add(self, obs: np.ndarray, cols: np.ndarray, by: int = 1) -> np.ndarray:
        """Count one visit of each ``(obs[r], cols[r])``; return the counts after counting.

        Duplicate pairs in one call all see the count after the whole batch. ``by=-1`` takes
        back the visits of an update that was refused.
        """
        obs = np.asarray(obs, dtype=np.int64).reshape(len(cols), -1)
        cols = np.asarray(cols, dtype=np.int64)
        if self.counts is not None:
            flat = flat_obs_index(obs, self.obs_nvec) * self.n_actions + cols
            if self.counts.size <= max(4 * len(flat), 4096):  # O(batch + table), no scatter-add
                added = np.bincount(flat, minlength=self.counts.size)
                self.counts += added if by == 1 else by * added
            else:
                np.add.at(self.counts, flat, by)
            return self.counts[flat]
        keys = [(*row, c) for row, c in zip(obs.tolist(), cols.tolist())]
        for k in keys:
            self.sparse[k] = self.sparse.get(k, 0) + by
        return np.fromiter((self.sparse[k] for k in keys), dtype=np.int64, count=len(keys))

    def state_dict(self) -> dict[str, Any]:
        """The counts."""
        return {"counts": None if self.counts is None else self.counts.copy(), "sparse": dict(self.sparse)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the counts."""
        if self.counts is not None and state.get("counts") is not None:
            self.counts[...] = state["counts"]
        self.sparse = dict(state.get("sparse", {}))


class _Slots:
    """Pending decisions of batch slots: the observation row and action column per slot."""

    def __init__(self, n_slots: int, obs_dim: int) -> None:
        self.obs = np.zeros((n_slots, obs_dim), dtype=np.int64)
        self.col = np.full(n_slots, -1, dtype=np.int64)

    def put(self, slots: np.ndarray, obs: np.ndarray, cols: np.ndarray) -> None:
        self.obs[slots] = obs
        self.col[slots] = cols

    def peek(self, slots: np.ndarray, agent_id: int) -> tuple[np.ndarray, np.ndarray]:
        cols = self.col[slots]
        if np.any(cols < 0):
            bad = np.asarray(slots)[cols < 0][:5].tolist()
            raise RuntimeError(f"agent {agent_id} received replies for slots with no pending decision: {bad}")
        return self.obs[slots], cols

    def clear(self, slots: np.ndarray) -> None:
        self.col[slots] = -1

    def take(self, slots: np.ndarray, agent_id: int) -> tuple[np.ndarray, np.ndarray]:
        obs, cols = self.peek(slots, agent_id)
        self.col[slots] = -1
        return obs, cols


class AgentBase:
    """What every learning agent of this package holds: its index, its observation sizes,
    its candidate successors (action columns, in order), the discount, its private generator
    and its decision count; and the column look-ups over its candidates.
    """

    n_local = 0
    wants_own_view = False

    def __init__(
        self, agent_id: int, obs_nvec: Sequence[int], candidates: Sequence[int], gamma: float, seed: int = 0
    ) -> None:
        if not candidates:
            raise ValueError(f"agent {agent_id} has no candidate successors")
        self.agent_id = int(agent_id)
        self.obs_nvec = tuple(int(n) for n in obs_nvec)
        self.candidates = tuple(int(c) for c in candidates)
        self._col = {c: i for i, c in enumerate(self.candidates)}
        self.gamma = float(gamma)
        self.rng = np.random.default_rng(seed)
        self.decisions = 0

    def columns(self, successors: Sequence[int]) -> np.ndarray:
        """Action columns of the given successor ids."""
        try:
            return np.fromiter((self._col[int(s)] for s in successors), dtype=np.int64)
        except KeyError as exc:
            raise ValueError(
                f"agent {self.agent_id}: successor {exc.args[0]} is not one of its candidates {list(self.candidates)}"
            ) from None

    def _mask(self, admissible: Sequence[int]) -> np.ndarray:
        """Boolean row over the candidate columns: True at the ``admissible`` successors."""
        mask = np.zeros(len(self.candidates), dtype=bool)
        mask[self.columns(admissible)] = True
        return mask

    def _check_owner(self, state: dict[str, Any], what: str) -> None:
        """Refuse a ``state`` saved by another agent (``what``: the word for it in the error)."""
        if state["agent_id"] != self.agent_id:
            raise ValueError(f"{what} of agent {state['agent_id']} loaded into agent {self.agent_id}")


class ICQAgent(AgentBase):
    """One IC-Q agent.

    Args:
        agent_id: this agent's index.
        obs_nvec: sizes of its observation dimensions.
        candidates: every successor it may ever pick (its action set, in order).
        gamma: primitive discount.
        estimator: successor-Q estimator (default: a zero-initialised table).
        exploration: exploration rule over admissible successors.
        schedule: step-size schedule.
        seed: seeds the agent's private generator.
        n_local: number of local actions (0: pre-configured agent).
        local_estimator: ``Qa`` estimator for an adaptable agent (default: a table).
        local_exploration: exploration over local actions (default: ``exploration``).
    """

    def __init__(
        self,
        agent_id: int,
        obs_nvec: Sequence[int],
        candidates: Sequence[int],
        gamma: float,
        estimator: Estimator | None = None,
        exploration: Exploration | None = None,
        schedule: StepSize | None = None,
        seed: int = 0,
        n_local: int = 0,
        local_estimator: Estimator | None = None,
        local_exploration: Exploration | None = None,
    ) -> None:
        super().__init__(agent_id, obs_nvec, candidates, gamma, seed)
        self._cand = np.asarray(self.candidates, dtype=np.int64)
        self.q: Estimator = estimator or TabularEstimator(self.obs_nvec, len(self.candidates))
        self.exploration = exploration or Exploration()
        self.schedule = schedule or StepSize()
        self.n_local = int(n_local)
        self.qa: Estimator | None = local_estimator
        if self.n_local and self.qa is None:
            self.qa = TabularEstimator(self.obs_nvec, self.n_local)
        self.local_exploration = local_exploration or self.exploration
        self.t = 0  # updates of Q
        self.t_local = 0
        self.visits = VisitCounter(self.obs_nvec, len(self.candidates))
        self.local_visits = VisitCounter(self.obs_nvec, max(self.n_local, 1))
        self._pending: dict[Key, tuple[tuple[int, ...], int]] = {}
        self._pending_local: dict[Key, tuple[tuple[int, ...], int]] = {}
        self._slots: _Slots | None = None
        self._local_slots: _Slots | None = None

    # ------------------------------------------------------------------ helpers
    def _local_q(self) -> Estimator:
        if self.qa is None:
            raise RuntimeError(f"agent {self.agent_id} is pre-configured: it has no local actions")
        return self.qa

    def _local_values(self, obs: np.ndarray) -> np.ndarray:
        """``Qa`` of this agent's own local actions (an estimator shared by a centralised
        baseline may have more outputs than this agent has actions)."""
        return self._local_q().values_batch(obs)[:, : self.n_local]

    def _steps(self, obs: np.ndarray, cols: np.ndarray, local: bool = False) -> np.ndarray:
        """Step sizes of a batch of ``(obs, col)`` updates (counting the visits they make)."""
        counter = self.local_visits if local else self.visits
        visits = counter.add(obs, cols)
        t = self.t_local if local else self.t
        return self.schedule(t + np.arange(len(cols)), visits)

    def _regress(self, obs: Sequence[int], col: int, y: float, local: bool = False) -> float:
        """One update of ``Q`` (or ``Qa``) at ``(obs, col)`` towards the finite target ``y``;
        if the estimator refuses it (:class:`NonFiniteQError`) the visit is taken back."""
        est = self._local_q() if local else self.q
        o, c = np.asarray([obs]), np.asarray([col])
        alpha = float(self._steps(o, c, local)[0])
        try:
            return est.update(obs, col, y, alpha)
        except NonFiniteQError:
            (self.local_visits if local else self.visits).add(o, c, by=-1)
            raise

    def _regress_batch(self, obs: np.ndarray, cols: np.ndarray, y: np.ndarray, local: bool = False) -> None:
        """Batched :meth:`_regress` (the visits taken back if the estimator refuses)."""
        est = self._local_q() if local else self.q
        try:
            est.update_batch(obs, cols, y, self._steps(obs, cols, local))
        except NonFiniteQError:
            (self.local_visits if local else self.visits).add(obs, cols, by=-1)
            raise

    def _bootstrap(self, values: np.ndarray, own_view: OwnView | None) -> np.ndarray:
        """The ``v`` of the targets: the successors' values (overridden by naive baselines)."""
        return values

    # ------------------------------------------------------------ successor Q
    def decide(self, obs: Sequence[int], admissible: Sequence[int], key: Key = None) -> int:
        """Choose a successor (exploring over ``admissible`` only); remember ``(obs, k)``."""
        if key in self._pending:
            raise RuntimeError(
                f"agent {self.agent_id} already has a pending decision under key {key!r} "
                "(pass a distinct key per task/handoff)"
            )
        col = self._choose(tuple(obs), admissible)
        self.decisions += 1
        self._pending[key] = (tuple(int(o) for o in obs), col)
        return self.candidates[col]

    def _choose(self, obs: tuple[int, ...], admissible: Sequence[int]) -> int:
        """The column to play at ``obs`` (exploring); subclasses may fix it."""
        return choose(self.q.values(obs), self.columns(admissible), self.exploration, self.decisions, self.rng)

    def greedy_successor(self, obs: Sequence[int], admissible: Sequence[int]) -> int:
        """The greedy successor at ``obs`` (no exploration, no state change)."""
        return self.candidates[greedy(self.q.values(obs), self.columns(admissible))]

    def value(self, obs: Sequence[int], admissible: Sequence[int]) -> float:
        """The scalar this agent sends back when it becomes active at ``obs``."""
        if self.n_local:
            return float(np.max(self._local_values(np.asarray([obs]))[0]))
        return float(np.max(self.q.values(obs)[self.columns(admissible)]))

    def receive(
        self,
        message: HandoffMessage,
        key: Key = None,
        own_view: tuple[Sequence[int], Sequence[int]] | None = None,
    ) -> float:
        """Regress the pending ``Q(o, k)`` of ``key`` on ``R + gamma**tau * v``; return the TD error."""
        if not isinstance(message, HandoffMessage):
            raise TypeError(f"agent {self.agent_id} accepts only HandoffMessage replies, got {type(message)}")
        if key not in self._pending:
            raise RuntimeError(
                f"agent {self.agent_id} received a message with no pending handoff (key {key!r})"
            )
        obs, col = self._pending[key]
        view = None
        if own_view is not None:
            view = OwnView(
                np.asarray([own_view[0]], dtype=np.int64),
                self._mask(own_view[1])[None, :],
                np.ones(1, dtype=bool),
            )
        v = float(self._bootstrap(np.asarray([message.value]), view)[0])
        y = finite_target(message.reward, message.duration, v, self.gamma, f"agent {self.agent_id}")
        err = self._regress(obs, col, y)  # NonFiniteQError: nothing changed, the decision still waits
        del self._pending[key]
        self.t += 1
        return err

    # ---------------------------------------------------------- local actions
    def decide_local(self, obs: Sequence[int], key: Key = None) -> int:
        """Choose a local action (adaptable agents); remember ``(obs, a)`` under ``key``."""
        q = self._local_values(np.asarray([obs]))[0]
        if key in self._pending_local:
            raise RuntimeError(f"agent {self.agent_id} already has a pending local action under key {key!r}")
        a = choose(q, np.arange(self.n_local), self.local_exploration, self.t_local, self.rng)
        self._pending_local[key] = (tuple(int(o) for o in obs), a)
        return a

    def greedy_local(self, obs: Sequence[int]) -> int:
        """Greedy local action at ``obs``."""
        return int(np.argmax(self._local_values(np.asarray([obs]))[0]))

    def after_local(
        self, reward: float, post_obs: Sequence[int] | None, admissible: Sequence[int], key: Key = None
    ) -> float:
        """Regress ``Qa(o, a)`` on ``r + gamma * max_k Q(o', k)`` (``post_obs=None``: ended)."""
        self._local_q()
        if key not in self._pending_local:
            raise RuntimeError(f"agent {self.agent_id} has no pending local action (key {key!r})")
        obs, a = self._pending_local[key]
        boot = 0.0
        if post_obs is not None:
            boot = float(np.max(self.q.values(post_obs)[self.columns(admissible)]))
        y = finite_target(reward, 1, boot, self.gamma, f"agent {self.agent_id} (local action)")
        err = self._regress(obs, a, y, local=True)
        del self._pending_local[key]
        self.t_local += 1
        return err

    def forget(self, keys: Sequence[Key] | None = None) -> int:
        """Drop pending scalar decisions (all, or those in ``keys``) and, with ``keys=None``,
        every pending batch slot; return how many decisions were dropped."""
        if keys is None:
            n = len(self._pending) + len(self._pending_local)
            self._pending.clear()
            self._pending_local.clear()
            for store in (self._slots, self._local_slots):
                if store is not None:
                    n += int((store.col >= 0).sum())
                    store.col[:] = -1
            return n
        n = 0
        for k in keys:
            n += (self._pending.pop(k, None) is not None) + (self._pending_local.pop(k, None) is not None)
        return n

    def pending_decisions(self) -> list[tuple[Key, tuple[int, ...], int]]:
        """The scalar-key decisions waiting for a reply, as ``(key, observation, successor)``
        (what a service saves beside its state so that a restart keeps them)."""
        return [(k, obs, self.candidates[col]) for k, (obs, col) in self._pending.items()]

    def restore_pending(self, entries: Sequence[tuple[Key, Sequence[Any], int]]) -> None:
        """Re-install decisions saved with :meth:`pending_decisions` (counters untouched)."""
        for key, obs, successor in entries:
            self._pending[key] = (tuple(obs), int(self.columns([successor])[0]))

    def forget_slots(self, slots: np.ndarray) -> int:
        """Drop the pending decisions of batch ``slots`` (episodes that were abandoned)."""
        n = 0
        for store in (self._slots, self._local_slots):
            if store is not None:
                n += int((store.col[slots] >= 0).sum())
                store.col[slots] = -1
        return n

    def has_pending_batch(self, slots: np.ndarray, local: bool = False) -> np.ndarray:
        """Which batch ``slots`` hold a pending (local) decision."""
        store = self._local_slots if local else self._slots
        if store is None:
            return np.zeros(len(slots), dtype=bool)
        return store.col[slots] >= 0

    def pending_count(self) -> int:
        """Decisions waiting for a reply (scalar keys and batch slots)."""
        n = len(self._pending) + len(self._pending_local)
        for store in (self._slots, self._local_slots):
            if store is not None:
                n += int((store.col >= 0).sum())
        return n

    # ------------------------------------------------------------ batched mode
    def start_batch(self, n_slots: int) -> None:
        """Prepare per-slot pending storage for ``n_slots`` slots."""
        self._slots = _Slots(n_slots, len(self.obs_nvec))
        self._local_slots = _Slots(n_slots, len(self.obs_nvec)) if self.n_local else None

    def _slot_store(self, local: bool = False) -> _Slots:
        store = self._local_slots if local else self._slots
        if store is None:
            raise RuntimeError(f"agent {self.agent_id}: call start_batch(n_slots) before batch calls")
        return store

    def decide_batch(
        self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool = False
    ) -> np.ndarray:
        """Choose successors for a batch of episodes; ``mask`` is ``(B, n_candidates)``."""
        cols = self._choose_batch(obs, mask, greedy)
        if not greedy:
            self.decisions += len(slots)
            self._slot_store().put(slots, obs, cols)
        return self._cand[cols]

    def _choose_batch(self, obs: np.ndarray, mask: np.ndarray, greedy: bool) -> np.ndarray:
        """Columns to play for a batch (subclasses may fix them)."""
        if greedy:
            return masked_argmax(self.q.values_batch(obs), mask)
        q = None if self.exploration.uniform_at(self.decisions) else self.q.values_batch(obs)  # uniform: no Q read
        return choose_batch(q, mask, self.exploration, self.decisions, self.rng)

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Batched :meth:`value`."""
        if self.n_local:
            return self._local_values(obs).max(axis=1)
        return masked_max(self.q.values_batch(obs), mask)

    def receive_batch(self, slots: np.ndarray, messages: MessageBatch, own_view: OwnView | None = None) -> None:
        """Batched :meth:`receive` for the pending decisions of ``slots``."""
        if not isinstance(messages, MessageBatch):
            raise TypeError(f"agent {self.agent_id} accepts only MessageBatch replies, got {type(messages)}")
        store = self._slot_store()
        obs, cols = store.peek(slots, self.agent_id)
        v = self._bootstrap(messages.value, own_view)
        y = finite_targets(td_target_batch(messages.reward, messages.duration, v, self.gamma), f"agent {self.agent_id}")
        self._regress_batch(obs, cols, y)
        store.clear(slots)
        self.t += len(slots)

    def decide_local_batch(self, slots: np.ndarray, obs: np.ndarray, greedy: bool = False) -> np.ndarray:
        """Local actions for ``slots`` (remembered for :meth:`after_local_batch` unless greedy)."""
        q = self._local_values(obs)
        if greedy:
            return np.argmax(q, axis=1)
        mask = np.ones_like(q, dtype=bool)
        acts = choose_batch(q, mask, self.local_exploration, self.t_local, self.rng)
        self._slot_store(local=True).put(slots, obs, acts)
        return acts

    def after_local_batch(
        self,
        slots: np.ndarray,
        rewards: np.ndarray,
        post_obs: np.ndarray,
        post_mask: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Batched :meth:`after_local`."""
        self._local_q()
        store = self._slot_store(local=True)
        obs, acts = store.peek(slots, self.agent_id)
        boot = masked_max(self.q.values_batch(post_obs), post_mask)
        boot = np.where(np.asarray(terminated, dtype=bool), 0.0, boot)
        with np.errstate(over="ignore", invalid="ignore"):
            y = np.asarray(rewards, dtype=float) + self.gamma * boot
        self._regress_batch(obs, acts, finite_targets(y, f"agent {self.agent_id} (local actions)"), local=True)
        store.clear(slots)
        self.t_local += len(slots)

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """This agent's own state (estimators, counters, generator)."""
        return {
            "agent_id": self.agent_id,
            "q": self.q.state_dict(),
            "qa": self.qa.state_dict() if self.qa is not None else None,
            "t": self.t,
            "t_local": self.t_local,
            "decisions": self.decisions,
            "visits": self.visits.state_dict(),
            "local_visits": self.local_visits.state_dict(),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self._check_owner(state, "checkpoint")
        self.q.load_state_dict(state["q"])
        if self.qa is not None and state.get("qa") is not None:
            self.qa.load_state_dict(state["qa"])
        self.t, self.t_local, self.decisions = state["t"], state["t_local"], state["decisions"]
        self.visits.load_state_dict(state["visits"])
        self.local_visits.load_state_dict(state["local_visits"])
        self.rng.bit_generator.state = state["rng"]
