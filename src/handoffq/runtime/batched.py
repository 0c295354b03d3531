"""Batched runner: many episodes at once, vectorised, with the same semantics.

Per invocation round, slots are grouped by their active agent; each agent is handed the
observations of its own slots only, picks successors, and later receives a
:class:`~handoffq.core.channel.MessageBatch` (three numbers per handoff) from each successor
through the audited channel. Ended episodes restart in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from handoffq.core.channel import Auditor, Channel, MessageBatch
from handoffq.core.env import VecHandoffEnv
from handoffq.runtime.base import Progress, TrainStats

__all__ = ["BatchedRunner"]


class BatchedRunner:
    """Trains agents on a :class:`~handoffq.core.env.VecHandoffEnv`."""

    def __init__(
        self, env: VecHandoffEnv, agents: Sequence[Any], auditor: Auditor | None = None, seed: int = 0
    ) -> None:
        if len(agents) != env.n_agents:
            raise ValueError(f"{len(agents)} agents given for an environment of {env.n_agents}")
        self.env = env
        self.agents = list(agents)
        self.channel = Channel(auditor)
        self.stats = TrainStats()
        env.reset(seed)
        for a in self.agents:
            a.start_batch(env.n_envs)
        self._ret = np.zeros(env.n_envs)
        self._disc = np.ones(env.n_envs)

    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Play rounds of ``n_envs`` invocations until ``budget`` more handoffs are done."""
        env = self.env
        target = self.stats.handoffs + int(budget)
        gamma = env.gamma
        while self.stats.handoffs < target:
            active = env.active()
            succ = np.empty(env.n_envs, dtype=np.int64)
            groups = _group_by(active)
            for a, slots in groups:
                succ[slots] = self.agents[a].decide_batch(slots, env.observe(slots, a), env.mask(slots, a))
            tr = env.step(succ)
            self._ret += self._disc * tr.reward
            self._disc *= np.power(gamma, tr.duration)
            new_active = env.active()
            value = np.zeros(env.n_envs)
            alive = ~tr.terminated
            live = np.flatnonzero(alive)
            for j, idx in _group_by(new_active[live]):
                slots = live[idx]
                value[slots] = self.agents[j].value_batch(env.observe(slots, j), env.mask(slots, j))
            for i, slots in groups:
                # each successor's replies cross the channel separately (audited per sender);
                # the predecessor then takes one update on everything it received this round
                sender = np.where(alive[slots], new_active[slots], i)
                parts, got = [], []
                for j in np.unique(sender):
                    sel = slots[sender == j]
                    batch = MessageBatch(value[sel], tr.duration[sel], tr.reward[sel])
                    got.append(self.channel.send_batch(int(j), i, batch))
                    parts.append(sel)
                sel = np.concatenate(parts)
                merged = MessageBatch(
                    np.concatenate([b.value for b in got]),
                    np.concatenate([b.duration for b in got]),
                    np.concatenate([b.reward for b in got]),
                )
                self.agents[i].receive_batch(sel, merged)
            n = env.n_envs
            self.stats.handoffs += n
            self.stats.primitive_steps += int(tr.duration.sum())
            done = np.flatnonzero(tr.terminated | tr.truncated)
            if len(done):
                self.stats.episodes += len(done)
                self.stats.returns.extend(self._ret[done].tolist())
                self._ret[done] = 0.0
                self._disc[done] = 1.0
                env.reset_slots(done)
            if progress is not None:
                progress(n)
        self.stats.messages = self.channel.n_messages
        return self.stats


def _group_by(keys: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(key, indices)`` for every distinct key present (one sort, not one scan per agent)."""
    order = np.argsort(keys, kind="stable")
    uniq, starts = np.unique(keys[order], return_index=True)
    bounds = list(starts[1:]) + [len(order)]
    return [(int(k), order[b:e]) for k, b, e in zip(uniq, starts, bounds)]
