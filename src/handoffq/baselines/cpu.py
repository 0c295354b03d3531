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

from handoffq.core.env import Obs
from handoffq.core.messages import HandoffMessage
from handoffq.envs.cpu import CPUEnv
from handoffq.learn.agent import ICQAgent
from handoffq.learn.estimators import MLPEstimator
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize

__all__ = [
    "PIPELINE",
    "RandomAgent",
    "FixedPipelineAgent",
    "FullStateView",
    "CentralisedAgent",
    "make_random_team",
    "make_pipeline_team",
    "make_centralised_team",
]

PIPELINE: tuple[int, ...] = (0, 1, 2, 3, 4, 5)


class RandomAgent:
    """Uniform random local actions and successors; no learning."""

    bootstrap = "message"

    def __init__(self, agent_id: int, n_local: int, seed: int = 0) -> None:
        self.agent_id = agent_id
        self.n_local = n_local
        self.rng = np.random.default_rng(seed)

    def decide_local(self, obs: Obs) -> int:
        """A uniform local action."""
        return int(self.rng.integers(self.n_local))

    greedy_local = decide_local

    def after_local(self, reward: float, post_obs: Obs | None, admissible: Sequence[int]) -> float:
        """Nothing to learn."""
        return 0.0

    def decide(self, obs: Obs, admissible: Sequence[int]) -> int:
        """A uniform admissible successor."""
        return int(admissible[int(self.rng.integers(len(admissible)))])

    greedy_successor = decide

    def value(self, obs: Obs, admissible: Sequence[int]) -> float:
        """Always 0."""
        return 0.0

    def receive(self, message: HandoffMessage) -> float:
        """Nothing to learn."""
        return 0.0


def make_random_team(env: CPUEnv, seed: int = 0) -> list[RandomAgent]:
    """Six random agents with independent generators."""
    seeds = np.random.SeedSequence(seed).spawn(env.n_agents)
    return [
        RandomAgent(i, env.local_actions(i), int(seeds[i].generate_state(1)[0]))
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
    """IC-Q agent with learned local actions and a fixed (pipeline-order) successor."""

    def decide(self, obs: Obs, admissible: Sequence[int]) -> int:
        """The pipeline successor (recorded so the successor Q still gets its update)."""
        k = pipeline_successor(self.agent_id, admissible)
        self._pending = (tuple(obs), int(self._col[k]))
        self.decisions += 1
        return k

    def greedy_successor(self, obs: Obs, admissible: Sequence[int]) -> int:
        """The pipeline successor."""
        return pipeline_successor(self.agent_id, admissible)


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

    def observe(self, agent: int) -> Obs:
        """The full machine state (the same for every agent)."""
        return self.env.full_state()

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Sizes of the full state."""
        return self._nvec


class CentralisedAgent(ICQAgent):
    """One role of the centralised learner: shares its estimators with the other roles.

    The shared local network has as many outputs as the largest role needs; each role uses
    its first ``n_local`` outputs.
    """

    def greedy_local(self, obs: Obs) -> int:
        """Greedy local action among this role's own actions."""
        return int(np.argmax(self.qa.values(obs)[: self.n_local]))

    def value(self, obs: Obs, admissible: Sequence[int]) -> float:
        """``max_a Qa(o, a)`` over this role's own actions."""
        return float(np.max(self.qa.values(obs)[: self.n_local]))


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
