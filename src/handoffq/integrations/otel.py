"""OpenTelemetry tracing of a router: a span per task, per agent invocation and per handoff.

.. code-block:: python

    from handoffq.integrations.otel import trace_router

    trace_router(router)                      # uses the global tracer provider (or pass one)

Spans (all ``INTERNAL``, parented under the task's span, with explicit start and end times):

* ``invoke_workflow handoffq`` - one task: ``gen_ai.operation.name = "invoke_workflow"``,
  ``gen_ai.conversation.id`` = the task id; at its end ``handoffq.task.reward``,
  ``handoffq.task.cost``, ``handoffq.task.handoffs``, ``handoffq.task.capped``;
* ``invoke_agent {agent}`` - one invocation, from the handoff that started it to its report:
  ``gen_ai.operation.name = "invoke_agent"``, ``gen_ai.agent.name``, ``gen_ai.conversation.id``,
  ``handoffq.invocation.cost``, ``handoffq.invocation.duration``;
* ``handoff {source} -> {target}`` - one handoff, from the decision to the reply that taught
  the source: ``gen_ai.operation.name = "handoff"``, ``handoffq.handoff.source_agent``,
  ``handoffq.handoff.target_agent`` (``END`` for the reward that ends a task), and the three
  numbers ``handoffq.message.value``, ``handoffq.message.duration``, ``handoffq.message.reward``.

The ``gen_ai.*`` names are the OpenTelemetry GenAI semantic conventions (agent spans);
the conventions define no handoff attributes in the version installed here, so the handoff's
source, target and message use the ``handoffq.*`` namespace. No view, prompt or artifact is
recorded. Install with ``pip install handoffq[otel]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from handoffq.core.messages import HandoffMessage
from handoffq.router.errors import END
from handoffq.router.events import RouterListener
from handoffq.router.router import Router, Task, TaskOutcome

__all__ = ["RouterTracer", "trace_router"]


@dataclass
class _Open:
    """A task's open root span, when its current invocation started, when each agent decided."""

    root: Any
    since: int
    decided: dict[str, int] = field(default_factory=dict)


class RouterTracer(RouterListener):
    """A :class:`~handoffq.router.events.RouterListener` that writes OpenTelemetry spans."""

    def __init__(self, tracer_provider: Any = None) -> None:
        from opentelemetry import trace

        self._trace = trace
        self.tracer = trace.get_tracer("handoffq.router", tracer_provider=tracer_provider)
        self._tasks: dict[str, _Open] = {}

    def _child(self, task: Task, name: str, start: int, attributes: dict[str, Any]) -> None:
        st = self._tasks.get(task.id)
        if st is None:
            return
        ctx = self._trace.set_span_in_context(st.root)
        span = self.tracer.start_span(name, context=ctx, start_time=start, attributes=attributes)
        span.end(end_time=time.time_ns())

    def on_task_start(self, task: Task) -> None:
        """Open the task's span."""
        now = time.time_ns()
        root = self.tracer.start_span(
            "invoke_workflow handoffq", start_time=now,
            attributes={"gen_ai.operation.name": "invoke_workflow", "gen_ai.conversation.id": task.id,
                        "handoffq.task.mode": task.mode},
        )
        self._tasks[task.id] = _Open(root, now)

    def on_report(self, task: Task, agent: str, cost: float, duration: int) -> None:
        """One invocation span, from the handoff that started it until now."""
        st = self._tasks.get(task.id)
        if st is None:
            return
        self._child(task, f"invoke_agent {agent}", st.since, {
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent, "gen_ai.conversation.id": task.id,
            "handoffq.invocation.cost": cost, "handoffq.invocation.duration": duration,
        })

    def on_decision(self, task: Task, agent: str, successor: str) -> None:
        """Remember when ``agent`` handed off (the next invocation and the handoff start here)."""
        st = self._tasks.get(task.id)
        if st is not None:
            st.since = st.decided[agent] = time.time_ns()

    def on_message(self, task: Task, source: str, target: str, message: HandoffMessage) -> None:
        """One handoff span with the three numbers the source learned from."""
        st = self._tasks.get(task.id)
        if st is None:
            return
        tgt = "END" if target == END else target
        self._child(task, f"handoff {source} -> {tgt}", st.decided.get(source, st.since), {
            "gen_ai.operation.name": "handoff", "gen_ai.conversation.id": task.id,
            "handoffq.handoff.source_agent": source, "handoffq.handoff.target_agent": tgt,
            "handoffq.message.value": message.value, "handoffq.message.duration": message.duration,
            "handoffq.message.reward": message.reward,
        })

    def on_finish(self, task: Task, outcome: TaskOutcome) -> None:
        """Close the task's span with its outcome."""
        st = self._tasks.pop(task.id, None)
        if st is None:
            return
        st.root.set_attributes({"handoffq.task.reward": outcome.reward, "handoffq.task.cost": outcome.cost,
                                "handoffq.task.handoffs": outcome.handoffs, "handoffq.task.capped": outcome.capped})
        st.root.end()

    def on_abandon(self, task: Task) -> None:
        """Close the task's span, marked abandoned."""
        st = self._tasks.pop(task.id, None)
        if st is not None:
            st.root.set_attribute("handoffq.task.abandoned", True)
            st.root.end()


def trace_router(router: Router, tracer_provider: Any = None) -> RouterTracer:
    """Trace ``router`` with OpenTelemetry (the global tracer provider unless one is given)."""
    tracer = RouterTracer(tracer_provider)
    router.add_listener(tracer)
    return tracer
