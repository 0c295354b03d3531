"""The LangGraph adapter: plain-Python nodes, no LLM, no network."""

from __future__ import annotations

import operator
import random
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph")

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt

from handoffq import END, Router
from handoffq.integrations.langgraph import LangGraphRouter
from handoffq.learn.schedules import StepSize
from handoffq.router import RouterError, RouterListener, Tabular
from handoffq.router.demo import SUCCESSORS, WORK, judge, make_doc, views


class DocState(TypedDict, total=False):
    doc: Any
    seed: int
    cost: float
    duration: int


def _node(name: str):  # type: ignore[no-untyped-def]
    def run(state: DocState) -> DocState:
        doc = state["doc"]
        rng = random.Random(state["seed"] * 31 + len(doc.log))
        cost, duration = WORK[name](doc, rng)
        doc.log.append(name)
        return {"doc": doc, "cost": cost, "duration": duration}

    return run


def test_router_chooses_the_next_node_and_learns_the_best_routes():
    router = Router(seed=0, diagnostics=False)
    for name, view in views().items():
        router.add_agent(name, observe=lambda s, v=view: v(s["doc"]), successors=SUCCESSORS[name])
    lg = LangGraphRouter(router, cost="cost", duration="duration")
    g = StateGraph(DocState)
    for name in WORK:
        g.add_node(name, _node(name))
    g.add_edge(START, "classifier")
    lg.add_edges(g)
    app = g.compile()
    for i in range(1200):
        cfg = {"configurable": {"thread_id": f"doc-{i}"}}
        state = app.invoke({"doc": make_doc(random.Random(i)), "seed": i}, cfg)
        assert router.open_tasks() == [f"doc-{i}"]  # the thread id is the task id, waiting for its reward
        out = lg.finish(cfg, judge(state["doc"]))
        assert out.path == tuple(state["doc"].log)
    sm = router.agents["summariser"]
    assert router.explain("summariser", {"doc": type("D", (), {"label": "code"})()}).choice == "checker"
    assert sm.greedy(sm.view({"doc": type("D", (), {"label": "prose"})()})) == "finisher"
    assert router.open_tasks() == []


class QState(TypedDict, total=False):
    q: str
    answer: str


class Messages(RouterListener):
    def __init__(self) -> None:
        self.log: list[tuple[str, str, str]] = []

    def on_report(self, task, agent, cost, duration):  # type: ignore[no-untyped-def]
        self.log.append((task.id, "report", agent))


def test_checkpointer_interrupts_and_interleaved_threads_keep_their_own_decisions():
    whole = Tabular(step_size=StepSize("constant", a0=1.0), try_each=0)
    router = Router(seed=0, epsilon=0.0, diagnostics=False)
    router.add_agent("ask", observe=lambda s: s["q"], successors=["human", "answer"], learner=whole)
    router.add_agent("human", observe=lambda s: s["q"], successors=["answer"], learner=whole)
    router.add_agent("answer", observe=lambda s: s["q"], successors=[END], learner=whole)
    rec = Messages()
    router.add_listener(rec)
    lg = LangGraphRouter(router)

    def human(state: QState) -> QState:
        return {"answer": interrupt(f"please look at {state['q']}")}

    g = StateGraph(QState)
    g.add_node("ask", lambda s: {})
    g.add_node("human", human)
    g.add_node("answer", lambda s: {})
    g.add_edge(START, "ask")
    lg.add_edges(g)
    app = g.compile(checkpointer=InMemorySaver())
    a, b = {"configurable": {"thread_id": "A"}}, {"configurable": {"thread_id": "B"}}
    assert "__interrupt__" in app.invoke({"q": "hard"}, a)  # all-zero Q: the first successor, 'human'
    assert "__interrupt__" in app.invoke({"q": "easy"}, b)
    app.invoke(Command(resume="no"), b)
    lg.finish(b, 0.0)
    app.invoke(Command(resume="yes"), a)
    lg.finish(a, 1.0)
    assert [x for x in rec.log if x[0] == "A"] == [("A", "report", "ask"), ("A", "report", "human"),
                                                  ("A", "report", "answer")]  # nothing re-routed on resume
    assert router.explain("answer", {"q": "hard"}).q[END] == 1.0
    assert router.explain("answer", {"q": "easy"}).q[END] == 0.0
    assert all(n.pending() == 0 for n in router.agents.values())


class TopicState(TypedDict, total=False):
    topic: str
    seen: list[str]


def test_command_goto_nodes():
    router = Router(seed=1, epsilon=0.2, diagnostics=False)
    topic = lambda s: s["topic"]  # noqa: E731
    router.add_agent("triage", observe=topic, successors=["billing", "tech"])
    router.add_agent("billing", observe=topic, successors=[END])
    router.add_agent("tech", observe=topic, successors=[END])
    lg = LangGraphRouter(router, cost=lambda agent, s: 0.01)
    g = StateGraph(TopicState)
    for name in router.agents:
        g.add_node(name, lg.node(name, lambda s, n=name: {"seen": [*s.get("seen", []), n]}),
                   destinations=tuple(lg.destinations(name)))
    g.add_edge(START, "triage")
    app = g.compile()
    rng = random.Random(0)
    for i in range(300):
        t = rng.choice(["invoice", "crash"])
        cfg = {"configurable": {"thread_id": str(i)}}
        seen = app.invoke({"topic": t}, cfg)["seen"]
        lg.finish(cfg, 1.0 if seen[1] == {"invoice": "billing", "crash": "tech"}[t] else 0.0)
    assert router.explain("triage", {"topic": "invoice"}).choice == "billing"
    assert router.explain("triage", {"topic": "crash"}).choice == "tech"


def test_errors_name_the_problem():
    router = Router()
    router.add_agent("a", successors=[END])
    lg = LangGraphRouter(router, cost="cost")
    with pytest.raises(RouterError, match="no thread_id"):
        lg.route("a", {}, {"configurable": {}})
    with pytest.raises(RouterError, match="state has no 'cost' key"):
        lg.route("a", {}, {"configurable": {"thread_id": "x"}})
    with pytest.raises(RouterError, match="not an agent of the router"):
        lg.edge("b")
    g = StateGraph(TopicState)
    g.add_node("b", lambda s: {})
    with pytest.raises(RouterError, match="none of the router's agents"):
        lg.add_edges(g)


class TraceState(TypedDict):
    trace: Annotated[list, operator.add]
    note: str


def _trace_graph(state_schema: Any, annotate: bool) -> tuple[Any, list[tuple[str, ...]]]:
    seen: list[tuple[str, ...]] = []

    def view(state: Any) -> int:
        seen.append(tuple(state["trace"]))
        return len(state["trace"])

    router = Router(seed=0, diagnostics=False)
    router.add_agent("a", observe=view, successors=["b"])
    router.add_agent("b", observe=view, successors=[END])
    lg = LangGraphRouter(router, state_schema=state_schema)

    def step(name: str) -> Any:
        if annotate:
            def run(state: TraceState) -> dict[str, Any]:
                return {"trace": [name], "note": name}
        else:
            def run(state):  # type: ignore[no-untyped-def]
                return {"trace": [name], "note": name}
        return run

    g = StateGraph(TraceState)
    for name in ("a", "b"):
        g.add_node(name, lg.node(name, step(name)), destinations=lg.destinations(name))
    g.add_edge(START, "a")
    app = g.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "t1"}}
    final = app.invoke({"trace": ["start"], "note": ""}, cfg)
    lg.finish(cfg, reward=1.0)
    assert final["trace"] == ["start", "a", "b"]
    return lg, seen


@pytest.mark.parametrize(("schema", "annotate"), [(TraceState, False), (None, True)])
def test_node_routes_on_the_state_after_reducers(schema, annotate):
    _, seen = _trace_graph(schema, annotate)
    assert seen == [("start", "a"), ("start", "a", "b")]  # what LangGraph's state holds after each node


class Chat(TypedDict):
    messages: Annotated[list, add_messages]
    count: Annotated[int, operator.add]
    last: str


def test_apply_update_follows_langgraph_reducers():
    from handoffq.integrations.langgraph import apply_update, reducers

    reduce = reducers(Chat)
    assert set(reduce) == {"messages", "count"}
    after = apply_update({"messages": [], "count": 1, "last": "x"},
                         {"messages": [{"role": "user", "content": "hi"}], "count": 2, "last": "y"}, reduce)
    assert after["count"] == 3 and after["last"] == "y" and after["messages"][0].content == "hi"
    assert apply_update({}, {"count": 2}, reduce) == {"count": 2}  # from the type's empty value, as LangGraph
