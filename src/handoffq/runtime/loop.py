"""The episode loop: decide -> step -> reply -> update, written once.

Every runner drives episodes with :class:`EpisodeLoop`: the in-process runner over one copy of
a scalar environment (:class:`~handoffq.core.vec.SyncVecEnv`), the batched runner over a
vectorised environment, the Ray runner inside each environment actor with remote agents, and
the routing trainers. A *round* plays one invocation in every acting slot:

1. adaptable agents that are active take one local action (``decide_local`` -> ``act`` ->
   ``after_local``);
2. each active agent, given its own observations and admissible masks only, chooses
   successors (``decide``), and the environment plays the invocations (``step``);
3. each new active agent computes its value at its own observation (``value``; 0 when the
   episode ended) and the replies ``(v, tau, R)`` travel to the predecessors through the
   audited :class:`~handoffq.core.channel.Channel` (:func:`deliver_replies`), which update
   the decisions of those very slots (``receive``).

A truncated episode (or one cut by ``max_handoffs``) bootstraps through the successor's value;
a terminated one replies ``v = 0`` from the predecessor to itself. Agents are reached through
a :class:`Team`, so a distributed team can issue the calls of one phase concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from handoffq.core.agent import HandoffAgent, OwnView
from handoffq.core.channel import Channel, Delivery, deliver_replies, group_by
from handoffq.core.env import VecHandoffEnv
from handoffq.learn.targets import gamma_power

__all__ = ["EpisodeLoop", "Episodes", "LocalTeam", "Team"]


@dataclass(frozen=True, slots=True)
class Episodes:
    """Episodes that finished in a round (arrays, one entry each): discounted return, handoffs,
    primitive steps, and whether ``max_handoffs`` cut it."""

    ret: np.ndarray
    handoffs: np.ndarray
    steps: np.ndarray
    capped: np.ndarray

    def __len__(self) -> int:
        return len(self.ret)

    @staticmethod
    def join(parts: list[Episodes]) -> Episodes:
        """One batch from several (an empty batch from none)."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            e = np.zeros(0)
            return Episodes(e, e.astype(np.int64), e.astype(np.int64), e.astype(bool))
        fields = ("ret", "handoffs", "steps", "capped")
        return Episodes(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


class Team(Protocol):
    """How the loop reaches the agents: one call per phase, for every agent group at once."""

    def wants_own_view(self, agent: int) -> bool:
        """Whether ``agent`` is a baseline that bootstraps from its own view."""

    def decide(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray]], greedy: bool
    ) -> list[np.ndarray]:
        """Successors for each ``(agent, keys, obs, mask)`` group."""

    def value(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Values for each ``(agent, obs, mask)`` group."""

    def receive(self, deliveries: Sequence[tuple[Delivery, OwnView | None]]) -> None:
        """Hand each predecessor its replies."""

    def decide_local(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]], greedy: bool) -> list[np.ndarray]:
        """Local actions for each ``(agent, keys, obs)`` group."""

    def after_local(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    ) -> None:
        """Outcomes ``(agent, keys, rewards, post_obs, post_mask, terminated)`` of local actions."""


class LocalTeam:
    """A team of agent objects in this process (calls them one group after the other)."""

    def __init__(self, agents: Sequence[HandoffAgent]) -> None:
        self.agents = list(agents)

    def wants_own_view(self, agent: int) -> bool:
        """The agent's own flag."""
        return bool(getattr(self.agents[agent], "wants_own_view", False))

    def decide(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray]], greedy: bool
    ) -> list[np.ndarray]:
        """Each agent's ``decide_batch``."""
        return [self.agents[a].decide_batch(k, o, m, greedy=greedy) for a, k, o, m in groups]

    def value(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """Each agent's ``value_batch``."""
        return [self.agents[a].value_batch(o, m) for a, o, m in groups]

    def receive(self, deliveries: Sequence[tuple[Delivery, OwnView | None]]) -> None:
        """Each predecessor's ``receive_batch``."""
        for d, own in deliveries:
            self.agents[d.agent].receive_batch(d.keys, d.messages, own)

    def decide_local(self, groups: Sequence[tuple[int, np.ndarray, np.ndarray]], greedy: bool) -> list[np.ndarray]:
        """Each agent's ``decide_local_batch``."""
        return [self.agents[a].decide_local_batch(k, o, greedy=greedy) for a, k, o in groups]

    def after_local(
        self, groups: Sequence[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    ) -> None:
        """Each agent's ``after_local_batch``."""
        for a, k, r, o, m, t in groups:
            self.agents[a].after_local_batch(k, r, o, m, t)


class EpisodeLoop:
    """Plays rounds of episodes on a vectorised environment with a team.

    Args:
        env: the environment (``n_envs`` slots).
        team: the agents (:class:`LocalTeam` or a distributed team).
        channel: where replies cross agent boundaries (audited).
        learn: explore and update (False: greedy decisions, nothing learned).
        max_handoffs: cut an episode after this many handoffs (``None``: only the environment
            ends episodes). Greedy rollouts should always set it: a looping policy never ends.
        key_offset: added to slot indices to form the agents' decision keys (distinct
            environment actors sharing agents use distinct offsets).
        max_episodes: start no more than this many episodes (``None``: restart slots forever).
        before_round: called with the environment at the start of every round (e.g. a sampling
            control that puts every slot in a fresh state; no decision is pending then).
    """

    def __init__(
        self,
        env: VecHandoffEnv,
        team: Team,
        channel: Channel,
        learn: bool = True,
        max_handoffs: int | None = None,
        key_offset: int = 0,
        max_episodes: int | None = None,
        before_round: Callable[[VecHandoffEnv], None] | None = None,
    ) -> None:
        if max_handoffs is not None and max_handoffs < 1:
            raise ValueError(f"max_handoffs must be >= 1, got {max_handoffs}")
        self.env = env
        self.team = team
        self.channel = channel
        self.learn = bool(learn)
        self.max_handoffs = max_handoffs
        self.key_offset = int(key_offset)
        b = env.n_envs
        self.n_local = np.array([env.local_actions(i) for i in range(env.n_agents)], dtype=np.int64)
        self.ret = np.zeros(b)
        self.disc = np.ones(b)
        self.handoffs = np.zeros(b, dtype=np.int64)
        self.steps = np.zeros(b, dtype=np.int64)
        self.started = b if max_episodes is None else min(b, int(max_episodes))
        self.max_episodes = max_episodes
        self.idle = np.arange(b) >= self.started
        self.primitive_steps = 0
        self.before_round = before_round
        self._all = np.arange(b)
        self._none_idle = not self.idle.any()  # (slots only ever become idle, never busy again)

    @property
    def running(self) -> int:
        """Slots with an episode in progress."""
        return int((~self.idle).sum())

    def round(self, limit: int | None = None) -> tuple[int, Episodes]:
        """Play one invocation in (at most ``limit`` of) the running slots.

        Returns the handoffs played and the episodes that finished.
        """
        if self.before_round is not None:
            self.before_round(self.env)
        slots = self._all if self._none_idle else (~self.idle).nonzero()[0]
        if limit is not None:
            slots = slots[: max(int(limit), 0)]
        finished: list[Episodes] = []
        if len(slots) and self.n_local.any():
            slots = self._local_phase(slots, finished)
        if len(slots):
            self._handoff_phase(slots, finished)
        return len(slots), Episodes.join(finished)

    def abandon(self) -> int:
        """Drop every running episode (e.g. an agent it used died) and restart its slot.

        The agents' pending decisions of these slots must be forgotten by the caller.
        Returns the number of episodes lost.
        """
        running = np.flatnonzero(~self.idle)
        self.ret[running], self.disc[running] = 0.0, 1.0
        self.handoffs[running], self.steps[running] = 0, 0
        if len(running):
            self.env.reset_slots(running)
        return len(running)

    # ------------------------------------------------------------------ phases
    def _keys(self, slots: np.ndarray) -> np.ndarray:
        return slots + self.key_offset if self.key_offset else slots

    def _local_phase(self, slots: np.ndarray, finished: list[Episodes]) -> np.ndarray:
        env = self.env
        active = env.active()[slots]
        local = self.n_local[active] > 0
        if not local.any():
            return slots
        groups = [(a, slots[local][idx]) for a, idx in group_by(active[local])]
        acts = self.team.decide_local(
            [(a, self._keys(s), env.observe(s, a)) for a, s in groups], greedy=not self.learn
        )
        act_slots = np.concatenate([s for _, s in groups])
        st = env.act(act_slots, np.concatenate(acts))
        self.ret[act_slots] += self.disc[act_slots] * st.reward
        self.disc[act_slots] *= env.gamma
        self.steps[act_slots] += 1
        self.primitive_steps += len(act_slots)
        if self.learn:
            self.team.after_local(self._local_outcomes(groups, act_slots, st.reward, st.terminated))
        ended = act_slots[st.terminated | st.truncated]
        self._finish(ended, np.zeros(len(ended), dtype=bool), finished)
        return slots[~np.isin(slots, ended)]

    def _local_outcomes(
        self, groups: list[tuple[int, np.ndarray]], act_slots: np.ndarray, reward: np.ndarray, term: np.ndarray
    ) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        env, out, start = self.env, [], 0
        for a, s in groups:
            rows = slice(start, start + len(s))
            start += len(s)
            t = term[rows]
            post = np.zeros((len(s), len(env.obs_nvec(a))), dtype=np.int64)
            mask = np.zeros((len(s), len(env.candidates(a))), dtype=bool)
            if (~t).any():
                post[~t] = env.observe(s[~t], a)
                mask[~t] = env.mask(s[~t], a)
            out.append((a, self._keys(s), reward[rows], post, mask, t))
        return out

    def _handoff_phase(self, slots: np.ndarray, finished: list[Episodes]) -> None:
        env = self.env
        full = len(slots) == env.n_envs  # every slot plays: slot = row, no gathers needed
        active = env.active() if full else env.active()[slots]
        groups = group_by(active)
        chosen = self.team.decide(
            [(a, self._keys(s), env.observe(s, a), env.mask(s, a))
             for a, s in ((a, idx if full else slots[idx]) for a, idx in groups)],
            greedy=not self.learn,
        )
        succ = np.empty(len(slots), dtype=np.int64)
        for (_, idx), k in zip(groups, chosen):
            succ[idx] = k
        tr = env.step(succ, None if full else slots)
        ix = slice(None) if full else slots  # a slice avoids gathers and scatters
        self.ret[ix] += self.disc[ix] * tr.reward
        self.disc[ix] *= gamma_power(env.gamma, tr.duration)
        self.steps[ix] += tr.duration
        self.handoffs[ix] += 1
        self.primitive_steps += int(tr.duration.sum())
        if self.learn:
            self._reply(slots, full, active, tr.duration, tr.reward, tr.terminated)
        ended = tr.terminated | tr.truncated
        capped = np.zeros(len(slots), dtype=bool)
        if self.max_handoffs is not None:
            capped = self.handoffs[ix] >= self.max_handoffs
            ended = ended | capped
        if ended.any():
            self._finish(slots[ended], (capped & ~tr.terminated & ~tr.truncated)[ended], finished)

    def _reply(
        self,
        slots: np.ndarray,
        full: bool,
        active: np.ndarray,
        duration: np.ndarray,
        reward: np.ndarray,
        term: np.ndarray,
    ) -> None:
        env = self.env
        new_active = env.active() if full else env.active()[slots]
        value = np.zeros(len(slots))
        live = (~term).nonzero()[0]
        vgroups = [(j, live[idx]) for j, idx in group_by(new_active[live])]
        vals = self.team.value([(j, env.observe(s, j), env.mask(s, j))
                                for j, s in ((j, r if full else slots[r]) for j, r in vgroups)])
        for (_, r), v in zip(vgroups, vals):
            value[r] = v
        senders = np.where(term, active, new_active)
        deliveries = deliver_replies(self.channel, active, senders, self._keys(slots), value, duration, reward)
        self.team.receive([(d, self._own_view(d, slots, term)) for d in deliveries])

    def _own_view(self, d: Delivery, slots: np.ndarray, term: np.ndarray) -> OwnView | None:
        """The predecessor's own view of the handed-off artifact (only for naive baselines)."""
        if not self.team.wants_own_view(d.agent):
            return None
        env, s, ok = self.env, slots[d.rows], ~term[d.rows]
        if ok.all():
            return OwnView(env.observe(s, d.agent), env.mask(s, d.agent), ok)
        obs = np.zeros((len(s), len(env.obs_nvec(d.agent))), dtype=np.int64)
        mask = np.ones((len(s), len(env.candidates(d.agent))), dtype=bool)
        if ok.any():
            obs[ok] = env.observe(s[ok], d.agent)
            mask[ok] = env.mask(s[ok], d.agent)
        return OwnView(obs, mask, ok)

    def _finish(self, ended: np.ndarray, capped: np.ndarray, finished: list[Episodes]) -> None:
        if not len(ended):
            return
        finished.append(Episodes(self.ret[ended], self.handoffs[ended], self.steps[ended], np.asarray(capped, bool)))
        self.ret[ended] = 0.0
        self.disc[ended] = 1.0
        self.handoffs[ended] = 0
        self.steps[ended] = 0
        if self.max_episodes is None:
            self.env.reset_slots(ended)
            return
        room = max(0, int(self.max_episodes) - self.started)
        restart, retire = ended[:room], ended[room:]
        self.started += len(restart)
        if len(restart):
            self.env.reset_slots(restart)
        self.idle[retire] = True
        self._none_idle = self._none_idle and not len(retire)
