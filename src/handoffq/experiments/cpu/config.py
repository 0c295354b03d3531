"""The CPU experiment's options (defaults: the full preset; :meth:`CPUExperimentConfig.quick`: CI)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handoffq.config import ExperimentConfig, option
from handoffq.envs.cpu import CPUConfig
from handoffq.experiments.common import ExperimentError

__all__ = ["HEADLINE_FRACTION", "METHODS", "CPUExperimentConfig"]

HEADLINE_FRACTION = 0.2
METHODS = ("icq", "memorising", "fixed_pipeline", "centralised", "random")


@dataclasses.dataclass(frozen=True)
class CPUExperimentConfig(ExperimentConfig):
    """CPU experiment settings (see :mod:`handoffq.experiments.cpu`)."""

    seeds: int = option(5, "seeds per method and fraction (seed = --seed + s)", min=1)
    fractions: tuple[float, ...] = option((0.1, 0.2, 0.5, 1.0), "training fractions of the integer range "
                                          "(must include 0.2, the headline)", above=0.0, max=1.0)
    methods: tuple[str, ...] = option(METHODS, "methods run at the headline fraction", choices=METHODS)
    methods_all_fractions: tuple[str, ...] = option(("icq", "memorising"), "methods also run at every "
                                                    "other fraction", choices=METHODS)
    budget: int = option(1_000_000, "training activations (= handoffs) per run", min=1)
    checkpoints: int = option(4, "evaluations (seen and unseen) along the budget", min=1)
    n_envs: int = option(128, "episodes in flight at once while training", min=1)
    n_test: int = option(500, "test tasks per part (seen / unseen) and seed, the same number per kind", min=5)
    train_pool: int = option(50_000, "training tasks drawn from the training part (a fresh pool per seed)",
                             min=1)
    width: int = option(64, "hidden width of every agent's MLPs", min=1)
    depth: int = option(2, "hidden layers of every MLP", min=1)
    lr: float = option(1e-3, "Adam step size", above=0.0)
    lr_final: float = option(0.1, "step-size multiplier at the end of the budget (linear from 1)",
                             above=0.0, max=1.0)
    inputs: Literal["relations", "features", "features_relations", "bits"] = option(
        "relations", "how an agent's network reads its own block: relations (valid bits + pairwise "
        "differences of its values), features (valid bits + values), both, or binary digits")
    value_transform: Literal["relative", "linear", "log"] = option(
        "relative", "value scaling before the network: relative (divided by the block's largest value), "
        "linear (x / (V - 1)), log")
    replay: int = option(20_000, "per-estimator replay buffer of the agent's own updates (0: none)", min=0)
    replay_steps: int = option(4, "replayed minibatches (32 rows) per update", min=0)
    eps_start: float = option(0.5, "initial exploration rate (epsilon-greedy)", min=0.0, max=1.0)
    eps_end: float = option(0.05, "final exploration rate", min=0.0, max=1.0)
    eps_frac: float = option(0.5, "fraction of the budget over which epsilon falls linearly", above=0.0, max=1.0)
    table_alpha: float = option(0.1, "constant step size of the memorising tables", above=0.0, max=1.0)
    central_width: int = option(128, "hidden width of the centralised learner's shared networks", min=1)
    env: CPUConfig = option(CPUConfig(), "the machine and its rewards")

    @classmethod
    def quick(cls) -> CPUExperimentConfig:
        """CI preset: the full preset's learners and budget at the headline fraction only, one
        seed, 400 test tasks per part, and every baseline but the centralised learner (the
        slowest; it runs in the full preset)."""
        return cls(seeds=1, fractions=(HEADLINE_FRACTION,), methods=("icq", "memorising", "fixed_pipeline", "random"),
                   n_test=400, train_pool=20_000)

    def validate(self) -> None:
        """The headline fraction must be run; exploration must fall."""
        if HEADLINE_FRACTION not in self.fractions:
            raise ExperimentError(f"option --fractions must include the headline fraction {HEADLINE_FRACTION}")
        if "icq" not in self.methods:
            raise ExperimentError("option --methods must include icq (the headline)")
        if self.eps_end > self.eps_start:
            raise ExperimentError("options --eps-end and --eps-start: the final rate exceeds the initial one")
