"""In-process runners: the episode loop over a team of agent objects in this process.

:class:`InProcessRunner` plays one episode at a time on a scalar environment (one copy,
bit-for-bit reproducible: episode ``e`` is reset with ``seed + e``); :class:`BatchedRunner`
plays many at once on a vectorised environment. Both drive the same
:class:`~handoffq.runtime.loop.EpisodeLoop`; every reply crosses the audited
:class:`~handoffq.core.channel.Channel`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from handoffq.core.agent import HandoffAgent
from handoffq.core.channel import Auditor, Channel
from handoffq.core.env import HandoffEnv, VecHandoffEnv
from handoffq.core.vec import SyncVecEnv
from handoffq.runtime.base import DEFAULT_EVAL_CAP, EvalStats, Progress, TrainStats, check_team
from handoffq.runtime.loop import EpisodeLoop, Episodes, LocalTeam

__all__ = ["BatchedRunner", "InProcessRunner", "LoopRunner", "evaluate_team"]


class LoopRunner:
    """Trains a team on a vectorised environment with the shared episode loop.

    Args:
        env: the vectorised environment.
        agents: one agent per environment agent (index = agent id).
        auditor: optional callable ``(src, dst, payload)`` seeing every cross-agent payload.
        seed: resets the environment (its episode seeds) at start.
    """

    def __init__(
        self, env: VecHandoffEnv, agents: Sequence[HandoffAgent], auditor: Auditor | None = None, seed: int = 0
    ) -> None:
        self.agents: list[Any] = check_team(agents, env.n_agents)
        self.env = env
        self.channel = Channel(auditor)
        self.seed = int(seed)
        self.stats = TrainStats()
        env.reset(self.seed)
        for a in self.agents:
            a.start_batch(env.n_envs)
        self.loop = EpisodeLoop(env, LocalTeam(self.agents), self.channel, learn=True)

    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Play until exactly ``budget`` more handoffs are done (episodes pause in between)."""
        target = self.stats.handoffs + int(budget)
        while self.stats.handoffs < target:
            n, finished = self.loop.round(limit=target - self.stats.handoffs)
            self._tally(n, finished, progress)
        return self._close_stats()

    def train_episodes(self, episodes: int, progress: Progress | None = None) -> TrainStats:
        """Play until ``episodes`` more episodes have finished (one at a time: exact)."""
        target = self.stats.episodes + int(episodes)
        while self.stats.episodes < target:
            n, finished = self.loop.round()
            self._tally(n, finished, progress)
        return self._close_stats()

    def _tally(self, n: int, finished: Episodes, progress: Progress | None) -> None:
        self.stats.handoffs += n
        self.stats.episodes += len(finished)
        self.stats.returns.extend(finished.ret.tolist())
        if progress is not None and n:
            progress(n)

    def _close_stats(self) -> TrainStats:
        self.stats.primitive_steps = self.loop.primitive_steps
        self.stats.messages = self.channel.n_messages
        return self.stats

    def evaluate(self, episodes: int, seed: int = 10**6, max_handoffs: int = DEFAULT_EVAL_CAP) -> float:
        """Mean discounted return of the greedy policies (see :func:`evaluate_team`)."""
        return evaluate_team(self._eval_env(), self.agents, episodes, seed, max_handoffs).mean_return

    def _eval_env(self) -> VecHandoffEnv | HandoffEnv:
        return copy.deepcopy(self.env)


class InProcessRunner(LoopRunner):
    """Trains agents on a scalar environment, one episode at a time (see :class:`LoopRunner`)."""

    def __init__(
        self, env: HandoffEnv, agents: Sequence[HandoffAgent], auditor: Auditor | None = None, seed: int = 0
    ) -> None:
        self.scalar_env = env
        super().__init__(SyncVecEnv(env, 1, seed=seed), agents, auditor, seed)

    def _eval_env(self) -> HandoffEnv:
        return copy.deepcopy(self.scalar_env)


class BatchedRunner(LoopRunner):
    """Trains agents on a vectorised environment, ``env.n_envs`` episodes at a time."""


def evaluate_team(
    env: VecHandoffEnv | HandoffEnv,
    agents: Sequence[HandoffAgent],
    episodes: int,
    seed: int = 10**6,
    max_handoffs: int = DEFAULT_EVAL_CAP,
    n_envs: int = 1,
) -> EvalStats:
    """Greedy returns of ``episodes`` episodes, each cut after ``max_handoffs`` handoffs.

    A scalar ``env`` is played with episode seeds ``seed .. seed + episodes - 1``. Nothing is
    learned (agents' pending decisions are untouched).
    """
    vec: Any = env if hasattr(env, "n_envs") else SyncVecEnv(env, min(n_envs, max(episodes, 1)), seed=seed)
    if hasattr(env, "n_envs"):
        vec.reset(seed)
    loop = EpisodeLoop(vec, LocalTeam(agents), Channel(), learn=False, max_handoffs=max_handoffs,
                       max_episodes=episodes)
    returns: list[float] = []
    capped = 0
    while loop.running:
        _, finished = loop.round()
        returns.extend(finished.ret.tolist())
        capped += int(finished.capped.sum())
    mean = sum(returns) / max(len(returns), 1)
    return EvalStats(mean, len(returns), capped, returns)
