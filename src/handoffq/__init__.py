"""handoffq: IC-Q, decentralised learning of handoffs under interface constraints.

The public surface (everything else is importable from its module):

* environments: :class:`HandoffEnv` (protocol), :class:`Transition`, :class:`LocalStep`,
  :class:`EnvError`, :func:`check_env`, :class:`SyncVecEnv`;
* the handoff message :class:`HandoffMessage` (the only thing an agent receives from another);
* agents: :class:`HandoffAgent` (protocol), :class:`ICQAgent`, :func:`make_team`,
  :class:`Exploration`, :class:`StepSize`, :func:`save_team` / :func:`load_team`;
* runners: :class:`InProcessRunner`, :class:`BatchedRunner`, :func:`make_runner`,
  :func:`evaluate_team`;
* experiments: :func:`run_experiment`;
* learned handoffs for agents you already run: :class:`Router` (routing after each agent's
  work), :data:`END`, :class:`AgentNode` (one agent's learner), :class:`RouterError`.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_EXPORTS = {
    "HandoffEnv": "handoffq.core.env",
    "Transition": "handoffq.core.env",
    "LocalStep": "handoffq.core.env",
    "EnvError": "handoffq.core.env",
    "PreconfiguredAgents": "handoffq.core.env",
    "check_env": "handoffq.core.check",
    "SyncVecEnv": "handoffq.core.vec",
    "HandoffMessage": "handoffq.core.messages",
    "HandoffAgent": "handoffq.core.agent",
    "ICQAgent": "handoffq.learn.agent",
    "make_team": "handoffq.learn.team",
    "Exploration": "handoffq.learn.exploration",
    "StepSize": "handoffq.learn.schedules",
    "save_team": "handoffq.runtime.checkpoint",
    "load_team": "handoffq.runtime.checkpoint",
    "InProcessRunner": "handoffq.runtime.inprocess",
    "BatchedRunner": "handoffq.runtime.inprocess",
    "evaluate_team": "handoffq.runtime.inprocess",
    "make_runner": "handoffq.runtime",
    "run_experiment": "handoffq.experiments.registry",
    "Router": "handoffq.router",
    "END": "handoffq.router",
    "AgentNode": "handoffq.router",
    "RouterError": "handoffq.router",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    """Import public names on first use (``import handoffq`` stays light)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'handoffq' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
