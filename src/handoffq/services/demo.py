"""A small pipeline to try services on (tests, the benchmark, ``examples/services``).

Tasks are ``{"kind": "math" | "code" | "text", "trace": [...]}``. Four agents - ``triage``
(the entry), ``math``, ``code``, ``review`` - each append their name to the trace at a cost
of 1; the judge pays 1 when the task met its specialist: a math task the math agent, a code task
the code agent, a text task the reviewer. With a cost weight the best routes are therefore
triage -> math -> END, triage -> code -> END and triage -> review -> END (a detour through
another specialist earns the same reward at a higher cost), and every agent learns its part
from its own view (the kind, and who has worked on the task).
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from handoffq.services.work import WorkResult

__all__ = [
    "AGENTS", "ENTRY_LATENCY_ENV", "KINDS", "LATENCY_ENV", "NOTIFY_ENV", "SUCCESSORS", "best_route", "code",
    "code_slow", "judge", "kind_view", "math", "math_slow", "new_task", "noop", "notifying_judge", "review",
    "review_slow", "triage", "triage_slow",
]

KINDS = ("math", "code", "text")
SUCCESSORS: dict[str, list[str]] = {
    "triage": ["math", "code", "review"],
    "math": ["__end__", "review"],
    "code": ["__end__", "review"],
    "review": ["__end__", "math"],
}
AGENTS = tuple(SUCCESSORS)


def new_task(i: int) -> dict[str, Any]:
    """Task ``i`` (the kinds take turns)."""
    return {"kind": KINDS[i % len(KINDS)], "trace": []}


def _step(name: str, artifact: dict[str, Any]) -> WorkResult:
    return WorkResult({**artifact, "trace": [*artifact["trace"], name]}, cost=1.0, duration=1)


def triage(artifact: dict[str, Any]) -> WorkResult:
    """The triage agent's work."""
    return _step("triage", artifact)


def math(artifact: dict[str, Any]) -> WorkResult:
    """The math agent's work."""
    return _step("math", artifact)


def code(artifact: dict[str, Any]) -> WorkResult:
    """The code agent's work."""
    return _step("code", artifact)


def review(artifact: dict[str, Any]) -> WorkResult:
    """The review agent's work."""
    return _step("review", artifact)


LATENCY_ENV = "HANDOFFQ_DEMO_LATENCY"
"""Seconds each ``*_slow`` work waits (asynchronously) before doing its step, as a model call would."""
ENTRY_LATENCY_ENV = "HANDOFFQ_DEMO_ENTRY_LATENCY"
"""Seconds :func:`triage_slow` (the entry agent) waits instead, if set."""


async def _slow(name: str, artifact: dict[str, Any], env: str = LATENCY_ENV) -> WorkResult:
    await asyncio.sleep(float(os.environ.get(env) or os.environ.get(LATENCY_ENV) or 0.0))
    return _step(name, artifact)


async def triage_slow(artifact: dict[str, Any]) -> WorkResult:
    """:func:`triage` after ``$HANDOFFQ_DEMO_ENTRY_LATENCY`` (else ``$HANDOFFQ_DEMO_LATENCY``)
    seconds (a coroutine: it holds no thread while it waits)."""
    return await _slow("triage", artifact, ENTRY_LATENCY_ENV)


async def math_slow(artifact: dict[str, Any]) -> WorkResult:
    """:func:`math` after ``$HANDOFFQ_DEMO_LATENCY`` seconds."""
    return await _slow("math", artifact)


async def code_slow(artifact: dict[str, Any]) -> WorkResult:
    """:func:`code` after ``$HANDOFFQ_DEMO_LATENCY`` seconds."""
    return await _slow("code", artifact)


async def review_slow(artifact: dict[str, Any]) -> WorkResult:
    """:func:`review` after ``$HANDOFFQ_DEMO_LATENCY`` seconds."""
    return await _slow("review", artifact)


def noop(artifact: Any) -> Any:
    """A work that returns the artifact unchanged (overhead measurements)."""
    return artifact


def kind_view(artifact: dict[str, Any]) -> str:
    """Every agent's own view: the task's kind and which agents have worked on it."""
    return f"{artifact['kind']}:{','.join(sorted(set(artifact['trace'])))}"


def judge(artifact: dict[str, Any]) -> float:
    """1 if the task got what it needed, else 0."""
    trace = list(artifact["trace"])
    kind = artifact["kind"]
    if kind == "math":
        return 1.0 if "math" in trace else 0.0
    return 1.0 if {"math": "math", "code": "code", "text": "review"}[kind] in trace else 0.0


NOTIFY_ENV = "HANDOFFQ_DEMO_NOTIFY"
"""``host:port``: :func:`notifying_judge` sends each finished task's ``id`` there (UDP)."""


def notifying_judge(artifact: dict[str, Any]) -> float:
    """:func:`judge`, and a UDP datagram ``"<artifact["id"]>:<agents that worked>"`` to
    ``$HANDOFFQ_DEMO_NOTIFY`` (how the benchmark learns, without polling, that a task ended)."""
    reward = judge(artifact)
    target = os.environ.get(NOTIFY_ENV)
    if target and "id" in artifact:
        host, _, port = target.rpartition(":")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(f"{artifact['id']}:{len(artifact['trace'])}".encode(), (host, int(port)))
    return reward


def best_route(kind: str) -> list[str]:
    """The cheapest route that earns the reward, for checking what was learned."""
    return ["triage", {"math": "math", "code": "code", "text": "review"}[kind]]
