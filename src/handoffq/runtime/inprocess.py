"""In-process runner: plays episodes one at a time and does the message passing.

Each agent is called with its own observation only. When control passes from ``i`` to ``j``,
``j`` computes its value at its own observation and the reply ``(v, tau, R)`` travels to
``i`` through the :class:`~handoffq.core.channel.Channel` - the single audited place where
anything crosses an agent boundary. Seeded runs are bit-for-bit reproducible (the
environment and every agent own explicit generators).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handoffq.core.channel import Auditor, Channel
from handoffq.core.env import HandoffEnv
from handoffq.core.messages import HandoffMessage
from handoffq.runtime.base import Progress, TrainStats

__all__ = ["InProcessRunner", "play_episode"]


def play_episode(
    env: HandoffEnv,
    agents: Sequence[Any],
    channel: Channel,
    learn: bool = True,
    seed: int | None = None,
    max_handoffs: int | None = None,
) -> tuple[float, int, int]:
    """Play one episode; return ``(discounted return, handoffs, primitive steps)``.

    With ``learn=False`` agents act greedily and nothing is updated (evaluation).
    Agents that bootstrap from their own view (``agent.bootstrap == "own"``: the naive
    baseline) are given their own observation of the handed-off artifact instead of a value.
    """
    env.reset(seed)
    gamma = env.gamma
    i = env.active_agent
    obs = env.observe(i)
    ret, disc, handoffs, steps = 0.0, 1.0, 0, 0
    while True:
        agent = agents[i]
        if env.local_actions(i):
            a = agent.decide_local(obs) if learn else agent.greedy_local(obs)
            ls = env.act(a)
            ret += disc * ls.reward
            disc *= gamma
            steps += 1
            ended = ls.terminated or ls.truncated
            post = None if ls.terminated else env.observe(i)
            if learn:
                agent.after_local(ls.reward, post, env.admissible(i) if post is not None else ())
            if ended:
                break
            obs = post
        adm = env.admissible(i)
        k = agent.decide(obs, adm) if learn else agent.greedy_successor(obs, adm)
        tr = env.step(k)
        ret += disc * tr.reward
        disc *= gamma**tr.duration
        steps += tr.duration
        handoffs += 1
        if tr.terminated:
            if learn:
                agent.receive(channel.send(i, i, HandoffMessage(0.0, tr.duration, tr.reward)))
            break
        j = env.active_agent
        obs_j = env.observe(j)
        if learn:
            if getattr(agent, "bootstrap", "message") == "own":
                agent.receive_own(tr.duration, tr.reward, env.observe(i), env.admissible(i))
            else:
                v = agents[j].value(obs_j, env.admissible(j))
                agent.receive(channel.send(j, i, HandoffMessage(v, tr.duration, tr.reward)))
        if tr.truncated or (max_handoffs is not None and handoffs >= max_handoffs):
            break
        i, obs = j, obs_j
    return ret, handoffs, steps


class InProcessRunner:
    """Trains a team of agents on one environment, one episode at a time.

    Args:
        env: the environment.
        agents: one agent per environment agent (index = agent id).
        auditor: optional callable ``(src, dst, payload)`` seeing every cross-agent payload.
        seed: base seed; episode ``e`` is reset with ``seed + e`` for reproducibility.
    """

    def __init__(
        self, env: HandoffEnv, agents: Sequence[Any], auditor: Auditor | None = None, seed: int = 0
    ) -> None:
        if len(agents) != env.n_agents:
            raise ValueError(f"{len(agents)} agents given for an environment of {env.n_agents}")
        self.env = env
        self.agents = list(agents)
        self.channel = Channel(auditor)
        self.seed = int(seed)
        self.stats = TrainStats()

    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Play episodes until ``budget`` more handoffs are done."""
        target = self.stats.handoffs + int(budget)
        while self.stats.handoffs < target:
            ret, h, steps = play_episode(
                self.env,
                self.agents,
                self.channel,
                learn=True,
                seed=self.seed + self.stats.episodes,
                max_handoffs=target - self.stats.handoffs,
            )
            self.stats.episodes += 1
            self.stats.handoffs += h
            self.stats.primitive_steps += steps
            self.stats.returns.append(ret)
            if progress is not None:
                progress(h)
        self.stats.messages = self.channel.n_messages
        return self.stats

    def evaluate(self, episodes: int, seed: int = 10**6) -> float:
        """Mean discounted return of the greedy policies over ``episodes`` episodes."""
        total = 0.0
        for e in range(episodes):
            total += play_episode(self.env, self.agents, self.channel, learn=False, seed=seed + e)[0]
        return total / max(episodes, 1)
