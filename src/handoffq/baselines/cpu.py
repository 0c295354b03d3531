"""Baselines for the CPU experiment: random agents, a fixed pipeline, a centralised learner.

* :class:`RandomAgent` - uniform random local actions and admissible successors (learns
  nothing; sends value 0).
* :class:`FixedPipelineAgent` - an IC-Q agent whose local actions are learned (``Qa``) but
  whose successor is fixed: the next ready unit in the pipeline order starter, loader_a,
  loader_b, alu, selector, writer (wrapping around).
* :func:`make_centralised_team` - one learner that sees the whole machine state (memory and
  register *values* included, :meth:`~handoffq.envs.cpu.CPUEnv.full_state`) through
  :class:`FullStateView`: all six roles share one successor network and one local-action
  network (parameter sharing = a single centralised learner), an MLP on one-hot inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from handoffq.core.agent import Key
from handoffq.core.channel import MessageBatch
from handoffq.core.messages import HandoffMessage
from handoffq.envs.cpu import CPUEnv
from handoffq.learn.agent import ICQAgent
from handoffq.learn.estimators import MLPEstimator
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize

__all__ = [
    "PIPELINE",
    "CentralisedAgent",
    "FixedPipelineAgent",
    "FullStateView",
    "RandomAgent",
    "make_centralised_team",
    "make_pipeline_team",
    "make_random_team",
]

PIPELINE: tuple[int, ...] = (0, 1, 2, 3, 4, 5)


class RandomAgent(ICQAgent):
    """Uniform random local actions and admissible successors; learns nothing, sends 0."""

    def __init__(self, agent_id: int, candidates: Sequence[int], n_local: int, seed: int = 0) -> None:
        super().__init__(agent_id, (1,), candidates, 1.0, exploration=Exploration(epsilon=1.0), seed=seed,
                         n_local=n_local)

    def _choose(self, obs: tuple[int, ...], admissible: Sequence[int]) -> int:
        cols = self.columns(admissible)
        return int(cols[self.rng.integers(len(cols))])

    def greedy_successor(self, obs: Sequence[int], admissible: Sequence[int]) -> int:
        """Random even when greedy: a random agent has no preference."""
        return self.candidates[self._choose(tuple(obs), admissible)]

    def greedy_local(self, obs: Sequence[int]) -> int:
        """A uniform local action."""
        return int(self.rng.integers(self.n_local))

    def _choose_batch(self, obs: np.ndarray, mask: np.ndarray, greedy: bool) -> np.ndarray:
        u = self.rng.random(mask.shape) * mask
        return np.argmax(u, axis=1)

    def value(self, obs: Sequence[int], admissible: Sequence[int]) -> float:
        """Always 0."""
        return 0.0

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Always 0."""
        return np.zeros(len(obs))

    def receive(self, message: HandoffMessage, key: Key = None, own_view: object = None) -> float:
        """Nothing to learn."""
        self._pending.pop(key, None)
        return 0.0

    def receive_batch(self, slots: np.ndarray, messages: MessageBatch, own_view: object = None) -> None:
        """Nothing to learn."""
        self._slot_store().take(slots, self.agent_id)

    def decide_local_batch(self, slots: np.ndarray, obs: np.ndarray, greedy: bool = False) -> np.ndarray:
        """Uniform local actions."""
        acts = self.rng.integers(self.n_local, size=len(slots))
        if not greedy:
            self._slot_store(local=True).put(slots, obs, acts)
        return acts

    def after_local_batch(self, slots: np.ndarray, rewards: np.ndarray, post_obs: np.ndarray,
                          post_mask: np.ndarray, terminated: np.ndarray) -> None:
        """Nothing to learn."""
        self._slot_store(local=True).take(slots, self.agent_id)


def make_random_team(env: CPUEnv, seed: int = 0) -> list[RandomAgent]:
    """Six random agents with independent generators."""
    seeds = np.random.SeedSequence(seed).spawn(env.n_agents)
    return [
        RandomAgent(i, env.candidates(i), env.local_actions(i), int(seeds[i].generate_state(1)[0]))
        for i in range(env.n_agents)
    ]


def pipeline_successor(agent: int, admissible: Sequence[int]) -> int:
    """The first admissible unit after ``agent`` in :data:`PIPELINE` order (wrapping)."""
    pos = PIPELINE.index(agent)
    for step in range(1, len(PIPELINE) + 1):
        k = PIPELINE[(pos + step) % len(PIPELINE)]
        if k in admissible:
            return k
    raise ValueError(f"no admissible successor for agent {agent}: {list(admissible)}")


class FixedPipelineAgent(ICQAgent):
    """IC-Q agent with learned local actions and a fixed (pipeline-order) successor.

    The successor decision is still recorded, so its ``Q`` gets updates (and the value this
    agent sends back stays meaningful), but the choice itself is the pipeline's.
    """

    def _choose(self, obs: tuple[int, ...], admissible: Sequence[int]) -> int:
        return int(self._col[pipeline_successor(self.agent_id, admissible)])

    def greedy_successor(self, obs: Sequence[int], admissible: Sequence[int]) -> int:
        """The pipeline successor."""
        return pipeline_successor(self.agent_id, admissible)

    def _choose_batch(self, obs: np.ndarray, mask: np.ndarray, greedy: bool) -> np.ndarray:
        cols = np.empty(len(mask), dtype=np.int64)
        for r, row in enumerate(mask):
            adm = [self.candidates[c] for c in np.flatnonzero(row)]
            cols[r] = self._col[pipeline_successor(self.agent_id, adm)]
        return cols


def make_pipeline_team(
    env: CPUEnv, seed: int, exploration: Exploration, schedule: StepSize, init: float
) -> list[FixedPipelineAgent]:
    """Fixed-pipeline agents with tabular ``Q``/``Qa`` (optimistic ``init``)."""
    from handoffq.learn.team import make_team

    return make_team(
        env, seed=seed, estimator="tabular", estimator_kwargs={"init": init},
        exploration=exploration, schedule=schedule, agent_cls=FixedPipelineAgent,
    )


class FullStateView:
    """A :class:`CPUEnv` whose every agent observes the whole machine state (baseline only)."""

    def __init__(self, env: CPUEnv) -> None:
        self.env = env
        self.n_agents = env.n_agents
        self.agent_names = env.agent_names
        self.gamma = env.gamma
        self._nvec = env.full_state_nvec()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)

    def reset(self, seed: int | None = None) -> None:
        """Reset the wrapped environment."""
        self.env.reset(seed)

    @property
    def active_agent(self) -> int:
        """The wrapped environment's active agent."""
        return self.env.active_agent

    def observe(self, agent: int) -> tuple[int, ...]:
        """The full machine state (the same for every agent)."""
        return self.env.full_state()

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Sizes of the full state."""
        return self._nvec


class CentralisedAgent(ICQAgent):
    """One role of the centralised learner: shares its estimators with the other roles.

    The shared local network has as many outputs as the largest role needs; each role uses
    its first ``n_local`` outputs (:class:`~handoffq.learn.agent.ICQAgent` handles that).
    """


def make_centralised_team(
    env: CPUEnv,
    seed: int,
    exploration: Exploration,
    schedule: StepSize,
    width: int = 128,
    depth: int = 2,
    lr: float = 0.05,
) -> tuple[FullStateView, list[CentralisedAgent]]:
    """The full-state view and six roles sharing one successor and one local MLP."""
    view = FullStateView(env)
    nvec = view.obs_nvec(0)
    n_cand = len(env.candidates(0))
    n_local = max(env.local_actions(i) for i in range(env.n_agents))
    q = MLPEstimator(nvec, n_cand, width=width, depth=depth, inputs="onehot", lr=lr, seed=seed)
    qa = MLPEstimator(
        nvec, n_local, width=width, depth=depth, inputs="onehot", lr=lr, seed=seed + 1
    )
    team = [
        CentralisedAgent(
            i, nvec, env.candidates(i), env.gamma, estimator=q, exploration=exploration,
            schedule=schedule, seed=seed + 10 + i, n_local=env.local_actions(i),
            local_estimator=qa,
        )
        for i in range(env.n_agents)
    ]
    return view, team
