"""Learned handoffs for the agents you already run: :class:`Router`, routing after each agent's work.

See :mod:`handoffq.router.router` for the message flow and ``docs/router.md`` for a guide.
"""

from handoffq.router.diagnostics import ViewDiagnostics, ViewFinding, ViewWarning, check_router
from handoffq.router.errors import END, RouterError, TaskStateError, UnseenViewError
from handoffq.router.events import RouterListener
from handoffq.router.learners import MLP, Tabular
from handoffq.router.node import AgentNode, UnseenViewWarning
from handoffq.router.router import Explanation, Router, Task, TaskOutcome, mode_flags

__all__ = [
    "END",
    "MLP",
    "AgentNode",
    "Explanation",
    "Router",
    "RouterError",
    "RouterListener",
    "Tabular",
    "Task",
    "TaskOutcome",
    "TaskStateError",
    "UnseenViewError",
    "UnseenViewWarning",
    "ViewDiagnostics",
    "ViewFinding",
    "ViewWarning",
    "check_router",
    "mode_flags",
]
