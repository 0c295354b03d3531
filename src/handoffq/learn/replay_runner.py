"""Training runner of ICQ+ (:mod:`handoffq.learn.replay`): batched episodes and replay sweeps.

Each round plays one invocation in every slot of a vectorised environment, like
:class:`~handoffq.runtime.loop.EpisodeLoop`, through the agents' protocol methods
(``decide_batch``, ``value_batch``, ``receive_batch``); the replies ``(v, tau, R)`` cross
agent boundaries through the audited :class:`~handoffq.core.channel.Channel`
(:func:`~handoffq.core.channel.deliver_replies`: one :class:`MessageBatch` per (successor,
predecessor) pair). Beside the messages the runner hands each party the protocol metadata
replay needs: every handoff's id (``tag_handoffs`` for the predecessor, ``arrive_batch`` for
the successor, with its own observation). No observation, parameter or record of one agent
is ever given to another.

Replay (:func:`replay_sweeps`) is decentralised: a predecessor asks each successor for fresh
``(v, tau, R)`` on the ids of their shared handoffs; the successor computes ``v`` on its own
stored arrival observation; the reply crosses the same channel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handoffq.core.channel import Channel, MessageBatch, deliver_replies, group_by
from handoffq.learn.replay import PlusConfig, ReplayICQAgent

__all__ = ["ReplayRunner", "make_plus_team", "replay_sweeps"]


def _replies_of(
    agents: Sequence[ReplayICQAgent], channel: Channel, i: int,
    groups: list[tuple[int, np.ndarray, np.ndarray]], send: str,
) -> dict[int, tuple[np.ndarray, MessageBatch]]:
    """Fresh replies to agent ``i``'s stored handoffs, per successor (-1: ended, v = 0)."""
    ag = agents[i]
    rep = {}
    for j, keys, rows in groups:
        if j < 0:
            msg = MessageBatch(np.zeros(len(rows)), ag.dec["tau"][rows], ag.dec["R"][rows])
        else:
            msg = channel.send_batch(j, i, agents[j].revalue(i, keys, send))
        rep[j] = (rows, msg)
    return rep


def replay_sweeps(
    agents: Sequence[ReplayICQAgent], channel: Channel, which: str, cfg: PlusConfig, fixed: int | None
) -> int:
    """Jacobi sweeps of decentralised replay for table ``which``; returns sweeps done.

    ``fixed``: exact number of sweeps (acyclic interfaces: the cap), else until the largest
    change is below ``cfg.sweep_tol`` (at most ``cfg.max_sweeps``).
    """
    send = "D" if which in ("QA", "QB") else which
    groups = [ag.keys_by_successor() for ag in agents]
    n = fixed if fixed is not None else cfg.max_sweeps
    for s in range(n):
        replies = [_replies_of(agents, channel, i, groups[i], send) for i in range(len(agents))]
        change = 0.0
        for ag, rep in zip(agents, replies, strict=True):
            tables = ("QA", "QB") if which in ("QA", "QB") else (which,)
            change = max(change, *(ag.refit(t, rep) for t in tables))
        if fixed is None and change < cfg.sweep_tol:
            return s + 1
    return n


@dataclass
class ReplayRunner:
    """Plays batched episodes of a vectorised environment with ICQ+ agents; replays on a
    schedule (see the module docstring).

    ``sweeps``: exact Jacobi sweeps per replay (acyclic interfaces, e.g. the budget interface
    where every handoff lowers an observed budget), ``None``: until converged.
    """

    env: Any
    agents: list[ReplayICQAgent]
    cfg: PlusConfig
    sweeps: int | None = None
    channel: Channel = field(default_factory=Channel)
    episodes: int = 0
    handoffs: int = 0
    _key: int = 0
    _last_replay: int = 0

    def __post_init__(self) -> None:
        for a in self.agents:
            a.start_batch(self.env.n_envs)
        self.env.reset()

    def step_round(self) -> None:
        """One invocation in every slot: decide, step, reply through the channel, record."""
        env = self.env
        b = env.n_envs
        slots = np.arange(b)
        active = env.active()
        succ = np.empty(b, dtype=np.int64)
        for a, idx in group_by(active):
            succ[idx] = self.agents[a].decide_batch(idx, env.observe(idx, a), env.mask(idx, a))
        tr = env.step(succ)
        keys = self._key + slots  # handoff ids: protocol metadata both parties know
        self._key += b
        new_active = env.active()
        value = np.zeros(b)
        live = np.flatnonzero(~tr.terminated)
        for j, idx in group_by(new_active[live]):
            s = live[idx]
            ob = env.observe(s, j)
            value[s] = self.agents[j].value_batch(ob, env.mask(s, j))
            self.agents[j].arrive_batch(s, keys[s], ob, tr.duration[s], tr.reward[s])
        replier = np.where(tr.terminated, -1, new_active)
        for d in deliver_replies(self.channel, active, np.where(tr.terminated, active, new_active),
                                 slots, value, tr.duration, tr.reward):
            agent = self.agents[d.agent]
            agent.tag_handoffs(d.keys, keys[d.keys], replier[d.keys])
            agent.receive_batch(d.keys, d.messages)
        self.handoffs += b
        done = np.flatnonzero(tr.terminated | tr.truncated)
        if len(done):
            self.episodes += len(done)
            env.reset_slots(done)
            for ag in self.agents:
                ag.new_tasks(done)

    def replay(self) -> None:
        """Refit every agent's tables from its stored handoffs (and ``U`` for acting)."""
        cfg = self.cfg
        if cfg.replay and cfg.double:
            replay_sweeps(self.agents, self.channel, "QA", cfg, self.sweeps)
            for a in self.agents:
                a.Q = 0.5 * (a.QA + a.QB)
        elif cfg.replay:
            replay_sweeps(self.agents, self.channel, "Q", cfg, self.sweeps)
        optimistic_acting = cfg.temperature <= 0 and cfg.thompson <= 0 and (cfg.bonus > 0 or cfg.optimistic)
        if optimistic_acting:
            replay_sweeps(self.agents, self.channel, "U", cfg, self.sweeps)
        else:
            for a in self.agents:
                a.U = a.Q.copy()
        self._last_replay = self.handoffs

    def maybe_replay(self) -> None:
        """Replay when stored handoffs grew by ``replay_growth`` (or ``replay_min``)."""
        grown = self.handoffs - self._last_replay
        if grown >= max(self.cfg.replay_min, self.cfg.replay_growth * self._last_replay):
            self.replay()

    def train(
        self,
        calls: int,
        check_every: int | None = None,
        on_check: Callable[[int], None] | None = None,
    ) -> None:
        """Play until the environment counted ``calls`` LLM calls (``on_check`` every
        ``check_every`` calls), then replay once more."""
        next_check = float(check_every) if check_every else np.inf
        while self.env.calls < calls:
            self.step_round()
            self.maybe_replay()
            if self.env.calls >= next_check and on_check is not None and check_every:
                on_check(self.env.calls)
                next_check += check_every
        self.replay()


def make_plus_team(
    env: Any, cfg: PlusConfig, seed: int = 0, estimator: Callable[[int, int], Any] | None = None
) -> list[ReplayICQAgent]:
    """One ICQ+ agent per environment agent, each with its own seed (and estimator)."""
    seeds = np.random.SeedSequence(seed).spawn(env.n_agents)
    team = []
    for i in range(env.n_agents):
        s = int(seeds[i].generate_state(1)[0])
        est = estimator(i, s) if estimator is not None else None
        team.append(ReplayICQAgent(i, env.obs_nvec(i), env.candidates(i), env.gamma, cfg, s, est))
    return team
