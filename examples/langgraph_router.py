"""LangGraph: a learned router picks the next node of a StateGraph (no LLM, no network).

The document pipeline a LangGraph user would hand-route with conditional edges
(classifier -> summariser -> checker -> finisher), with the edges chosen by a handoffq
router instead. The LangGraph thread id is the router's task id; a checkpointer is used as
in production. Run: ``python examples/langgraph_router.py`` (offline, well under a minute).
"""

from __future__ import annotations

import random
from typing import TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph

import handoffq
from handoffq import END
from handoffq.integrations.langgraph import LangGraphRouter


class Doc(TypedDict, total=False):
    """The graph state. ``kind`` and ``hallucinated`` are hidden from every agent's view."""

    seed: int
    long: bool
    kind: str
    label: str
    summary: str
    hallucinated: bool
    checked: bool
    cost: float  # each node writes its own cost and duration: the router reads them after it
    duration: int


def _rng(state: Doc, node: str) -> random.Random:
    return random.Random(f"{state['seed']}-{node}")


def classifier(state: Doc) -> Doc:
    """Label the document; right 90% of the time."""
    right = _rng(state, "classifier").random() < 0.9
    label = state["kind"] if right else ("code" if state["kind"] == "prose" else "prose")
    return {"label": label, "cost": 0.01, "duration": 1}


def summariser(state: Doc) -> Doc:
    """Summarise; hallucinates on code half of the time."""
    bad = _rng(state, "summariser").random() < (0.5 if state["kind"] == "code" else 0.05)
    return {"summary": "...", "hallucinated": bad, "checked": False, "cost": 0.10, "duration": 3}


def checker(state: Doc) -> Doc:
    """Repair the summary if there is one."""
    if state.get("summary") is None:
        return {"cost": 0.05, "duration": 2}
    return {"hallucinated": False, "checked": True, "cost": 0.05, "duration": 2}


def finisher(state: Doc) -> Doc:
    """Publish."""
    return {"cost": 0.01, "duration": 1}


def reward(state: Doc) -> float:
    """1 if the published document is acceptable: long ones need a summary, none may be hallucinated."""
    return float((not state["long"] or state.get("summary") is not None) and not state.get("hallucinated", False))


def build() -> tuple[handoffq.Router, LangGraphRouter, object]:
    """The router (each agent's own view of the state) and the compiled graph with routed edges."""
    router = handoffq.Router(seed=0)
    router.add_agent("classifier", observe=lambda s: (s["long"], s["label"]),
                     successors=["summariser", "checker", "finisher"])
    router.add_agent("summariser", observe=lambda s: s["label"], successors=["checker", "finisher"])
    router.add_agent("checker", observe=lambda s: (s.get("summary") is not None, s["label"]),
                     successors=["summariser", "finisher"])
    router.add_agent("finisher", observe=lambda s: (s["long"], s.get("summary") is not None, s.get("checked", False),
                                                    s["label"]), successors=[END])
    lg = LangGraphRouter(router, cost="cost", duration="duration")
    graph = StateGraph(Doc)
    for name, fn in [("classifier", classifier), ("summariser", summariser), ("checker", checker),
                     ("finisher", finisher)]:
        graph.add_node(name, fn)
    graph.add_edge(START, "classifier")
    lg.add_edges(graph)  # a router-chosen conditional edge out of every node
    return router, lg, graph.compile(checkpointer=InMemorySaver())


def new_doc(seed: int) -> Doc:
    """A random document."""
    rng = random.Random(seed)
    return {"seed": seed, "long": rng.random() < 0.5, "kind": rng.choice(["prose", "code"])}


def main() -> None:
    """Train on 1500 threads, then show the learned routes and a few frozen runs."""
    router, lg, app = build()
    for i in range(1500):
        config = {"configurable": {"thread_id": f"doc-{i}"}}
        state = app.invoke(new_doc(i), config)  # type: ignore[attr-defined]
        lg.finish(config, reward(state))  # the outcome reaches every agent's learner as (v, tau, R)
    print("learned routes:")
    for view, label in (((False, "prose"), "short prose"), ((True, "prose"), "long prose"),
                        ((True, "code"), "long code")):
        s: Doc = {"long": view[0], "label": view[1]}
        print(f"  classifier, {label:<11} -> {router.explain('classifier', s).choice}")
    for label in ("prose", "code"):
        print(f"  summariser, {label:<11} -> {router.explain('summariser', {'label': label}).choice}")
    router.mode = "frozen"
    print("frozen runs (no exploration, no learning):")
    for i in range(10_000, 10_004):
        config = {"configurable": {"thread_id": f"serve-{i}"}}
        doc = new_doc(i)
        path = [next(iter(step)) for step in app.stream(doc, config, stream_mode="updates")]  # type: ignore[attr-defined]
        final = app.get_state(config).values  # type: ignore[attr-defined]
        out = lg.finish(config, reward(final))
        size = 'long' if doc['long'] else 'short'
        print(f"  {size:<5} {doc['kind']:<5}: {' -> '.join(path)}  reward {out.reward:.0f}")


if __name__ == "__main__":
    main()
