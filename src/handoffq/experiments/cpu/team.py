"""The CPU experiment's teams: who learns what, how it explores, how it is trained and scored.

Every method is a team of six agents played by the shared
:class:`~handoffq.runtime.loop.EpisodeLoop` (replies ``(v, tau, R)`` cross the audited
:class:`~handoffq.core.channel.Channel`; nothing else reaches an agent from another):

* ``icq`` - six adaptable :class:`~handoffq.learn.agent.ICQAgent` s, each with its own
  ``Q`` (successors) and ``Qa`` (local actions) networks
  (:class:`~handoffq.learn.value_mlp.ValueMLPEstimator` over its own block, values included),
  each wrapped in a replay buffer of the agent's own updates
  (:class:`~handoffq.learn.own_replay.ReplayEstimator`);
* ``fixed_pipeline`` - the same agents behind :class:`~handoffq.baselines.cpu.PipelineEnv`
  (successors fixed; local actions and the writer's halt learned);
* ``memorising`` - the same IC-Q team with tables keyed by the raw observation (a
  :class:`~handoffq.learn.dict_table.DictTableEstimator`: it can act only on what it has seen);
* ``centralised`` - six roles sharing one successor and one local-action network over the whole
  machine state (:class:`~handoffq.baselines.cpu.CentralEnv`), same encoding and training;
* ``random`` - :class:`~handoffq.baselines.cpu.RandomAgent`.

Exploration is epsilon-greedy, falling linearly from ``eps_start`` to ``eps_end`` over
``eps_frac`` of an agent's *own* decisions horizon; the step-size multiplier falls linearly from
1 to ``lr_final`` over the horizon. An agent's horizon is the run's budget divided by five (the
datapath units share the activations; each counts only its own decisions and updates).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from handoffq.baselines.cpu import CENTRAL_CANDIDATES, CentralEnv, PipelineEnv, RandomAgent
from handoffq.core.channel import Channel
from handoffq.envs.cpu import CANDIDATES, N_LOCAL, CPUConfig, TaskSet, VecCPUEnv
from handoffq.experiments.cpu.config import CPUExperimentConfig
from handoffq.learn.agent import ICQAgent
from handoffq.learn.dict_table import DictTableEstimator
from handoffq.learn.exploration import Exploration
from handoffq.learn.own_replay import ReplayEstimator
from handoffq.learn.schedules import StepSize
from handoffq.learn.value_mlp import ValueMLPEstimator
from handoffq.runtime.loop import EpisodeLoop, LocalTeam

__all__ = ["LinearExploration", "LinearStepSize", "NeuralICQAgent", "Trainer", "build_team", "evaluate"]

_UNITS = 5  # datapath units sharing the activations of a run


@dataclasses.dataclass(frozen=True)
class LinearExploration(Exploration):
    """Epsilon-greedy with epsilon falling linearly from ``epsilon`` to ``epsilon_min`` over
    ``horizon`` of the agent's own decisions."""

    horizon: float = 1.0

    def epsilon_at(self, t: int) -> float:
        """Epsilon after ``t`` decisions."""
        frac = min(1.0, t / max(self.horizon, 1.0))
        return self.epsilon + (self.epsilon_min - self.epsilon) * frac


@dataclasses.dataclass(frozen=True)
class LinearStepSize(StepSize):
    """Step-size multiplier falling linearly from ``a0`` to ``a0 * final`` over ``horizon`` updates."""

    horizon: float = 1.0
    final: float = 1.0

    def __call__(self, t: np.ndarray | int, visits: np.ndarray | int) -> np.ndarray:
        """Multipliers for updates number ``t`` (visits are ignored)."""
        frac = np.minimum(1.0, np.asarray(t, float) / max(self.horizon, 1.0))
        return self.a0 * (1.0 + (self.final - 1.0) * frac)


class NeuralICQAgent(ICQAgent):
    """An :class:`ICQAgent` whose step sizes depend on its update count only (no per-pair visit
    counting: over raw values almost every observation is new, and the counter would only grow)."""

    def _steps(self, obs: np.ndarray, cols: np.ndarray, local: bool = False) -> np.ndarray:
        t = self.t_local if local else self.t
        return np.asarray(self.schedule(t + np.arange(len(cols)), 1), float)


def _seeds(seed: int, n: int) -> list[int]:
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def _mlp(cfg: CPUExperimentConfig, nvec: tuple[int, ...], n_out: int, seed: int, width: int) -> Any:
    net = ValueMLPEstimator(nvec, n_out, width=width, depth=cfg.depth, inputs=cfg.inputs,
                            value_transform=cfg.value_transform, lr=cfg.lr, seed=seed)
    if not cfg.replay:
        return net
    return ReplayEstimator(net, cfg.replay, replay_steps=cfg.replay_steps, seed=seed + 1)


def _schedules(cfg: CPUExperimentConfig, table: bool) -> dict[str, Any]:
    horizon = cfg.budget / _UNITS
    explore = LinearExploration(epsilon=cfg.eps_start, epsilon_min=cfg.eps_end, horizon=cfg.eps_frac * horizon)
    step = (StepSize("constant", a0=cfg.table_alpha) if table
            else LinearStepSize("constant", a0=1.0, horizon=horizon, final=cfg.lr_final))
    return {"exploration": explore, "schedule": step}


def _neural_team(env: Any, cfg: CPUExperimentConfig, ss: list[int]) -> list[Any]:
    return [NeuralICQAgent(i, env.obs_nvec(i), CANDIDATES[i], env.gamma,
                           estimator=_mlp(cfg, env.obs_nvec(i), len(CANDIDATES[i]), ss[i], cfg.width),
                           local_estimator=_mlp(cfg, env.obs_nvec(i), N_LOCAL[i], ss[6 + i], cfg.width),
                           n_local=N_LOCAL[i], seed=ss[i], **_schedules(cfg, False))
            for i in range(6)]


def _central_team(env: CentralEnv, cfg: CPUExperimentConfig, ss: list[int]) -> list[Any]:
    nvec = env.obs_nvec(0)
    q = _mlp(cfg, nvec, len(CENTRAL_CANDIDATES), ss[12], cfg.central_width)
    qa = _mlp(cfg, nvec, max(N_LOCAL), ss[13], cfg.central_width)
    return [NeuralICQAgent(i, nvec, CENTRAL_CANDIDATES, env.gamma, estimator=q, local_estimator=qa,
                           n_local=N_LOCAL[i], seed=ss[i], **_schedules(cfg, False))
            for i in range(6)]


def build_team(method: str, env: VecCPUEnv, cfg: CPUExperimentConfig, seed: int) -> tuple[list[Any], Any]:
    """The agents of ``method`` and the environment view they play through."""
    ss = _seeds(seed, 14)
    if method == "random":
        return [RandomAgent(i, N_LOCAL[i], CANDIDATES[i], ss[i]) for i in range(6)], env
    if method == "memorising":
        team = [NeuralICQAgent(i, env.obs_nvec(i), CANDIDATES[i], env.gamma,
                               estimator=DictTableEstimator(len(CANDIDATES[i])),
                               local_estimator=DictTableEstimator(N_LOCAL[i]),
                               n_local=N_LOCAL[i], seed=ss[i], **_schedules(cfg, True))
                for i in range(6)]
        return team, env
    if method == "icq":
        return _neural_team(env, cfg, ss), env
    if method == "fixed_pipeline":
        view = PipelineEnv(env)
        return _neural_team(view, cfg, ss), view
    if method == "centralised":
        cview = CentralEnv(env)
        return _central_team(cview, cfg, ss), cview
    raise ValueError(f"unknown method {method!r}")


def wrap_like(view: Any, env: VecCPUEnv) -> Any:
    """``env`` seen through the same kind of view as ``view``."""
    return type(view)(env) if isinstance(view, (PipelineEnv, CentralEnv)) else env


def evaluate(team: list[Any], view: Any, tasks: TaskSet, env_cfg: CPUConfig) -> np.ndarray:
    """Per-task success of the team's greedy play on ``tasks`` (one episode per task)."""
    env = VecCPUEnv(env_cfg, len(tasks), tasks, 0, fixed=True)
    loop = EpisodeLoop(wrap_like(view, env), LocalTeam(team), Channel(), learn=False,
                       max_handoffs=env_cfg.max_activations + 1, max_episodes=len(tasks))
    while loop.running:
        loop.round()
    return env.solved.copy()


class Trainer:
    """Trains a team on a task pool, a slice of the budget at a time (pending decisions carry over)."""

    def __init__(self, team: list[Any], view: Any, env: VecCPUEnv, channel: Channel | None = None) -> None:
        for agent in team:
            agent.start_batch(env.n_envs)
        self.loop = EpisodeLoop(view, LocalTeam(team), channel or Channel(), learn=True)
        self.activations = 0
        self.episodes = 0
        self.returns = 0.0

    def train(self, activations: int) -> None:
        """Play until ``activations`` more handoffs have been made."""
        goal = self.activations + activations
        while self.activations < goal:
            n, done = self.loop.round()
            self.activations += n
            self.episodes += len(done)
            self.returns += float(done.ret.sum())
