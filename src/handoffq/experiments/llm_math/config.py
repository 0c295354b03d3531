"""The llm-math experiment's options (defaults: the full preset; :meth:`LLMMathConfig.quick`:
the CI-sized preset; ``--preset paper-arranged``: the ARRANGED simulator corner)."""

from __future__ import annotations

import dataclasses
from typing import Literal

from handoffq.config import ExperimentConfig, option
from handoffq.experiments.common import ExperimentError
from handoffq.learn.replay import PlusConfig
from handoffq.llm.simulated import PRESETS, SCModel

__all__ = ["DEFAULT_LEARNER", "SIM_DATASETS", "LLMMathConfig"]

SIM_DATASETS = ("mathqa", "mmlu-hs", "mmlu-elem")

DEFAULT_LEARNER = PlusConfig()
"""ICQ+ as used by the experiment (:class:`~handoffq.learn.replay.PlusConfig` defaults):
decentralised replay with traced values (lambda 1), Boltzmann exploration (temperature 0.05)
after 3,000 uniformly random own decisions per agent, batch regression only. Chosen on seeds
0-4 only; each choice and its ablation: ``docs/llm_math.md``."""


@dataclasses.dataclass(frozen=True)
class LLMMathConfig(ExperimentConfig):
    """LLM math settings (see :mod:`handoffq.experiments.llm_math`). Options left at ``None``
    take a default that depends on the simulator preset or the backend."""

    backend: Literal["simulated", "openai", "llamacpp"] = option(
        "simulated", "LLM backend (simulated: the calibrated role model, labelled SIMULATED)")
    simulator: Literal["default", "paper-arranged"] = option(
        "default", "simulator free choices: default (copy 0.98, cap 8) or paper-arranged (copy 1, cap 5: "
        "ARRANGED so that the best workflow is the optimum)")
    dataset: Literal["mathqa", "mmlu-hs", "mmlu-elem", "arith"] | None = option(
        None, "dataset (default: all three simulated calibrations, or arith with a real backend)")
    data: str | None = option(None, "data file or folder (MMLU CSV or MathQA JSON; always loaded and validated)")
    seeds: int = option(5, "seeds --seed .. --seed + seeds - 1 (backend seed and learning seed)", min=1)
    interface: Literal["budget", "bits4"] = option(
        "budget", "default interface: budget (4 bits + remaining invocations) or bits4 (the paper's 4 bits)")
    compare_interfaces: bool = option(True, "also train IC-Q under the other interface")
    compare_seeds: int | None = option(None, "seeds trained under the other interface (none: all)", min=1)
    copy: float | None = option(None, "copy fidelity of the editor (none: the simulator preset's)",
                                min=0.5, max=1.0)
    max_handoffs: int | None = option(None, "invocation cap; reaching it ends unanswered (none: the preset's)",
                                      min=2, max=12)
    icq_calls: int = option(600_000, "IC-Q training budget in LLM calls (per dataset, seed and interface)", min=1)
    estimator: Literal["mlp", "tabular"] = option("mlp", "IC-Q exploit estimator (paper: per-agent MLP 3 x 512)")
    mlp_width: int = option(512, "MLP hidden width", min=1)
    mlp_depth: int = option(2, "MLP hidden layers (2 hidden + output = the paper's 3 layers)", min=1)
    mlp_lr: float = option(1e-3, "Adam learning rate of the MLP (simulated) / SGD rate (real backend)", above=0.0)
    mlp_steps: int = option(30, "Adam steps per replay refit of the MLP", min=1)
    learner: PlusConfig = option(DEFAULT_LEARNER, "ICQ+ switches")
    n_envs: int = option(256, "parallel simulated episodes", min=1)
    n_train: int | None = option(None, "training questions (default: 100,000 simulated, 100 real)", min=1)
    n_test: int | None = option(None, "test questions (default: 100,000 simulated / 5,000 quick, 100 real)",
                                min=1)
    n_play: int | None = option(None, "test questions played through the text environment per column "
                                "(default 300 / 60 quick; 100 real)", min=1)
    curve_points: int = option(15, "learning-curve checkpoints per IC-Q run", min=2)
    sc_model: SCModel = option(SCModel(), "self-consistency per-sample model")
    sensitivity: bool = option(True, "compute the copy x cap sensitivity grid")
    sens_copies: tuple[float, ...] = option((0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 1.0),
                                            "sensitivity grid: copy fidelities", min=0.5, max=1.0)
    sens_caps: tuple[int, ...] = option((5, 6, 7, 8, 9, 10), "sensitivity grid: caps", min=2, max=12)
    # real backends (the text environment end to end; handoffq.experiments.llm_math.real)
    model: str | None = option(None, "model name (openai) or GGUF path (llamacpp)")
    base_url: str | None = option(None, "OpenAI-compatible endpoint (default: the OpenAI API)")
    api_key_env: str = option("OPENAI_API_KEY", "environment variable holding the API key")
    episodes: int | None = option(None, "real backend: training episodes (default 300)", min=1)
    call_cost: float = option(0.0, "reward cost per LLM call", min=0.0)
    concurrency: int = option(4, "real backend: concurrent LLM requests", min=1)
    cache: str | None = option(None, "real backend: SQLite request cache (default: in the output folder)")
    max_tokens: int = option(256, "real backend: max tokens per LLM answer", min=1)
    samples_per_prompt: int = option(1, "real backend: samples per prompt", min=1)
    epsilon: float = option(0.5, "real backend: initial exploration rate", min=0.0, max=1.0)
    epsilon_min: float = option(0.02, "real backend: exploration floor", min=0.0, max=1.0)
    epsilon_decay: float = option(0.9999, "real backend: exploration decay per decision", above=0.0, max=1.0)
    step_power: float = option(0.6, "real backend: visit-count exponent of the step size", above=0.5, max=1.0)

    @classmethod
    def quick(cls) -> LLMMathConfig:
        """CI-sized: tables, 300,000 calls, 5,000 test questions per seed, a smaller copy grid,
        and the 4-bit interface on the first seed only (the default interface on all five)."""
        return cls(icq_calls=300_000, estimator="tabular", n_test=5_000, n_play=60, compare_seeds=1,
                   sens_copies=(0.95, 0.97, 0.98, 0.99, 1.0), curve_points=10)

    @classmethod
    def variants(cls) -> dict[str, dict[str, object]]:
        """``--preset paper-arranged``: copy 1 and cap 5 (labelled ARRANGED in every output)."""
        return {"paper-arranged": {"simulator": "paper-arranged"}}

    def validate(self) -> None:
        """A real backend needs a model; the simulator has calibrations for three datasets only."""
        if self.backend != "simulated" and self.model is None:
            raise ExperimentError(f"option --backend {self.backend} needs --model")
        if self.backend == "simulated" and self.dataset == "arith":
            raise ExperimentError(
                "option --dataset: the simulated backend has calibrations for mathqa, mmlu-hs and "
                "mmlu-elem only; use --dataset arith with a real backend")
        if self.backend == "simulated" and self.data is not None and self.dataset is None:
            raise ExperimentError("option --data needs --dataset (which calibration the file's questions get)")
        if self.data is not None and self.dataset != "arith":
            from handoffq.envs.llm_math.data import load_dataset

            load_dataset(self.dataset or "mathqa", self.data)  # always validated (file, line, field)

    @property
    def arranged(self) -> bool:
        """Whether the paper-arranged simulator corner runs."""
        return self.simulator == "paper-arranged"

    def resolved(self) -> tuple[float, int]:
        """(copy fidelity, cap) after the simulator preset."""
        p = PRESETS[self.simulator]
        copy = self.copy if self.copy is not None else float(p["copy"])
        cap = self.max_handoffs if self.max_handoffs is not None else int(p["max_handoffs"])
        return copy, cap

    def datasets(self) -> tuple[str, ...]:
        """The datasets of a simulated run."""
        return (self.dataset,) if self.dataset else SIM_DATASETS
