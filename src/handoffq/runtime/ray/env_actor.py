"""An environment actor: plays episodes with the shared loop, agents reached remotely."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import ray

from handoffq.core.channel import Channel
from handoffq.core.vec import SyncVecEnv
from handoffq.runtime.loop import EpisodeLoop
from handoffq.runtime.ray.budget import episode_seed_base, slot_range
from handoffq.runtime.ray.team import RemoteTeam
from handoffq.runtime.ray.util import actor_died, limit_threads

__all__ = ["EpisodeActor"]


@ray.remote
class EpisodeActor:
    """Drives ``n_slots`` concurrent episodes on its own copies of the environment.

    It is the trusted scheduler of :class:`~handoffq.runtime.loop.EpisodeLoop`: it hands each
    agent actor only that agent's own observations and admissible masks, and relays each
    successor's three-number replies to the predecessor through its audited channel. Agent
    decision keys are the global slots of this actor (:func:`slot_range`).

    Args:
        env: the environment (copied ``n_slots`` times; it must be picklable).
        agents: the agent actors (index = agent id).
        wants_own_view: each agent's flag (naive baselines get their own view).
        index: this actor's index among the environment actors.
        n_slots: concurrent episodes.
        seed: base seed (episode seeds depend on it, the index and the generation).
        threaded: run the slots' ``step``/``act`` in a thread pool (latency-bound
            environments, e.g. LLM calls, overlap).
        audit: keep every ``(src, dst, payload)`` that crosses the channel.
        max_abandoned: rounds in a row lost to dead agent actors before giving up.
    """

    def __init__(
        self,
        env: Any,
        agents: Sequence[Any],
        wants_own_view: Sequence[bool],
        index: int,
        n_slots: int,
        seed: int,
        threaded: bool = True,
        audit: bool = False,
        max_abandoned: int = 200,
    ) -> None:
        limit_threads()
        self.proto = env
        self.team = RemoteTeam(agents, wants_own_view)
        self.index, self.n_slots, self.seed = int(index), int(n_slots), int(seed)
        self.threaded = bool(threaded)
        self.max_abandoned = int(max_abandoned)
        self.log: list[tuple[int, int, Any]] = []
        self.channel = Channel((lambda s, d, p: self.log.append((s, d, p))) if audit else None)
        self.loop: EpisodeLoop | None = None
        self.keys = np.asarray(slot_range(self.index, self.n_slots), dtype=np.int64)

    def _vec(self, seed: int, n: int) -> SyncVecEnv:
        return SyncVecEnv(copy.deepcopy(self.proto), n, seed=seed, threads=n if self.threaded else 0)

    def run(self, n_tokens: int, generation: int) -> dict[str, Any]:
        """Play exactly ``n_tokens`` more handoffs; return the tally.

        ``generation`` counts restarts of this actor (it changes the episode seeds). A round
        broken by a dead agent actor loses the running episodes (counted as ``abandoned``;
        their handoffs were partly learned from but are not counted).
        """
        if self.loop is None:
            vec = self._vec(episode_seed_base(self.seed, self.index, generation), self.n_slots)
            self.loop = EpisodeLoop(vec, self.team, self.channel, learn=True, key_offset=int(self.keys[0]))
        loop, done, abandoned, in_row = self.loop, 0, 0, 0
        steps0, episodes = loop.primitive_steps, list[tuple[float, int, int]]()
        while done < n_tokens:
            try:
                h, finished = loop.round(limit=n_tokens - done)
            except Exception as exc:
                if not actor_died(exc):
                    raise
                in_row += 1
                if in_row > self.max_abandoned:
                    raise RuntimeError(f"{in_row} rounds in a row lost to dead agent actors ({exc})") from exc
                self.team.forget(self.keys)
                abandoned += loop.abandon()
                continue
            in_row = 0
            done += h
            episodes.extend(zip(finished.ret.tolist(), finished.handoffs.tolist(), finished.steps.tolist()))
        return {"handoffs": done, "steps": loop.primitive_steps - steps0, "episodes": episodes, "abandoned": abandoned}

    def evaluate(self, seed: int, episodes: int, max_handoffs: int) -> list[tuple[float, bool]]:
        """Greedy ``(return, capped)`` of episodes seeded ``seed .. seed + episodes - 1``."""
        vec = self._vec(seed, max(1, min(self.n_slots, episodes)))
        loop = EpisodeLoop(vec, self.team, Channel(), learn=False, max_handoffs=max_handoffs, max_episodes=episodes)
        out: list[tuple[float, bool]] = []
        while loop.running:
            done = loop.round()[1]
            out.extend(zip(done.ret.tolist(), done.capped.tolist()))
        return out

    def audit_log(self) -> list[tuple[int, int, Any]]:
        """Every ``(src, dst, payload)`` that crossed this actor's channel since the last call."""
        out, self.log[:] = list(self.log), []
        return out
