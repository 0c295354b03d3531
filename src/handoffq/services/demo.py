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

import os
import socket
from typing import Any

from handoffq.services.work import WorkResult

__all__ = [
    "AGENTS", "KINDS", "NOTIFY_ENV", "SUCCESSORS", "best_route", "code", "judge", "kind_view", "math", "new_task",
    "noop", "notifying_judge", "review", "triage",
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
