"""Adapters that put a :class:`handoffq.Router` inside the agent frameworks people already run.

Each lives in its own module and imports its framework lazily (install the matching extra):

* :mod:`handoffq.integrations.langgraph` - the router picks the next node of a ``StateGraph``
  (``pip install handoffq[langgraph]``);
* :mod:`handoffq.integrations.openai_agents` - the router decides which handoff an OpenAI
  Agents SDK agent may take (``pip install handoffq[openai-agents]``);
* :mod:`handoffq.integrations.otel` - OpenTelemetry spans for invocations and handoffs
  (``pip install handoffq[otel]``).
"""
