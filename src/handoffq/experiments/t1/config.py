"""T1's options (defaults: the full preset; :meth:`T1Config.quick`: the CI-sized preset)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handoffq.config import ExperimentConfig, option
from handoffq.envs.synthetic import SyntheticConfig
from handoffq.experiments.common import ExperimentError
from handoffq.experiments.synthetic.learners import NeuralLearner, TabularLearner

__all__ = ["T1Config"]


@dataclasses.dataclass(frozen=True)
class T1Config(ExperimentConfig):
    """T1 settings (see :mod:`handoffq.experiments.t1`)."""

    seeds: int = option(5, "instances (instance seed = --seed + s; also the learning seed)", min=1)
    rhos: tuple[float, ...] = option((1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1),
                                     "retention ratios (must include 1)", above=0.0, max=1.0)
    designs: tuple[str, ...] = option(("similar", "dissimilar"), "value-aware merge designs at every rho < 1",
                                      choices=("similar", "dissimilar", "rank"))
    random_merges: int = option(2, "random merge designs at every rho < 1", min=0)
    learner: Literal["neural", "tabular"] = option("neural", "IC-Q learner behind the headline keys")
    compare: bool = option(True, "also run the other learner (its keys carry a _tabular or _neural suffix)")
    compare_rhos: tuple[float, ...] | None = option(None, "retention ratios of the other learner (none: all)",
                                                    above=0.0, max=1.0)
    baselines: bool = option(True, "naive independent Q and centralised latent-state Q at rho = 1")
    tabular_budget: int = option(200_000, "handoffs per tabular cell", min=1)
    tabular_envs: int = option(256, "parallel episodes of a tabular cell", min=1)
    neural_budget: int = option(300_000, "handoffs per neural cell", min=1)
    neural_envs: int = option(64, "parallel episodes of a neural cell (one SGD step per agent per round)", min=1)
    width: int = option(64, "hidden width of the neural learner", min=1)
    tabular: TabularLearner = option(TabularLearner(), "tabular IC-Q step sizes")
    neural: NeuralLearner = option(NeuralLearner(), "neural IC-Q network and optimiser")
    synthetic: SyntheticConfig = option(SyntheticConfig(), "the instance family (rho, merge and instance seed "
                                        "are set per cell)")

    @classmethod
    def quick(cls) -> T1Config:
        """CI-sized: 5 retention ratios, tabular IC-Q behind the headline; neural IC-Q beside it
        at rho = 1 only (its full scan does not fit CI time)."""
        return cls(rhos=(1.0, 0.8, 0.6, 0.4, 0.2), learner="tabular", tabular_budget=100_000,
                   compare_rhos=(1.0,), neural_budget=200_000)

    def validate(self) -> None:
        """The highest-retention baseline must be in every scan; designs must exist."""
        if 1.0 not in self.rhos:
            raise ExperimentError("option --rhos must include 1.0 (the highest-retention baseline)")
        if self.compare and self.compare_rhos is not None and 1.0 not in self.compare_rhos:
            raise ExperimentError("option --compare-rhos must include 1.0 (the highest-retention baseline)")
        if not self.designs and not self.random_merges and len(self.rhos) > 1:
            raise ExperimentError("options --designs and --random-merges: at least one merge design is needed")
