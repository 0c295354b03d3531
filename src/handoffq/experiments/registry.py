"""The experiment registry: ``handoffq experiment NAME`` and ``handoffq reproduce`` read it.

An experiment module defines ``run(ctx: RunContext) -> dict`` (the summary) and calls
:func:`register`. Add a new module's import path to ``_MODULES``; ``reproduce`` runs them in
that order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from handoffq.experiments.common import ExperimentError, RunContext

__all__ = ["Experiment", "register", "get", "names"]

_MODULES = (
    "handoffq.experiments.t1",
    "handoffq.experiments.t2",
    "handoffq.experiments.routing",
    "handoffq.experiments.llm_math",
    "handoffq.experiments.cpu",
)


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its name, one-line description, runner and report hook."""

    name: str
    description: str
    run: Callable[[RunContext], dict]
    headline: tuple[str, ...] = ()


_REGISTRY: dict[str, Experiment] = {}


def register(exp: Experiment) -> Experiment:
    """Add an experiment to the registry."""
    _REGISTRY[exp.name] = exp
    return exp


def _load() -> None:
    for mod in _MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:  # an experiment not built yet
            if exc.name != mod:
                raise


def names() -> list[str]:
    """Registered experiment names, in ``reproduce`` order."""
    _load()
    order = [m.rsplit(".", 1)[1].replace("_", "-") for m in _MODULES]
    return sorted(_REGISTRY, key=lambda n: order.index(n) if n in order else len(order))


def get(name: str) -> Experiment:
    """The experiment called ``name`` (clear error listing the known ones otherwise)."""
    _load()
    if name not in _REGISTRY:
        raise ExperimentError(f"unknown experiment {name!r} (known: {', '.join(names())})")
    return _REGISTRY[name]
