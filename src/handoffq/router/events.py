"""What a router tells its listeners (tracing, logging): subclass :class:`RouterListener`.

Listeners see names, ids, costs and the three numbers of each handoff message; never an
agent's view or learner. They are called synchronously under the router's lock, so they
should be quick (a listener that raises propagates to the caller of ``next``/``finish``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from handoffq.core.messages import HandoffMessage

if TYPE_CHECKING:
    from handoffq.router.router import Task, TaskOutcome

__all__ = ["RouterListener"]


class RouterListener:
    """No-op callbacks; override the ones you need."""

    def on_task_start(self, task: Task) -> None:
        """A task started."""

    def on_report(self, task: Task, agent: str, cost: float, duration: int) -> None:
        """``agent`` finished an invocation (``task.next`` was called for it)."""

    def on_message(self, task: Task, source: str, target: str, message: HandoffMessage) -> None:
        """``target``'s reply reached ``source``, the agent that handed off to it (``target`` is END
        for the reward that ends a task)."""

    def on_decision(self, task: Task, agent: str, successor: str) -> None:
        """``agent`` handed off to ``successor`` (END: it ended the task)."""

    def on_finish(self, task: Task, outcome: TaskOutcome) -> None:
        """A task finished (by END and ``finish``, by ``finish`` alone, or by the handoff cap)."""
