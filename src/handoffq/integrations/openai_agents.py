"""OpenAI Agents SDK: the router decides which handoff an agent takes (deterministic handoffs).

In the Agents SDK the LLM picks a handoff through a tool call, among the handoffs it is
offered. :class:`AgentsRouter` offers exactly one: each agent's handoffs are built by
:meth:`AgentsRouter.handoffs` with an ``is_enabled`` gate, and only the router's choice is
enabled (none when the router chooses ``END``, so the agent answers and the run ends). The
choice is taken on the agent's own view of the run context (``context.context``, the object
you pass to ``Runner.run``) and taken again after each of the agent's tool calls, so the
handoff offered reflects the agent's work so far (routing after work). What actually happens
is what the router learns from: a handoff the model takes is reported with
``task.next(agent, ..., chosen=target)``, a final answer with ``chosen=END``.

.. code-block:: python

    ar = AgentsRouter(router)                                   # cost: tokens used; duration: model calls
    triage = Agent(name="triage", instructions=..., handoffs=ar.handoffs("triage", [billing, tech]))
    result, task = await ar.run(triage, "my invoice is wrong", context=ticket)
    task.finish(reward=score(result.final_output))

The router's agent names must be the SDK agents' names. :class:`OfflineModel` stands in for an
LLM (no network) in tests and offline examples.
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from handoffq.router.errors import END, RouterError
from handoffq.router.router import Router, Task

__all__ = ["AgentsRouter", "OfflineModel"]

_CALL_IDS = itertools.count()
_RUN: contextvars.ContextVar[_RunState | None] = contextvars.ContextVar("handoffq_agents_run", default=None)


@dataclass
class _RunState:
    """One run's task, the offered handoff per agent, and usage when each agent started."""

    task: Task
    offered: dict[str, str] = field(default_factory=dict)
    started: dict[str, tuple[int, int]] = field(default_factory=dict)


def _state() -> _RunState:
    st = _RUN.get()
    if st is None:
        raise RouterError("a routed handoff was evaluated outside AgentsRouter.run(...): run the agents through it")
    return st


class AgentsRouter:
    """A router deciding the handoffs of OpenAI Agents SDK agents.

    Args:
        router: the :class:`~handoffq.router.router.Router` (agent names = SDK agent names).
        cost: ``"tokens"`` (tokens the agent's model calls used), or ``(context, agent_name) ->
            float``, or None (0).
        duration: ``"requests"`` (the agent's model calls, at least 1), or a function, or None (1).
        artifact: ``(run_context_wrapper) -> artifact`` for the agents' ``observe`` (default:
            ``wrapper.context``, the object passed to ``Runner.run(context=...)``).
    """

    def __init__(
        self,
        router: Router,
        *,
        cost: str | Callable[[Any, str], float] | None = "tokens",
        duration: str | Callable[[Any, str], int] | None = "requests",
        artifact: Callable[[Any], Any] | None = None,
    ) -> None:
        if isinstance(cost, str) and cost != "tokens":
            raise RouterError(f"cost must be 'tokens', a function or None, got {cost!r}")
        if isinstance(duration, str) and duration != "requests":
            raise RouterError(f"duration must be 'requests', a function or None, got {duration!r}")
        self.router = router
        self.cost = cost
        self.duration = duration
        self.artifact = artifact or (lambda wrapper: wrapper.context)

    # ------------------------------------------------------------ handoffs
    def handoffs(self, source: str, agents: Sequence[Any], **handoff_options: Any) -> list[Any]:
        """SDK handoffs from ``source`` to each of ``agents``, enabled only when the router
        chooses that agent (``handoff_options`` go to ``agents.handoff``)."""
        from agents import handoff

        node = self._node(source)
        out = []
        for target in agents:
            if target.name not in node.successors:
                raise RouterError(f"agent {source!r} may not hand off to {target.name!r} (its successors: "
                                  f"{list(node.successors)})")
            out.append(handoff(target, is_enabled=self._gate(source, target.name), **handoff_options))
        return out

    def _gate(self, source: str, target: str) -> Callable[[Any, Any], bool]:
        def enabled(wrapper: Any, agent: Any) -> bool:
            return self.offered(source, wrapper) == target

        return enabled

    def offered(self, agent: str, wrapper: Any) -> str:
        """The successor ``agent`` is offered now (chosen once per tool round, then kept)."""
        st = _state()
        choice = st.offered.get(agent)
        if choice is None:
            choice = st.task.propose(agent, self.artifact(wrapper))
            st.offered[agent] = choice
        return choice

    # ------------------------------------------------------------ reports
    def _report(self, wrapper: Any, agent: str, chosen: str) -> None:
        st = _state()
        st.offered.pop(agent, None)
        if st.task.done:
            return
        tokens0, requests0 = st.started.pop(agent, (0, 0))
        usage = wrapper.usage
        if callable(self.cost):
            cost = self.cost(wrapper.context, agent)
        else:
            cost = float(usage.total_tokens - tokens0) if self.cost == "tokens" else 0.0
        if callable(self.duration):
            duration = self.duration(wrapper.context, agent)
        else:
            duration = max(1, usage.requests - requests0) if self.duration == "requests" else 1
        st.task.next(agent, self.artifact(wrapper), cost=cost, duration=duration, chosen=chosen)

    def hooks(self, inner: Any = None) -> Any:
        """The ``RunHooks`` that report each agent's end to the router (``inner``: your hooks,
        still called)."""
        return _hooks_class()(self, inner)

    # ------------------------------------------------------------ running
    async def run(self, starting_agent: Any, input: Any, *, task: Task | None = None, hooks: Any = None,
                  **runner_options: Any) -> tuple[Any, Task]:
        """``Runner.run`` with routed handoffs; returns ``(result, task)``. Call
        ``task.finish(reward)`` with the outcome (the task is abandoned if the run fails)."""
        from agents import Runner

        self._node(starting_agent.name)
        task = task or self.router.start_task()
        token = _RUN.set(_RunState(task))
        try:
            result = await Runner.run(starting_agent, input, hooks=self.hooks(hooks), **runner_options)
        except BaseException:
            task.abandon()
            raise
        finally:
            _RUN.reset(token)
        return result, task

    def run_sync(self, starting_agent: Any, input: Any, **options: Any) -> tuple[Any, Task]:
        """:meth:`run` from synchronous code."""
        import asyncio

        return asyncio.run(self.run(starting_agent, input, **options))

    def _node(self, name: str) -> Any:
        if name not in self.router.agents:
            agents = sorted(self.router.agents)
            raise RouterError(f"SDK agent {name!r} is not an agent of the router (agents: {agents})")
        return self.router.agents[name]


def _hooks_class() -> type:
    """The SDK ``RunHooks`` subclass that drives the router (built on first use: lazy import)."""
    from agents import RunHooks

    class RouterHooks(RunHooks):
        def __init__(self, adapter: AgentsRouter, inner: Any) -> None:
            self.adapter, self.inner = adapter, inner

        async def _inner(self, name: str, *args: Any) -> None:
            if self.inner is not None:
                await getattr(self.inner, name)(*args)

        async def on_agent_start(self, context: Any, agent: Any) -> None:
            st = _state()
            st.offered.pop(agent.name, None)
            st.started[agent.name] = (context.usage.total_tokens, context.usage.requests)
            await self._inner("on_agent_start", context, agent)

        async def on_tool_end(self, context: Any, agent: Any, tool: Any, result: Any) -> None:
            _state().offered.pop(agent.name, None)  # its work changed the context: choose again
            await self._inner("on_tool_end", context, agent, tool, result)

        async def on_handoff(self, context: Any, from_agent: Any, to_agent: Any) -> None:
            self.adapter._report(context, from_agent.name, to_agent.name)
            await self._inner("on_handoff", context, from_agent, to_agent)

        async def on_agent_end(self, context: Any, agent: Any, output: Any) -> None:
            self.adapter._report(context, agent.name, END)
            await self._inner("on_agent_end", context, agent, output)

        async def on_llm_start(self, *args: Any) -> None:
            await self._inner("on_llm_start", *args)

        async def on_llm_end(self, *args: Any) -> None:
            await self._inner("on_llm_end", *args)

        async def on_tool_start(self, *args: Any) -> None:
            await self._inner("on_tool_start", *args)

    return RouterHooks


class OfflineModel:
    """A stand-in for an LLM, without any network: per invocation of its agent it calls the
    agent's first tool once (if any; the agent's "work"), then takes the first handoff it is
    offered, or else answers with ``answer``. Each call reports ``tokens`` tokens of usage.

    Build it with :meth:`create` (it subclasses the SDK's ``Model`` lazily).
    """

    @staticmethod
    def create(answer: str = "done", tokens: int = 100) -> Any:
        """A new offline ``agents.models.interface.Model``."""
        from agents.items import ModelResponse
        from agents.models.interface import Model
        from agents.usage import Usage
        from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

        def respond(items: list[Any]) -> ModelResponse:
            return ModelResponse(output=items, usage=Usage(requests=1, total_tokens=tokens, output_tokens=tokens),
                                 response_id=None)

        def call(name: str, prefix: str) -> Any:
            cid = f"{prefix}-{next(_CALL_IDS)}"  # unique across models: the SDK refuses reused ids
            return ResponseFunctionToolCall(id=cid, call_id=cid, type="function_call", name=name, arguments="{}")

        class _Offline(Model):
            async def get_response(self, system_instructions: Any, input: Any, model_settings: Any, tools: Any,
                                   output_schema: Any, handoffs: Any, tracing: Any, **_: Any) -> Any:
                last = input[-1] if isinstance(input, list) and input else {}
                worked = isinstance(last, dict) and str(last.get("call_id", "")).startswith("offline-work")
                if tools and not worked:
                    return respond([call(tools[0].name, "offline-work")])
                if handoffs:
                    return respond([call(handoffs[0].tool_name, "offline-handoff")])
                text = ResponseOutputText(text=answer, type="output_text", annotations=[])
                return respond([ResponseOutputMessage(id="offline-msg", type="message", role="assistant",
                                                      status="completed", content=[text])])

            def stream_response(self, *args: Any, **kwargs: Any) -> Any:
                raise NotImplementedError("OfflineModel does not stream")

        return _Offline()
