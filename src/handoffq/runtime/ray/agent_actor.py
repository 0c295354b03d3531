"""An agent living in its own Ray actor, with its own state and checkpoint file."""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np
import ray

from handoffq.core.agent import OwnView
from handoffq.core.channel import MessageBatch
from handoffq.runtime.checkpoint import load_agent, save_agent
from handoffq.runtime.ray.util import limit_threads

__all__ = ["AgentActor"]


@ray.remote
class AgentActor:
    """One agent of the team in its own process (an async actor: calls from several
    environment actors are served one at a time, never in parallel).

    Its decision keys are global batch slots (``environment actor x slots``). The only
    learning input it accepts is a :class:`~handoffq.core.channel.MessageBatch` of three
    numbers per handoff (relayed by an environment actor's audited channel); anything else
    raises ``TypeError`` and is kept in :meth:`rejected`.

    Args:
        agent: the agent object (e.g. :class:`~handoffq.learn.agent.ICQAgent`); this actor
            owns a private copy of it from now on.
        n_slots: decision keys the environment actors use (all their slots together).
        checkpoint_path: the agent's own checkpoint file (loaded at start if present, so a
            restarted actor resumes from its latest checkpoint).
    """

    def __init__(self, agent: Any, n_slots: int, checkpoint_path: str | None) -> None:
        limit_threads()
        self.agent = copy.deepcopy(agent)  # arguments arrive as read-only zero-copy arrays
        self.id = int(agent.agent_id)
        self.path = checkpoint_path
        self.rejects: list[Any] = []
        self.messages = 0
        self.dropped = 0
        self.agent.start_batch(int(n_slots))
        self.restored_meta = load_agent(self.agent, checkpoint_path) if checkpoint_path else None

    def _live(self, slots: np.ndarray, local: bool = False) -> np.ndarray:
        """Which ``slots`` still have a pending decision (a restarted actor lost them)."""
        fn = getattr(self.agent, "has_pending_batch", None)
        ok = np.ones(len(slots), dtype=bool) if fn is None else fn(slots, local=local)
        self.dropped += int((~ok).sum())
        return ok

    async def decide_batch(self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool) -> np.ndarray:
        """The agent's successors for ``slots``."""
        return self.agent.decide_batch(slots, obs, mask, greedy=greedy)

    async def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The agent's values at its own observations."""
        return self.agent.value_batch(obs, mask)

    async def receive_batch(self, slots: np.ndarray, messages: Any, own_view: OwnView | None = None) -> int:
        """Replies to the decisions of ``slots``; returns the updates applied."""
        if not isinstance(messages, MessageBatch):
            self.rejects.append(messages)
            raise TypeError(f"only MessageBatch may cross an agent boundary, got {type(messages)}")
        self.messages += len(messages)
        ok = self._live(slots)
        if not ok.all():
            messages = MessageBatch(messages.value[ok], messages.duration[ok], messages.reward[ok])
            slots = slots[ok]
            if own_view is not None:
                own_view = OwnView(own_view.obs[ok], own_view.mask[ok], own_view.alive[ok])
        if len(slots):
            self.agent.receive_batch(slots, messages, own_view)
        return len(slots)

    async def decide_local_batch(self, slots: np.ndarray, obs: np.ndarray, greedy: bool) -> np.ndarray:
        """Local actions for ``slots``."""
        return self.agent.decide_local_batch(slots, obs, greedy=greedy)

    async def after_local_batch(
        self, slots: np.ndarray, rewards: np.ndarray, post: np.ndarray, mask: np.ndarray, term: np.ndarray
    ) -> None:
        """Outcomes of the local actions of ``slots``."""
        ok = self._live(slots, local=True)
        if ok.any():
            self.agent.after_local_batch(slots[ok], rewards[ok], post[ok], mask[ok], term[ok])

    async def forget_slots(self, slots: np.ndarray) -> int:
        """Drop the pending decisions of ``slots`` (episodes that were lost)."""
        return int(self.agent.forget_slots(np.asarray(slots, dtype=np.int64)))

    async def checkpoint(self, meta: dict[str, Any] | None = None) -> str | None:
        """Write this agent's own checkpoint file; return its path."""
        if not self.path:
            return None
        return str(save_agent(self.agent, self.path, meta))

    async def state(self) -> dict[str, Any]:
        """This agent's ``state_dict`` (copied back to the driver's agent after training)."""
        return self.agent.state_dict()

    async def rejected(self) -> list[Any]:
        """Every payload :meth:`receive_batch` refused (anything but a message batch)."""
        return list(self.rejects)

    async def info(self) -> dict[str, Any]:
        """Counters and restart facts (for tests and reports)."""
        pending = getattr(self.agent, "pending_count", lambda: 0)()
        return {
            "agent_id": self.id,
            "pid": os.getpid(),
            "messages": self.messages,
            "dropped": self.dropped,
            "pending": int(pending),
            "updates": int(getattr(self.agent, "t", 0)),
            "restored": self.restored_meta is not None,
            "restored_meta": self.restored_meta,
        }
