"""The OpenAI Agents SDK adapter, offline: the SDK's Model interface is faked (no LLM, no network)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, RunContextWrapper, function_tool, set_tracing_disabled

from handoffq import END, Router
from handoffq.integrations.openai_agents import AgentsRouter, OfflineModel
from handoffq.router import RouterError, RouterListener

set_tracing_disabled(True)


class Offers(RouterListener):
    def __init__(self) -> None:
        self.reports: list[tuple[str, str, float, int]] = []

    def on_report(self, task, agent, cost, duration):  # type: ignore[no-untyped-def]
        self.reports.append((task.id, agent, cost, duration))


def _support(router: Router, seen: list[list[str]]) -> Agent:
    """triage reads the ticket with a tool, then hands to billing or tech (or answers itself)."""

    @function_tool
    def read_ticket(ctx: RunContextWrapper[dict]) -> str:
        ctx.context["topic"] = ctx.context["ticket"].split()[0]  # the triage's work: find the topic
        return "read"

    @function_tool
    def solve(ctx: RunContextWrapper[dict]) -> str:
        ctx.context.setdefault("solved_by", []).append("x")
        return "solved"

    model = OfflineModel.create()
    offline = model.get_response

    async def spy(*args: Any, **kwargs: Any) -> Any:  # records which handoffs each model call was offered
        handoffs = kwargs["handoffs"] if "handoffs" in kwargs else args[5]
        seen.append([h.agent_name for h in handoffs])
        return await offline(*args, **kwargs)

    model.get_response = spy

    ar = AgentsRouter(router)
    billing = Agent(name="billing", instructions="fix invoices", tools=[solve], model=OfflineModel.create("paid"))
    tech = Agent(name="tech", instructions="fix crashes", tools=[solve], model=OfflineModel.create("fixed"))
    return Agent(name="triage", instructions="route", tools=[read_ticket], model=model,
                 handoffs=ar.handoffs("triage", [billing, tech]))


def _router() -> Router:
    router = Router(seed=0, epsilon=0.2, cost_weight=0.0001, diagnostics=False)
    router.add_agent("triage", observe=lambda c: c.get("topic"), successors=["billing", "tech", END])
    router.add_agent("billing", observe=lambda c: c["topic"], successors=[END])
    router.add_agent("tech", observe=lambda c: c["topic"], successors=[END])
    return router


def test_the_router_decides_the_handoff_and_learns_it_after_the_agents_work():
    router = _router()
    offers: list[list[str]] = []
    triage = _support(router, offers)
    ar = AgentsRouter(router)
    rec = Offers()
    router.add_listener(rec)
    best = {"invoice": "billing", "crash": "tech", "thanks": END}
    rng = random.Random(0)

    async def train() -> None:
        for _ in range(240):
            topic = rng.choice(list(best))
            ctx = {"ticket": f"{topic} please"}
            result, task = await ar.run(triage, ctx["ticket"], context=ctx)
            handled = result.last_agent.name if result.last_agent.name != "triage" else END
            task.finish(1.0 if handled == best[topic] else 0.0)

    asyncio.run(train())
    assert all(len(o) <= 1 for o in offers)  # never more than the router's one choice
    assert {o[0] for o in offers if o} == {"billing", "tech"}
    assert router.agents["triage"].vocab.views.count(None) == 0  # type: ignore[union-attr]  # routed after work
    for topic, succ in best.items():
        assert router.explain("triage", {"topic": topic}).choice == succ
    first = rec.reports[0]
    assert first[1] == "triage" and first[2] == 200.0 and first[3] == 2  # tokens and model calls of the work


def test_frozen_serving_offers_only_the_learned_handoff():
    router = _router()
    router.mode = "frozen"
    offers: list[list[str]] = []
    triage = _support(router, offers)
    ar = AgentsRouter(router)
    result, task = ar.run_sync(triage, "crash now", context={"ticket": "crash now"})
    assert result.last_agent.name == "billing"  # untrained, frozen: the unseen view goes to the first successor
    assert task.outcome is None and task.expected is None  # billing answered: END, waiting for finish
    assert task.finish(0.0).path == ("triage", "billing")


def test_errors():
    router = _router()
    ar = AgentsRouter(router)
    stranger = Agent(name="stranger", model=OfflineModel.create())
    with pytest.raises(RouterError, match="may not hand off to 'stranger'"):
        ar.handoffs("triage", [stranger])
    with pytest.raises(RouterError, match="SDK agent 'stranger' is not an agent of the router"):
        ar.run_sync(stranger, "hi")
    with pytest.raises(RouterError, match="cost must be 'tokens'"):
        AgentsRouter(router, cost="dollars")
    with pytest.raises(RouterError, match=r"outside AgentsRouter\.run"):
        ar.offered("triage", None)
