"""The IC-Q agent (paper Algorithm 1): successor Q over its own observations.

An :class:`ICQAgent` holds its own estimator, its own random generator and its own pending
decision. It is called by a runner with its *own* observation only, and it learns from
nothing but the :class:`~handoffq.core.messages.HandoffMessage` its successor sends back:

* ``decide(o, admissible)`` picks a successor ``k`` (exploring over admissible ones only)
  and remembers ``(o, k)``;
* ``value(o', admissible)`` is what the agent sends back when it becomes active:
  ``max_k' Q(o', k')`` (or ``max_a Qa(o', a)`` for an adaptable agent);
* ``receive(msg)`` regresses ``Q(o, k)`` on ``msg.reward + gamma**msg.duration * msg.value``.

Adaptable agents (``n_local > 0``) also learn ``Qa(o, a)`` for local actions, regressed on
``r + gamma * max_k Q(o', k)`` at the post-action observation (DESIGN.md section 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from handoffq.core.channel import MessageBatch
from handoffq.core.env import Obs
from handoffq.core.messages import HandoffMessage
from handoffq.learn.estimators import Estimator, TabularEstimator
from handoffq.learn.exploration import Exploration, choose, choose_batch, greedy
from handoffq.learn.schedules import StepSize, step_size
from handoffq.learn.targets import td_target, td_target_batch

__all__ = ["ICQAgent"]


class ICQAgent:
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

    bootstrap = "message"  # IC-Q bootstraps from the successor's value in the message

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
        if not candidates:
            raise ValueError(f"agent {agent_id} has no candidate successors")
        self.agent_id = int(agent_id)
        self.obs_nvec = tuple(obs_nvec)
        self.candidates = tuple(int(c) for c in candidates)
        self._col = {c: i for i, c in enumerate(self.candidates)}
        self.gamma = float(gamma)
        self.q = estimator or TabularEstimator(self.obs_nvec, len(self.candidates))
        self.exploration = exploration or Exploration()
        self.schedule = schedule or StepSize()
        self.rng = np.random.default_rng(seed)
        self.n_local = int(n_local)
        self.qa = local_estimator
        if self.n_local and self.qa is None:
            self.qa = TabularEstimator(self.obs_nvec, self.n_local)
        self.local_exploration = local_exploration or self.exploration
        self.t = 0  # updates of Q
        self.t_local = 0
        self.decisions = 0
        self._visits: dict[tuple[Any, int], int] = {}
        self._pending: tuple[Obs, int] | None = None
        self._pending_local: tuple[Obs, int] | None = None
        # batched mode: per-slot pending decisions (obs rows, action columns)
        self._slot_obs: np.ndarray | None = None
        self._slot_act: np.ndarray | None = None
        self._visit_arr: np.ndarray | None = None

    # ------------------------------------------------------------------ helpers
    def columns(self, successors: Sequence[int]) -> np.ndarray:
        """Action columns of the given successor ids."""
        return np.fromiter((self._col[s] for s in successors), dtype=np.int64)

    def _alpha(self, obs: Obs, col: int, local: bool = False) -> float:
        key = (("a",) + tuple(obs) if local else tuple(obs), col)
        n = self._visits.get(key, 0) + 1
        self._visits[key] = n
        return step_size(self.schedule, self.t_local if local else self.t, n)

    # ------------------------------------------------------------ successor Q
    def decide(self, obs: Obs, admissible: Sequence[int]) -> int:
        """Choose a successor (exploring over ``admissible`` only); remember ``(obs, k)``."""
        cols = self.columns(admissible)
        col = choose(self.q.values(obs), cols, self.exploration, self.decisions, self.rng)
        self.decisions += 1
        self._pending = (tuple(obs), col)
        return self.candidates[col]

    def greedy_successor(self, obs: Obs, admissible: Sequence[int]) -> int:
        """The greedy successor at ``obs`` (no exploration, no state change)."""
        return self.candidates[greedy(self.q.values(obs), self.columns(admissible))]

    def value(self, obs: Obs, admissible: Sequence[int]) -> float:
        """The scalar this agent sends back when it becomes active at ``obs``."""
        if self.n_local:
            return float(np.max(self.qa.values(obs)))
        return float(np.max(self.q.values(obs)[self.columns(admissible)]))

    def receive(self, message: HandoffMessage) -> float:
        """Regress the pending ``Q(o, k)`` on ``R + gamma**tau * v``; returns the TD error."""
        if self._pending is None:
            raise RuntimeError(f"agent {self.agent_id} received a message with no pending handoff")
        obs, col = self._pending
        self._pending = None
        y = td_target(message.reward, message.duration, message.value, self.gamma)
        err = self.q.update(obs, col, y, self._alpha(obs, col))
        self.t += 1
        return err

    # ---------------------------------------------------------- local actions
    def decide_local(self, obs: Obs) -> int:
        """Choose a local action (adaptable agents); remember ``(obs, a)``."""
        if not self.n_local:
            raise RuntimeError(f"agent {self.agent_id} is pre-configured: it has no local actions")
        allowed = np.arange(self.n_local)
        a = choose(self.qa.values(obs), allowed, self.local_exploration, self.t_local, self.rng)
        self._pending_local = (tuple(obs), a)
        return a

    def greedy_local(self, obs: Obs) -> int:
        """Greedy local action at ``obs``."""
        return int(np.argmax(self.qa.values(obs)))

    def after_local(
        self, reward: float, post_obs: Obs | None, admissible: Sequence[int]
    ) -> float:
        """Regress ``Qa(o, a)`` on ``r + gamma * max_k Q(o', k)`` (``post_obs=None``: ended)."""
        if self._pending_local is None:
            raise RuntimeError(f"agent {self.agent_id} has no pending local action")
        obs, a = self._pending_local
        self._pending_local = None
        boot = 0.0
        if post_obs is not None:
            boot = float(np.max(self.q.values(post_obs)[self.columns(admissible)]))
        err = self.qa.update(obs, a, reward + self.gamma * boot, self._alpha(obs, a, local=True))
        self.t_local += 1
        return err

    # ------------------------------------------------------------ batched mode
    def start_batch(self, n_slots: int) -> None:
        """Prepare per-slot pending storage for a batched runner with ``n_slots`` episodes."""
        self._slot_obs = np.zeros((n_slots, len(self.obs_nvec)), dtype=np.int64)
        self._slot_act = np.full(n_slots, -1, dtype=np.int64)
        if isinstance(self.q, TabularEstimator) and self.q.dense:
            self._visit_arr = np.zeros(self.q.table.size, dtype=np.int64)

    def decide_batch(self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Choose successors for a batch of episodes; ``mask`` is ``(B, n_candidates)``."""
        cols = choose_batch(self.q.values_batch(obs), mask, self.exploration, self.decisions, self.rng)
        self.decisions += len(slots)
        self._slot_obs[slots] = obs
        self._slot_act[slots] = cols
        return np.asarray(self.candidates, dtype=np.int64)[cols]

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Batched :meth:`value`."""
        q = self.q.values_batch(obs)
        return np.where(mask, q, -np.inf).max(axis=1)

    def receive_batch(self, slots: np.ndarray, messages: MessageBatch) -> None:
        """Batched :meth:`receive` for the pending decisions of ``slots``."""
        obs, cols = self._slot_obs[slots], self._slot_act[slots]
        y = td_target_batch(messages.reward, messages.duration, messages.value, self.gamma)
        n = len(slots)
        self.q.update_batch(obs, cols, y, self.batch_step_sizes(obs, cols))
        self.t += n
        self._slot_act[slots] = -1

    def batch_step_sizes(self, obs: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Step sizes for a batch of ``(obs, column)`` updates; counts the visits they make."""
        n = len(cols)
        if self._visit_arr is not None:
            flat = self.q.index_batch(obs) * self.q.n_actions + cols
            np.add.at(self._visit_arr, flat, 1)
            visits = self._visit_arr[flat]
        else:
            visits = np.full(n, self.t + 1)
        if self.schedule.kind == "visits":
            return self.schedule.a0 / np.maximum(visits, 1) ** self.schedule.power
        return np.full(n, step_size(self.schedule, self.t, 1))

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
            "visits": dict(self._visits),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        if state["agent_id"] != self.agent_id:
            raise ValueError(f"checkpoint of agent {state['agent_id']} loaded into agent {self.agent_id}")
        self.q.load_state_dict(state["q"])
        if self.qa is not None and state.get("qa") is not None:
            self.qa.load_state_dict(state["qa"])
        self.t, self.t_local, self.decisions = state["t"], state["t_local"], state["decisions"]
        self._visits = dict(state["visits"])
        self.rng.bit_generator.state = state["rng"]
