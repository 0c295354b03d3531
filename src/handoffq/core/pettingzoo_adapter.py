"""Turn any :class:`~handoffq.core.env.HandoffEnv` into a real ``pettingzoo.AECEnv``.

* Agents are named by ``env.agent_names``; ``agent_selection`` is the active agent.
* Observation of agent ``a``: ``{"observation": MultiDiscrete(obs_nvec), "action_mask": ...}``.
* Action: ``Discrete(n_candidates)`` - the index of a candidate successor - or, for an
  adaptable agent, ``Discrete(n_local * n_candidates)`` encoding ``local * n_cand + succ``
  (a local action, then a successor, as one joint action).
* Rewards are shared (a cooperative team): after each step every agent gets the
  invocation's discounted reward ``R``. ``infos[active]`` carries ``tau`` of the last step.
* The episode ends for everyone on termination/truncation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from handoffq.core.env import HandoffEnv

__all__ = ["PettingZooAdapter"]


class PettingZooAdapter(AECEnv):
    """AEC view of a handoffq environment built by ``make_env(seed)``."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "name": "handoffq_v0", "is_parallelizable": False}

    def __init__(self, make_env: Callable[[], HandoffEnv]) -> None:
        super().__init__()
        self.env = make_env()
        self.possible_agents = list(self.env.agent_names)
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._obs_spaces = {}
        self._act_spaces = {}
        for a, i in self._index.items():
            n_cand = len(self.env.candidates(i))
            n_local = max(self.env.local_actions(i), 1)
            self._act_spaces[a] = spaces.Discrete(n_local * n_cand)
            self._obs_spaces[a] = spaces.Dict(
                {
                    "observation": spaces.MultiDiscrete(np.asarray(self.env.obs_nvec(i), dtype=np.int64)),
                    "action_mask": spaces.Box(0, 1, shape=(n_local * n_cand,), dtype=np.int8),
                }
            )
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Space:
        """Observation space of ``agent`` (the same object every call)."""
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        """Action space of ``agent`` (the same object every call)."""
        return self._act_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None) -> None:
        """Reset the wrapped environment."""
        self.env.reset(seed)
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.agent_selection = self.possible_agents[self.env.active_agent]

    def _mask(self, i: int) -> np.ndarray:
        cands = self.env.candidates(i)
        adm = set(self.env.admissible(i)) if i == self.env.active_agent else set()
        row = np.array([1 if c in adm else 0 for c in cands], dtype=np.int8)
        return np.tile(row, max(self.env.local_actions(i), 1))

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """``agent``'s own observation and its action mask (all zeros when not active)."""
        i = self._index[agent]
        return {
            "observation": np.asarray(self.env.observe(i), dtype=np.int64),
            "action_mask": self._mask(i),
        }

    def step(self, action: Any) -> None:
        """Apply the active agent's action (index of a candidate successor)."""
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        i = self._index[agent]
        cands = self.env.candidates(i)
        n_cand = len(cands)
        local, succ_idx = divmod(int(action), n_cand)
        if self._mask(i)[int(action)] != 1:
            raise ValueError(f"action {action} is masked out for {agent}")
        self._cumulative_rewards[agent] = 0.0
        reward = 0.0
        done = trunc = False
        tau = 0
        if self.env.local_actions(i):
            ls = self.env.act(local)
            reward += ls.reward
            tau += 1
            done, trunc = ls.terminated, ls.truncated
        if not (done or trunc):
            tr = self.env.step(cands[succ_idx])
            reward += tr.reward * (self.env.gamma**tau)
            tau += tr.duration
            done, trunc = tr.terminated, tr.truncated
        for a in self.agents:
            self.rewards[a] = reward
            self.terminations[a] = bool(done)
            self.truncations[a] = bool(trunc)
            self.infos[a] = {}
        self.infos[agent] = {"tau": tau}
        self._accumulate_rewards()
        if not (done or trunc):
            self.agent_selection = self.possible_agents[self.env.active_agent]

    def render(self) -> None:
        """No rendering."""

    def close(self) -> None:
        """Nothing to close."""
