"""T2's options (defaults: the full preset; :meth:`T2Config.quick`: the CI-sized preset)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handoffq.config import ExperimentConfig, option
from handoffq.envs.synthetic import SyntheticConfig
from handoffq.experiments.synthetic.learners import NeuralLearner, TabularLearner

__all__ = ["T2Config"]


@dataclasses.dataclass(frozen=True)
class T2Config(ExperimentConfig):
    """T2 settings (see :mod:`handoffq.experiments.t2`)."""

    seeds: int = option(5, "instances (and learning seeds) of the budget and p scans", min=1)
    budgets: tuple[int, ...] = option((1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000),
                                      "budget scan: handoffs of tabular IC-Q at rho = 1", min=1)
    tabular: TabularLearner = option(TabularLearner(), "tabular IC-Q step sizes (budget and p scans)")
    ps: tuple[float, ...] = option((1.0, 0.8, 0.65, 0.5, 0.4, 0.3, 0.2), "p scan: handoff probabilities",
                                   above=0.0, max=1.0)
    p_budget: int = option(100_000, "p scan: handoffs per cell", min=1)
    p_envs: int = option(4, "p scan: parallel episodes (each one correlated sample stream)", min=1)
    p_tau_max: int = option(60, "p scan: longest invocation", min=1)
    p_gamma_eff: float = option(0.45 / 0.55, "p scan: per-handoff discount E[gamma_p^tau] held fixed across p",
                                above=0.0, max=0.999)
    p_family: Literal["commit", "workflow", "dense"] = option(
        "commit", "p scan: instance family (commit: mixing slows as p falls)")
    p_control: bool = option(True, "p scan: repeat it on the workflow family (control: there mixing speeds up)")
    p_learners: tuple[str, ...] = option(("neural", "tabular"), "p scan: learners (the first is the headline)",
                                         choices=("neural", "tabular"))
    p_iid_control: bool = option(True, "p scan: repeat each cell with i.i.d. states from the stationary law")
    p_width: int = option(32, "p scan: hidden width of the neural learner", min=1)
    p_neural: NeuralLearner = option(NeuralLearner(lr=3.0, radius=100.0),
                                     "p scan: neural learner (batches of about one sample per agent; Q* is up to "
                                     "30x larger there, hence the wider projection)")
    widths: tuple[int, ...] = option((8, 16, 32, 64, 128, 256, 512), "width scan: hidden widths", min=1)
    width_rhos: tuple[float, ...] = option((1.0, 0.5, 0.2), "width scan: retention ratios", above=0.0, max=1.0)
    width_seeds: int = option(5, "width scan: instances (and learning seeds)", min=1)
    width_budget: int = option(400_000, "width scan: handoffs per cell", min=1)
    width_envs: int = option(64, "width scan: parallel episodes (one SGD step per agent per round)", min=1)
    neural: NeuralLearner = option(NeuralLearner(), "width scan: neural learner")
    budget_scale: float = option(1.0, "multiply every budget by this factor (tiny smoke runs)", above=0.0, max=100.0)
    synthetic: SyntheticConfig = option(SyntheticConfig(), "instance family of the budget and width scans")

    @classmethod
    def quick(cls) -> T2Config:
        """CI-sized preset: budgets to 100k, p in {1, 0.5, 0.3}, widths 8 / 64 / 512, 3 seeds."""
        return cls(seeds=3, budgets=(1_000, 3_000, 10_000, 30_000, 100_000), ps=(1.0, 0.5, 0.3),
                   p_budget=20_000, p_control=False, widths=(8, 64, 512), width_seeds=3, width_budget=100_000)

    def scaled(self) -> T2Config:
        """The configuration with every budget multiplied by ``budget_scale`` (at least 100)."""
        s = self.budget_scale

        def f(b: int) -> int:
            return max(100, int(b * s))

        return dataclasses.replace(self, budgets=tuple(sorted({f(b) for b in self.budgets})), p_budget=f(self.p_budget),
                                   width_budget=f(self.width_budget), budget_scale=1.0)
