"""The learners of T1 and T2: typed settings and training through the shared episode loop.

Every learner trains under the uniform random admissible behaviour (epsilon-greedy at
``epsilon = 1``: the fixed behaviour chain of Theorem 1) on a
:class:`~handoffq.envs.synthetic.SyntheticVecEnv` driven by the
:class:`~handoffq.runtime.inprocess.BatchedRunner` (the one episode loop of every runner;
replies cross the audited channel). Budgets count handoffs, the sample unit of Theorem 1.

* IC-Q, tabular (:class:`TabularLearner`: visit-count step sizes) or neural
  (:class:`NeuralLearner`: the per-agent NTK-parameterised MLP with projected SGD of the
  paper's neural analysis, :class:`~handoffq.learn.ntk_mlp.NTKMLPEstimator`);
* naive independent Q (same settings, own-max bootstrap: the wrong fixed point);
* centralised Q on the latent state (privileged, tabular: the upper reference).

``iid``: a distribution over the model's decision-epoch states; every round then starts from
independent draws of it instead of the Markov stream (the i.i.d.-sampling control of T2's
handoff-probability scan).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from handoffq.baselines.centralised import train_latent_q
from handoffq.baselines.naive import NaiveIndependentAgent
from handoffq.config import option
from handoffq.envs.synthetic import SyntheticConfig, SyntheticVecEnv
from handoffq.learn.agent import ICQAgent
from handoffq.learn.exploration import Exploration
from handoffq.learn.schedules import StepSize
from handoffq.learn.team import make_team
from handoffq.runtime.inprocess import BatchedRunner

__all__ = ["NeuralLearner", "TabularLearner", "train_centralised", "train_neural", "train_tabular", "train_team"]


@dataclasses.dataclass(frozen=True)
class TabularLearner:
    """Tabular IC-Q: step size ``a0 / visits(o, k) ** power`` (Robbins-Monro for power in (0.5, 1])."""

    a0: float = option(1.0, "step size scale a0 (a0 / visits**power)", above=0.0, max=10.0)
    power: float = option(0.7, "visit-count exponent of the step size", above=0.5, max=1.0)

    def schedule(self) -> StepSize:
        """The step-size schedule."""
        return StepSize("visits", self.a0, power=self.power)


@dataclasses.dataclass(frozen=True)
class NeuralLearner:
    """Neural IC-Q: per-agent ReLU MLP (NTK parameterisation), projected SGD (Adam as an option).

    The loss is the batch mean of one round's squared TD errors; the step is
    ``lr / (1 + t / lr_t0)`` with ``t`` the agent's samples; after each step the parameters
    are projected into the ball of radius ``radius`` around their initial values.
    """

    depth: int = option(2, "hidden layers (2: the paper's 3-layer MLP)", min=1)
    lr: float = option(30.0, "step size (width-independent in the NTK parameterisation)", above=0.0)
    lr_t0: float = option(5000.0, "step decay lr / (1 + t / lr_t0), t = the agent's samples", above=0.0)
    radius: float | None = option(20.0, "projection radius around the initial parameters (none: no projection)",
                                  above=0.0)
    optimizer: Literal["sgd", "adam"] = option("sgd", "sgd (projected SGD, the analysis) or adam")

    def estimator_kwargs(self, width: int) -> dict[str, Any]:
        """Keyword arguments of :class:`~handoffq.learn.ntk_mlp.NTKMLPEstimator` at ``width``."""
        return {"width": int(width), "depth": self.depth, "lr": self.lr, "radius": self.radius,
                "optimizer": self.optimizer}

    def schedule(self) -> StepSize:
        """The step-size schedule (multiplies ``lr``)."""
        return StepSize("decay", 1.0, t0=self.lr_t0)


def train_team(
    cfg: SyntheticConfig,
    budget: int,
    seed: int,
    learner: Literal["icq", "naive"] = "icq",
    estimator: str = "tabular",
    estimator_kwargs: dict[str, Any] | None = None,
    schedule: StepSize | None = None,
    n_envs: int = 256,
    iid: np.ndarray | None = None,
) -> list[Any]:
    """Train a team for exactly ``budget`` handoffs with ``n_envs`` parallel episodes; return
    the agents (``learner``: ``"icq"``, value passing, or ``"naive"``, own-max bootstrap)."""
    if learner not in ("icq", "naive"):
        raise ValueError(f"unknown learner {learner!r} (expected 'icq' or 'naive')")
    env = SyntheticVecEnv(cfg, n_envs=n_envs, seed=seed)
    team = make_team(env, seed=seed, estimator=estimator, estimator_kwargs=estimator_kwargs,
                     exploration=Exploration(epsilon=1.0), schedule=schedule,
                     agent_cls=ICQAgent if learner == "icq" else NaiveIndependentAgent)
    runner = BatchedRunner(env, team, seed=seed)
    if iid is not None:
        dist = np.asarray(iid, dtype=float)
        runner.loop.before_round = lambda _: env.resample(dist)
    runner.train(budget)
    return team


def train_tabular(
    cfg: SyntheticConfig, settings: TabularLearner, budget: int, seed: int, n_envs: int,
    learner: Literal["icq", "naive"] = "icq", iid: np.ndarray | None = None,
) -> list[Any]:
    """Tabular IC-Q (or naive Q) with ``settings``."""
    return train_team(cfg, budget, seed, learner=learner, schedule=settings.schedule(), n_envs=n_envs, iid=iid)


def train_neural(
    cfg: SyntheticConfig, settings: NeuralLearner, width: int, budget: int, seed: int, n_envs: int,
    learner: Literal["icq", "naive"] = "icq", iid: np.ndarray | None = None,
) -> list[Any]:
    """Neural IC-Q (or naive Q) with ``settings`` at hidden width ``width``."""
    return train_team(cfg, budget, seed, learner=learner, estimator="ntk_mlp",
                      estimator_kwargs=settings.estimator_kwargs(width), schedule=settings.schedule(),
                      n_envs=n_envs, iid=iid)


def train_centralised(
    cfg: SyntheticConfig, budget: int, seed: int, n_envs: int = 256, schedule: StepSize | None = None
) -> np.ndarray:
    """Tabular SMDP Q-learning on the *latent* decision-epoch state (privileged: it reads the
    environment's latent state; the upper reference), uniform behaviour. Returns ``Q(x, k)``
    over the exact model's states, ``-inf`` at inadmissible successors."""
    env = SyntheticVecEnv(cfg, n_envs=n_envs, seed=seed)
    n_states = cfg.n_agents * env.n_latent * cfg.n_private**cfg.n_agents
    q = train_latent_q(env, n_states, budget, seed=seed, schedule=schedule)
    admissible = np.repeat(env.inst.admissible, n_states // cfg.n_agents, axis=0)
    return np.where(admissible, q, -np.inf)
