"""The experiment registry: ``handoffq experiment NAME`` and ``handoffq reproduce`` read it.

An experiment module declares its configuration class (:class:`~handoffq.config.ExperimentConfig`)
and ``run(cfg, ctx) -> summary``, and registers an :class:`Experiment`. ``reproduce`` runs the
experiments in the order of :data:`MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handoffq.config import ExperimentConfig
from handoffq.experiments.common import ExperimentError, RunContext

__all__ = ["MODULES", "Experiment", "get", "names", "register", "run_experiment"]

MODULES = (
    "handoffq.experiments.t1",
    "handoffq.experiments.t2",
    "handoffq.experiments.routing",
    "handoffq.experiments.llm_math",
    "handoffq.experiments.cpu",
)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: name, one-line description, configuration class, runner, and
    the summary keys its report leads with."""

    name: str
    description: str
    config: type[ExperimentConfig]
    run: Callable[[Any, RunContext], dict[str, Any]]
    headline: tuple[str, ...] = ()


_REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    """Add an experiment to the registry."""
    _REGISTRY[exp.name] = exp
    return exp


def _load() -> None:
    for mod in MODULES:
        importlib.import_module(mod)


def names() -> list[str]:
    """Registered experiment names, in ``reproduce`` order."""
    _load()
    order = [m.rsplit(".", 1)[1].replace("_", "-") for m in MODULES]
    return sorted(_REGISTRY, key=lambda n: order.index(n) if n in order else len(order))


def get(name: str) -> Experiment:
    """The experiment called ``name`` (clear error listing the known ones otherwise)."""
    _load()
    if name not in _REGISTRY:
        raise ExperimentError(f"unknown experiment {name!r} (known: {', '.join(names())})")
    return _REGISTRY[name]


def run_experiment(
    name: str,
    out: str | Path,
    preset: str = "full",
    variant: str | None = None,
    seed: int = 0,
    runtime: str = "inprocess",
    workers: int = 1,
    **options: Any,
) -> dict[str, Any]:
    """Run experiment ``name`` into ``out`` from Python (what the CLI does, without progress).

    ``options`` are the experiment's options by field name (``n_test=5``); they are checked
    before anything runs. Returns the summary.
    """
    from handoffq.config import build_config

    exp = get(name)
    cfg = build_config(exp.config, preset, variant, [(k, v, "run_experiment") for k, v in options.items()])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = RunContext(out=out, preset=preset, variant=variant, seed=seed, runtime=runtime, workers=workers,
                     options=dict(options))
    return exp.run(cfg, ctx)
