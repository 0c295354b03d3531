"""OpenTelemetry spans of a router, checked with the in-memory exporter."""

from __future__ import annotations

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from handoffq import END, Router
from handoffq.integrations.otel import trace_router


def _traced() -> tuple[Router, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    r = Router(seed=0, cost_weight=2.0, diagnostics=False)
    r.add_agent("triage", successors=["solver", END])
    r.add_agent("solver", successors=[END])
    trace_router(r, provider)
    return r, exporter


def test_a_span_per_task_invocation_and_handoff_with_the_three_numbers():
    r, exporter = _traced()
    t = r.start_task("t-1")
    t.next("triage", "q", cost=0.0, chosen="solver")
    t.next("solver", "q", cost=0.25, duration=3)
    t.finish(1.0)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"invoke_workflow handoffq", "invoke_agent triage", "invoke_agent solver",
                          "handoff triage -> solver", "handoff solver -> END"}
    root = spans["invoke_workflow handoffq"]
    assert root.attributes["gen_ai.conversation.id"] == "t-1" and root.attributes["handoffq.task.reward"] == 1.0
    assert root.attributes["handoffq.task.handoffs"] == 1 and root.attributes["handoffq.task.cost"] == 0.25
    for name, span in spans.items():
        if span is not root:
            assert span.parent is not None and span.parent.span_id == root.context.span_id, name
            assert span.start_time <= span.end_time
    inv = spans["invoke_agent solver"].attributes
    assert inv["gen_ai.operation.name"] == "invoke_agent" and inv["gen_ai.agent.name"] == "solver"
    assert inv["handoffq.invocation.cost"] == 0.25 and inv["handoffq.invocation.duration"] == 3
    h = spans["handoff triage -> solver"].attributes
    assert h["handoffq.handoff.source_agent"] == "triage" and h["handoffq.handoff.target_agent"] == "solver"
    assert (h["handoffq.message.value"], h["handoffq.message.duration"], h["handoffq.message.reward"]) == (0, 3, -0.5)
    end = spans["handoff solver -> END"].attributes
    numbers = ("handoffq.message.value", "handoffq.message.duration", "handoffq.message.reward")
    assert tuple(end[k] for k in numbers) == (0.0, 1, 1.0)
    assert not any(v == "q" for s in spans.values() for v in s.attributes.values())  # no view or artifact


def test_abandoned_and_capped_tasks_close_their_spans():
    r, exporter = _traced()
    t = r.start_task("gone")
    t.next("triage", "q", chosen="solver")
    t.abandon()
    root = next(s for s in exporter.get_finished_spans() if s.name.startswith("invoke_workflow"))
    assert root.attributes["handoffq.task.abandoned"] is True
