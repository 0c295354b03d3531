"""OpenAI Agents SDK: the router decides which handoff an agent may take (offline, no LLM).

A support desk: ``triage`` reads the ticket with a tool, then hands off to ``billing`` or
``tech``, or answers itself. The SDK offers the model only the handoff the router chose
(``is_enabled``), re-chosen after each tool call on triage's own view of the context, so the
handoff follows triage's work. An offline stand-in model (``OfflineModel``) plays the LLM: it
calls the agent's tool, then takes the handoff it is offered. The router learns from rewards
and token costs. Run: ``python examples/openai_agents_router.py`` (offline, under a minute).
"""

from __future__ import annotations

import asyncio
import random

from agents import Agent, RunContextWrapper, function_tool, set_tracing_disabled

import handoffq
from handoffq import END
from handoffq.integrations.openai_agents import AgentsRouter, OfflineModel

set_tracing_disabled(True)  # offline: no trace export


@function_tool
def read_ticket(ctx: RunContextWrapper[dict]) -> str:
    """Triage's work: find the ticket's topic."""
    ctx.context["topic"] = ctx.context["text"].split()[0]
    return ctx.context["topic"]


@function_tool
def resolve(ctx: RunContextWrapper[dict]) -> str:
    """A specialist's work."""
    ctx.context["resolved_by"] = [*ctx.context.get("resolved_by", []), "specialist"]
    return "resolved"


def build() -> tuple[handoffq.Router, AgentsRouter, Agent]:
    """The router and the SDK agents (same names), triage's handoffs gated by the router."""
    router = handoffq.Router(seed=0, epsilon=0.2, cost_weight=1e-4)  # cost: tokens, weighted
    # before its work triage has no topic yet: views it never saw offer no handoff (fallback END)
    router.add_agent("triage", observe=lambda c: c.get("topic"), successors=["billing", "tech", END], fallback=END)
    router.add_agent("billing", observe=lambda c: c["topic"], successors=[END])
    router.add_agent("tech", observe=lambda c: c["topic"], successors=[END])
    ar = AgentsRouter(router)  # cost = tokens used by the agent, duration = its model calls
    billing = Agent(name="billing", instructions="Fix invoices.", tools=[resolve],
                    model=OfflineModel.create("refunded"))
    tech = Agent(name="tech", instructions="Fix crashes.", tools=[resolve], model=OfflineModel.create("patched"))
    triage = Agent(name="triage", instructions="Read the ticket, then hand off or answer.", tools=[read_ticket],
                   model=OfflineModel.create("you're welcome"), handoffs=ar.handoffs("triage", [billing, tech]))
    return router, ar, triage


BEST = {"invoice": "billing", "crash": "tech", "thanks": "triage"}


async def main() -> None:
    """Train on 300 tickets; print what triage learned and a few frozen runs."""
    router, ar, triage = build()
    rng = random.Random(0)
    for _ in range(300):
        topic = rng.choice(list(BEST))
        ctx = {"text": f"{topic} please"}
        result, task = await ar.run(triage, ctx["text"], context=ctx)
        task.finish(reward=1.0 if result.last_agent.name == BEST[topic] else 0.0)
    print("what triage learned:")
    for topic in BEST:
        print("  ", router.explain("triage", {"topic": topic}))
    router.mode = "frozen"
    for text in ("invoice is wrong", "crash at login", "thanks a lot", "hello there"):
        result, task = await ar.run(triage, text, context={"text": text})
        task.finish(1.0)
        print(f"  {text!r:<20} -> answered by {result.last_agent.name}: {result.final_output!r}")


if __name__ == "__main__":
    asyncio.run(main())
