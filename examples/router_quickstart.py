"""Learned handoffs in your own app, without any framework: a support desk of three agents.

``triage`` reads a ticket and hands it to ``billing``, ``tech`` or ends it (answering itself).
Which is right depends on what triage read; the router learns it from outcomes only.
Run: ``python examples/router_quickstart.py`` (offline, a few seconds).
"""

from __future__ import annotations

import random
import tempfile

import handoffq
from handoffq import END


def triage(ticket: dict) -> float:
    """The triage agent's work: read the ticket (in real life an LLM call). Returns its cost."""
    ticket["topic"] = ticket["text"].split()[0]
    return 0.01


def specialist(name: str, ticket: dict) -> float:
    """A specialist's work: it solves the ticket only if it is its topic."""
    ticket["solved"] = ticket["topic"] == {"billing": "invoice", "tech": "crash"}[name]
    return 0.10


def main() -> None:
    """Train on 500 tickets, show what triage learned, save, load and serve."""
    router = handoffq.Router(seed=0)
    # each agent's own view of the artifact: what its outcome depends on
    router.add_agent("triage", observe=lambda t: t["topic"], successors=["billing", "tech", END])
    router.add_agent("billing", observe=lambda t: t["topic"], successors=[END])
    router.add_agent("tech", observe=lambda t: t["topic"], successors=[END])

    rng = random.Random(0)
    for _ in range(500):
        ticket = {"text": rng.choice(["invoice wrong", "crash on start", "thanks a lot"])}
        task = router.start_task()  # many tasks may be in flight at once
        agent, cost = "triage", triage(ticket)
        while True:
            agent = task.next(agent, ticket, cost=cost)  # the agent is done: whom does it hand off to?
            if agent == END:
                break
            cost = specialist(agent, ticket)
        solved = ticket.get("solved", ticket["topic"] == "thanks")  # "thanks" needs no specialist
        task.finish(reward=1.0 if solved else 0.0)

    print("what triage learned (Q values behind each choice):")
    for topic in ("invoice", "crash", "thanks"):
        print("  ", router.explain("triage", {"topic": topic}))
    with tempfile.TemporaryDirectory() as d:
        router.save(d)  # one file per agent, written atomically
        served = handoffq.Router.load(d, observe={n: (lambda t: t["topic"]) for n in router.agents}, mode="frozen")
        task = served.start_task()
        print("loaded and frozen: an 'invoice' ticket goes to", task.next("triage", {"topic": "invoice"}))
        task.abandon()


if __name__ == "__main__":
    main()
