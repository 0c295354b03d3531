"""LangGraph: let a :class:`~handoffq.router.router.Router` choose the next node of a ``StateGraph``.

LangGraph routes *after* a node runs (conditional edges read the updated state), which is
exactly when a router decides. The graph state is the artifact each agent's ``observe`` reads;
the LangGraph **thread id is the router's task id**, so every thread is one task and many
threads can be in flight at once.

.. code-block:: python

    from handoffq.integrations.langgraph import LangGraphRouter

    lg = LangGraphRouter(router, cost="cost")          # each node writes its own cost to state["cost"]
    g = StateGraph(State)
    for name, fn in nodes.items():
        g.add_node(name, fn)
    g.add_edge(START, "classifier")
    lg.add_edges(g)                                    # a conditional edge out of every routed node
    app = g.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "doc-17"}}
    state = app.invoke({"text": doc}, cfg)
    lg.finish(cfg, reward=judge(state))                # the outcome reaches every learner as (v, tau, R)

Two ways to route: :meth:`LangGraphRouter.edge` is a conditional-edge function (the node
itself is unchanged); :meth:`LangGraphRouter.node` wraps a node so that it returns
``Command(update=..., goto=<router's choice>)``. Both report the node's cost and duration
(from a state key or a function) and take the router's choice.

Both route on the state *after* LangGraph's reducers: a conditional edge reads the state
LangGraph has already reduced; :meth:`~LangGraphRouter.node` must decide inside the node, so it
applies the reducers of the state schema itself (``Annotated[list, operator.add]``,
``add_messages``, ... - LangGraph's rule: the last metadata item, a two-argument callable). It
finds the schema from ``state_schema=`` or from the annotation of the node function's first
parameter; without either, update keys replace state keys.

Checkpointers: routing decisions are written with the node's results, so an interrupted
thread resumed from its checkpoint does not route again; the router's pending decision waits
for it in memory. (After a process restart the router has no record of the thread: its next
report starts a new task, and the decision made before the restart is not learned from.)
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from handoffq.router.errors import RouterError
from handoffq.router.router import Router, Task, TaskOutcome

__all__ = ["LangGraphRouter", "apply_update", "reducers", "thread_id"]

Measure = str | Callable[[str, Any], float] | None


def thread_id(config: Mapping[str, Any] | str) -> str:
    """The thread id of a LangGraph ``config`` (or the id itself): the router's task id."""
    if isinstance(config, str):
        return config
    tid = (config or {}).get("configurable", {}).get("thread_id")
    if tid is None:
        raise RouterError(
            "the LangGraph config has no thread_id: invoke the graph with "
            "config={'configurable': {'thread_id': ...}} (the thread id is the router's task id)"
        )
    return str(tid)


def _measure(spec: Measure, agent: str, state: Any, default: float, what: str) -> Any:
    if spec is None:
        return default
    if callable(spec):
        return spec(agent, state)
    try:
        return state[spec]
    except (KeyError, TypeError):
        raise RouterError(f"node {agent!r}: the state has no {spec!r} key for its {what}") from None


def _takes_config(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Annotate ``fn``'s ``config`` parameter so that LangGraph passes the run's config to it
    (LangGraph looks for ``RunnableConfig`` in the signature)."""
    from langchain_core.runnables import RunnableConfig

    fn.__annotations__ = {**fn.__annotations__, "config": RunnableConfig}
    return fn


def _reducer(hint: Any) -> Callable[[Any, Any], Any] | None:
    """The reducer of an ``Annotated[T, ..., reducer]`` field (as LangGraph reads it), or None."""
    meta = getattr(hint, "__metadata__", ())
    if not meta or not callable(meta[-1]):
        return None
    try:
        params = inspect.signature(meta[-1]).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return meta[-1] if sum(p.kind in positional for p in params) == 2 else None


def reducers(schema: Any) -> dict[str, tuple[Callable[[Any, Any], Any], Any]]:
    """``key -> (reducer, type)`` for the reduced keys of a LangGraph state schema."""
    try:
        hints = typing.get_type_hints(schema, include_extras=True)
    except (TypeError, NameError):
        return {}
    out = {}
    for key, hint in hints.items():
        fn = _reducer(hint)
        if fn is not None:
            out[key] = (fn, typing.get_args(hint)[0])
    return out


def _schema_of(fn: Callable[..., Any]) -> Any:
    """The annotation of ``fn``'s first parameter (a node's state schema), if it is a class."""
    try:
        first = next(iter(inspect.signature(fn).parameters.values()), None)
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError):
        return None
    hint = None if first is None else hints.get(first.name)
    return hint if isinstance(hint, type) else None


def apply_update(state: Mapping[str, Any], update: Mapping[str, Any] | None,
                 reduce: Mapping[str, tuple[Callable[[Any, Any], Any], Any]]) -> dict[str, Any]:
    """The state LangGraph will hold after ``update``: reduced keys combined, others replaced."""
    after = dict(state)
    for key, value in (update or {}).items():
        if key not in reduce:
            after[key] = value
            continue
        fn, typ = reduce[key]
        if key in state:
            after[key] = fn(state[key], value)
        else:  # LangGraph starts a reduced channel from its type's empty value
            try:
                after[key] = fn(typ(), value)
            except TypeError:
                after[key] = value
    return after


class LangGraphRouter:
    """A router in a LangGraph graph.

    Args:
        router: the :class:`~handoffq.router.router.Router`; its agent names are node names.
        cost: the node's cost, as a state key that each routed node writes, or
            ``(agent, state) -> float`` (default 0).
        duration: the node's duration (positive integer), as a state key or a function
            (default 1).
        mode: the mode of the tasks this adapter starts (default: the router's).
        state_schema: the graph's state schema, whose reducers :meth:`node` applies (default:
            the annotation of each wrapped node function's first parameter).
    """

    def __init__(self, router: Router, *, cost: Measure = None, duration: Measure = None,
                 mode: Any = None, state_schema: Any = None) -> None:
        self.router = router
        self.cost = cost
        self.duration = duration
        self.mode = mode
        self.state_schema = state_schema

    # ------------------------------------------------------------------ tasks
    def task(self, config: Mapping[str, Any] | str) -> Task:
        """The router task of this thread (started on first use)."""
        return self.router.task(thread_id(config), start=True, mode=self.mode)

    def route(self, agent: str, state: Any, config: Mapping[str, Any] | str) -> str:
        """``agent`` has run on this thread and left ``state``: report it, return the next node."""
        tid = thread_id(config)
        cost = _measure(self.cost, agent, state, 0.0, "cost")
        duration = _measure(self.duration, agent, state, 1, "duration")
        return self.task(tid).next(agent, state, cost=cost, duration=duration)

    def finish(self, config: Mapping[str, Any] | str, reward: float, **kwargs: Any) -> TaskOutcome:
        """Deliver the thread's outcome (``kwargs``: ``cost``/``duration`` of an unreported last node)."""
        return self.router.task(thread_id(config)).finish(reward, **kwargs)

    def abandon(self, config: Mapping[str, Any] | str) -> None:
        """Drop the thread's pending decision (a run that failed or will never be judged)."""
        tid = thread_id(config)
        if tid in self.router.open_tasks():
            self.router.task(tid).abandon()

    # ------------------------------------------------------------------ edges
    def edge(self, agent: str) -> Callable[[Any, Any], str]:
        """A conditional-edge function for ``graph.add_conditional_edges(agent, ...)``."""
        self._agent(agent)

        def route_after(state: Any, config: Any) -> str:
            return self.route(agent, state, config)

        route_after.__name__ = f"handoffq_route_after_{agent}"
        return _takes_config(route_after)

    def destinations(self, agent: str) -> list[str]:
        """The nodes ``agent`` may hand off to (handoffq's END is LangGraph's ``"__end__"``)."""
        return list(self._agent(agent).successors)

    def add_edges(self, graph: Any, agents: Sequence[str] | None = None) -> Any:
        """Add a router-chosen conditional edge out of each of ``agents`` (default: every router
        agent that is a node of ``graph``); return the graph."""
        names = list(agents) if agents is not None else [a for a in self.router.agents if a in graph.nodes]
        if not names:
            raise RouterError("none of the router's agents is a node of this graph")
        for agent in names:
            if agent not in graph.nodes:
                raise RouterError(f"agent {agent!r} is not a node of the graph (nodes: {sorted(graph.nodes)})")
            graph.add_conditional_edges(agent, self.edge(agent), self.destinations(agent))
        return graph

    def node(self, agent: str, fn: Callable[..., Any]) -> Callable[[Any, Any], Any]:
        """Wrap a node ``fn(state) -> update`` so that it returns ``Command(update, goto=...)``
        with the router's choice, made on the state after the update and the schema's reducers
        (see the module docstring). Add it with
        ``graph.add_node(agent, lg.node(agent, fn), destinations=lg.destinations(agent))``."""
        from langgraph.types import Command

        self._agent(agent)
        reduce = reducers(self.state_schema if self.state_schema is not None else _schema_of(fn))

        def routed(state: Any, config: Any) -> Any:
            update = fn(state)
            after = apply_update(state, update, reduce) if isinstance(state, Mapping) else state
            return Command(update=update, goto=self.route(agent, after, config))

        routed.__name__ = f"handoffq_routed_{agent}"
        return _takes_config(routed)

    def _agent(self, agent: str) -> Any:
        if agent not in self.router.agents:
            raise RouterError(f"{agent!r} is not an agent of the router (agents: {sorted(self.router.agents)})")
        return self.router.agents[agent]

