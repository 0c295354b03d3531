"""The agent protocol: what every runner, trainer and baseline calls on an agent.

An agent is called by a runner with its *own* observation only, and learns from nothing but
the three-number replies its successors send back (paper section 3, eqs. 4-5):

* ``decide`` picks a successor at the agent's own observation and remembers the decision
  under a *key* (an episode and handoff, a task id, a batch slot), so that many tasks can be
  in flight through one agent at once and each reply updates the decision it belongs to;
* ``value`` is what the agent sends back when it becomes active: ``max_k Q(o, k)`` (or
  ``max_a Qa(o, a)`` for an adaptable agent);
* ``receive`` regresses the keyed decision on ``R + gamma**tau * v``.

Adaptable agents (``n_local > 0``) also choose a local action each primitive step they are
active (``decide_local`` / ``after_local``). Every scalar method has a batch form over
integer *slots* (rows of a vectorised environment); the batch forms are what the episode
loop of :mod:`handoffq.runtime.loop` calls.

Baselines that are not IC-Q (the naive independent learner) declare ``wants_own_view`` and
receive their own view of the handed-off artifact beside the message (:class:`OwnView`);
IC-Q agents never see anything but the message.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from handoffq.core.channel import MessageBatch
from handoffq.core.messages import HandoffMessage

__all__ = ["HandoffAgent", "Key", "OwnView"]

Key = Hashable
"""Identifies one pending decision: ``(episode, handoff)``, a task id, or a batch slot."""


@dataclass(frozen=True, slots=True)
class OwnView:
    """A predecessor's own view of the artifact it handed off (naive baselines only).

    ``obs`` ``(n, d)`` and ``mask`` ``(n, n_candidates)`` are the predecessor's observation and
    admissible successors after the handoff; ``alive`` is False where the episode ended.
    """

    obs: np.ndarray
    mask: np.ndarray
    alive: np.ndarray


@runtime_checkable
class HandoffAgent(Protocol):
    """One agent of a team (index ``agent_id`` = the environment's agent index).

    Attributes:
        agent_id: this agent's index.
        candidates: every successor it may ever pick, in column order.
        n_local: number of local actions (0: a pre-configured agent).
        wants_own_view: True only for baselines that bootstrap from their own view.
    """

    agent_id: int
    candidates: tuple[int, ...]
    n_local: int
    wants_own_view: bool

    # ------------------------------------------------------------------ scalar
    def decide(self, obs: Sequence[int], admissible: Sequence[int], key: Key = None) -> int:
        """Choose a successor (exploring over ``admissible`` only); remember it under ``key``."""

    def greedy_successor(self, obs: Sequence[int], admissible: Sequence[int]) -> int:
        """The greedy admissible successor at ``obs`` (no exploration, no state change)."""

    def value(self, obs: Sequence[int], admissible: Sequence[int]) -> float:
        """The scalar ``v`` this agent sends back when it becomes active at ``obs``."""

    def receive(
        self, message: HandoffMessage, key: Key = None, own_view: tuple[Sequence[int], Sequence[int]] | None = None
    ) -> float:
        """Regress the decision ``key`` on ``R + gamma**tau * v``; return the TD error."""

    def decide_local(self, obs: Sequence[int], key: Key = None) -> int:
        """Choose a local action (adaptable agents); remember it under ``key``."""

    def greedy_local(self, obs: Sequence[int]) -> int:
        """The greedy local action at ``obs``."""

    def after_local(
        self, reward: float, post_obs: Sequence[int] | None, admissible: Sequence[int], key: Key = None
    ) -> float:
        """Learn from the local action ``key`` (``post_obs=None``: the episode ended)."""

    def forget(self, keys: Sequence[Key] | None = None) -> int:
        """Drop pending decisions (all, or those in ``keys``); return how many were dropped."""

    # ------------------------------------------------------------------- batch
    def start_batch(self, n_slots: int) -> None:
        """Prepare pending storage for ``n_slots`` batch slots (keys ``0 .. n_slots-1``)."""

    def decide_batch(
        self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool = False
    ) -> np.ndarray:
        """Successors for ``slots`` (``obs`` ``(n, d)``, boolean ``mask`` ``(n, n_candidates)``)."""

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Batched :meth:`value`."""

    def receive_batch(self, slots: np.ndarray, messages: MessageBatch, own_view: OwnView | None = None) -> None:
        """Batched :meth:`receive` for the pending decisions of ``slots``."""

    def decide_local_batch(self, slots: np.ndarray, obs: np.ndarray, greedy: bool = False) -> np.ndarray:
        """Local actions for ``slots``."""

    def after_local_batch(
        self,
        slots: np.ndarray,
        rewards: np.ndarray,
        post_obs: np.ndarray,
        post_mask: np.ndarray,
        terminated: np.ndarray,
    ) -> None:
        """Batched :meth:`after_local`."""

    # ------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """This agent's own state (estimators, counters, generator)."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
