"""OpenTelemetry: a span per task, agent invocation and handoff (with its three numbers).

Traces the quickstart's support desk and prints the spans of one task. In production, give
``trace_router`` your tracer provider (OTLP exporter...); here an in-memory exporter keeps it
offline. Run: ``python examples/otel_router.py``.
"""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import handoffq
from handoffq import END
from handoffq.integrations.otel import trace_router


def main() -> None:
    """Run one traced task and print its spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    router = handoffq.Router(seed=0)
    router.add_agent("triage", observe=lambda t: t["topic"], successors=["billing", "tech", END])
    router.add_agent("billing", observe=lambda t: t["topic"], successors=[END])
    router.add_agent("tech", observe=lambda t: t["topic"], successors=[END])
    trace_router(router, provider)

    ticket = {"topic": "invoice"}
    task = router.start_task("ticket-42")
    agent = task.next("triage", ticket, cost=0.01, chosen="billing")  # as if triage picked billing
    task.next(agent, ticket, cost=0.10, duration=2)
    task.finish(reward=1.0)

    for span in sorted(exporter.get_finished_spans(), key=lambda s: s.start_time):
        attrs = {k: v for k, v in span.attributes.items() if k != "gen_ai.conversation.id"}
        print(f"{span.name:<28} {attrs}")


if __name__ == "__main__":
    main()
