"""The environment protocol: an IC-SMDP in the PettingZoo AEC shape.

One agent is active at a time. The runner asks the environment for the active agent, gives
that agent (and only that agent) its observation ``observe(agent)`` and its admissible
successors, and passes the chosen successor to :meth:`HandoffEnv.step`. ``step`` plays the
whole invocation of the active agent (its fixed local policy, for pre-configured agents) and
returns the invocation's duration ``tau`` and discounted reward ``R``; control then passes to
the chosen successor (``k == active`` means "continue").

Environments with *adaptable* agents also expose local actions: the active agent first picks a
local action with :meth:`HandoffEnv.act` (one primitive step), then a successor with ``step``.

Observations are small tuples of non-negative integers with known per-dimension sizes
(``obs_nvec``), i.e. a ``MultiDiscrete`` space. This covers every environment in the package
(interface classes, destination + flag, AIS bits, register blocks) and lets one estimator
protocol handle them all (tabular index or MLP features).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from handoffq.core.errors import HandoffqError

__all__ = [
    "EnvError",
    "HandoffEnv",
    "LocalStep",
    "Obs",
    "PreconfiguredAgents",
    "SeededRng",
    "Transition",
    "VecHandoffEnv",
    "VecLocalStep",
    "VecTransition",
    "check_step",
    "check_successor",
    "flat_obs_index",
    "obs_size",
]

Obs = tuple[int, ...]


class EnvError(HandoffqError, ValueError):
    """Invalid environment configuration or an illegal call (names the problem)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """Outcome of one invocation: duration ``tau`` >= 1, discounted reward ``R``, end flags."""

    duration: int
    reward: float
    terminated: bool
    truncated: bool


@dataclass(frozen=True, slots=True)
class LocalStep:
    """Outcome of one local action of an adaptable agent (one primitive step)."""

    reward: float
    terminated: bool
    truncated: bool


@runtime_checkable
class HandoffEnv(Protocol):
    """An IC-SMDP simulator: what every handoffq environment implements.

    Attributes:
        n_agents: number of agents; agents are ``0 .. n_agents-1``.
        agent_names: a readable name per agent (used by the PettingZoo adapter).
        gamma: the primitive discount factor.
        simulated: True when the environment stands in for something real (every
            environment in this package that is a stand-in says so in its outputs).
    """

    n_agents: int
    agent_names: tuple[str, ...]
    gamma: float

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode (seeding the environment's own generator when given)."""

    @property
    def active_agent(self) -> int:
        """The agent whose turn it is."""

    def observe(self, agent: int) -> Obs:
        """Agent ``agent``'s observation ``phi_i(z, xi_i)`` of the current interface state."""

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Cardinality of each observation dimension of ``agent``."""

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Every successor ``agent`` could ever pick (fixed; the estimator's action set)."""

    def admissible(self, agent: int) -> tuple[int, ...]:
        """Successors admissible now (a subset of ``candidates``; decided by the interface)."""

    def local_actions(self, agent: int) -> int:
        """Number of local actions of an adaptable ``agent`` (0 for a pre-configured one)."""

    def act(self, local_action: int) -> LocalStep:
        """Apply a local action of the active (adaptable) agent."""

    def step(self, successor: int) -> Transition:
        """Play the active agent's invocation and hand control to ``successor``."""


class PreconfiguredAgents:
    """Mixin for environments whose agents are all pre-configured (no local actions).

    ``act`` raises :class:`EnvError` naming the environment: ``NAME`` (default: the class name).
    """

    NAME: ClassVar[str | None] = None

    def local_actions(self, agent: int) -> int:
        """Pre-configured agents have no local actions."""
        return 0

    def act(self, local_action: int) -> LocalStep:
        """Not available: every agent is pre-configured."""
        raise EnvError(f"{self.NAME or type(self).__name__} has pre-configured agents only (no local actions)")


class SeededRng:
    """Mixin: an environment's private generator ``_rng`` and the rule every ``reset`` follows.

    ``reset(seed)`` restarts the generator from ``seed``; ``reset(None)`` continues the running
    one (at construction, with no generator yet, it starts an unseeded one).
    """

    _rng: np.random.Generator

    def _seed_rng(self, seed: int | None) -> None:
        """Restart ``_rng`` from ``seed`` (``None``: keep the running generator)."""
        if seed is not None or not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(seed)


def check_step(env: HandoffEnv, successor: int, done: bool) -> None:
    """What ``step`` checks first: the episode is not over (``done``), ``successor`` is admissible."""
    if done:
        raise EnvError("step() called on a finished episode; call reset()")
    check_successor(env, successor)


def check_successor(env: HandoffEnv, successor: int) -> None:
    """Raise :class:`EnvError` unless ``successor`` is admissible for the active agent."""
    adm = env.admissible(env.active_agent)
    if successor not in adm:
        raise EnvError(
            f"successor {successor} is not admissible for agent {env.active_agent} "
            f"(admissible: {list(adm)})"
        )


def obs_size(nvec: tuple[int, ...]) -> int:
    """Number of distinct observations of a MultiDiscrete space."""
    return math.prod(int(n) for n in nvec)


def flat_obs_index(obs: np.ndarray, nvec: tuple[int, ...]) -> np.ndarray:
    """Flat (row-major) indices in ``range(obs_size(nvec))`` of a batch of observations
    ``(B, d)`` (a 1-D batch is read as ``d = 1``)."""
    obs = np.asarray(obs, dtype=np.int64)
    if obs.ndim == 1:
        obs = obs[:, None]
    if obs.shape[1] == 1:
        return obs[:, 0]
    return np.ravel_multi_index(tuple(obs.T), nvec)


@dataclass(frozen=True, slots=True)
class VecTransition:
    """Outcomes of one invocation in each of ``B`` episodes (arrays of shape ``(B,)``)."""

    duration: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


@dataclass(frozen=True, slots=True)
class VecLocalStep:
    """Outcomes of one local action in each of ``n`` slots (arrays of shape ``(n,)``)."""

    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


@runtime_checkable
class VecHandoffEnv(Protocol):
    """``B`` independent copies of an IC-SMDP stepped together.

    Slots whose episode ended are restarted by :meth:`reset_slots`; observations and masks
    are requested per agent for the slots where that agent is active, so a runner can hand
    each agent its own observations and nothing else. Any :class:`HandoffEnv` becomes one
    with :class:`handoffq.core.vec.SyncVecEnv`; hand-written vectorised environments (the
    synthetic IC-SMDP, routing) are faster.
    """

    n_envs: int
    n_agents: int
    gamma: float

    def reset(self, seed: int | None = None) -> None:
        """Start fresh episodes in every slot."""

    def active(self) -> np.ndarray:
        """Active agent of every slot, shape ``(B,)``."""

    def observe(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Observations ``(len(slots), d)`` of ``agent`` in ``slots``."""

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Admissible candidates ``(len(slots), n_candidates(agent))`` of ``agent``."""

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Candidate successors of ``agent``."""

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Observation dimension sizes of ``agent``."""

    def local_actions(self, agent: int) -> int:
        """Number of local actions of an adaptable ``agent`` (0 for a pre-configured one)."""

    def act(self, slots: np.ndarray, actions: np.ndarray) -> VecLocalStep:
        """Apply a local action of the active (adaptable) agent in each of ``slots``."""

    def step(self, successors: np.ndarray, slots: np.ndarray | None = None) -> VecTransition:
        """Play one invocation in every slot (or only in ``slots``: ``successors`` then has one
        entry per listed slot and the result is aligned with ``slots``)."""

    def reset_slots(self, slots: np.ndarray) -> None:
        """Restart the episodes of ``slots``."""
