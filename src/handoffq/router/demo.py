"""A four-agent document pipeline without any LLM: the examples', tests' and bench's workflow.

A document is prose or code, short or long. ``classifier`` labels it (90% accurate),
``summariser`` writes a summary (hallucinated half of the time on code, 5% on prose),
``checker`` repairs a summary, ``finisher`` publishes. The task pays 1 if the published
document is acceptable: a long document needs a summary, and no summary may be hallucinated.
Every invocation costs money and time. Each agent routes *after* its work, on its own view:

=============  ==========================================  ===========================
agent          its view (informed)                         successors
=============  ==========================================  ===========================
classifier     (long?, label it just wrote)                summariser, checker, finisher
summariser     label                                       checker, finisher
checker        (has a summary?, label)                     summariser, finisher
finisher       (long?, has summary?, checked?, label)      END
=============  ==========================================  ===========================

The best routing: short -> finisher; long prose -> summariser -> finisher; long code ->
summariser -> checker -> finisher. With ``finisher="blind"`` the finisher sees nothing: every
route into it looks the same to its predecessors, and IC-Q learns a routing worse than the
fixed full chain (the trap :mod:`handoffq.router.diagnostics` warns about).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from handoffq.router.errors import END

__all__ = ["FULL_CHAIN", "SUCCESSORS", "WORK", "Doc", "build_router", "judge", "make_doc", "run_doc", "views"]


@dataclass
class Doc:
    """The artifact every agent works on (``kind`` and ``hallucinated`` are hidden from all views)."""

    long: bool
    kind: str
    label: str | None = None
    summary: str | None = None
    hallucinated: bool = False
    checked: bool = False
    published: bool = False
    log: list[str] = field(default_factory=list)


def make_doc(rng: random.Random) -> Doc:
    """A random document: prose or code, short or long, equally likely."""
    return Doc(long=rng.random() < 0.5, kind=rng.choice(["prose", "code"]))


def classify(doc: Doc, rng: random.Random) -> tuple[float, int]:
    """Label the document (90% accurate). Returns ``(cost, duration)``."""
    wrong = "code" if doc.kind == "prose" else "prose"
    doc.label = doc.kind if rng.random() < 0.9 else wrong
    return 0.01, 1


def summarise(doc: Doc, rng: random.Random) -> tuple[float, int]:
    """Write a summary; it is hallucinated 50% of the time on code, 5% on prose."""
    doc.summary = "summary"
    doc.hallucinated = rng.random() < (0.5 if doc.kind == "code" else 0.05)
    doc.checked = False
    return 0.10, 3


def check(doc: Doc, rng: random.Random) -> tuple[float, int]:
    """Repair the summary, if there is one."""
    if doc.summary is not None:
        doc.hallucinated = False
        doc.checked = True
    return 0.05, 2


def finish(doc: Doc, rng: random.Random) -> tuple[float, int]:
    """Publish."""
    doc.published = True
    return 0.01, 1


WORK: dict[str, Callable[[Doc, random.Random], tuple[float, int]]] = {
    "classifier": classify, "summariser": summarise, "checker": check, "finisher": finish,
}
SUCCESSORS: dict[str, list[str]] = {
    "classifier": ["summariser", "checker", "finisher"],
    "summariser": ["checker", "finisher"],
    "checker": ["summariser", "finisher"],
    "finisher": [END],
}
FULL_CHAIN = ["classifier", "summariser", "checker", "finisher"]


def views(finisher: Literal["informed", "blind"] = "informed") -> dict[str, Callable[[Doc], Any]]:
    """Each agent's own view of the document (the finisher's informed or blind)."""
    fin: Callable[[Doc], Any] = (
        (lambda d: (d.long, d.summary is not None, d.checked, d.label)) if finisher == "informed" else (lambda d: ())
    )
    return {
        "classifier": lambda d: (d.long, d.label),
        "summariser": lambda d: d.label,
        "checker": lambda d: (d.summary is not None, d.label),
        "finisher": fin,
    }


def judge(doc: Doc) -> float:
    """1.0 if the published document is acceptable, else 0.0."""
    ok = doc.published and (not doc.long or doc.summary is not None) and not doc.hallucinated
    return 1.0 if ok else 0.0


def run_doc(seed: int, route: Callable[..., str]) -> float:
    """Run one document (drawn from ``seed``) through the agents, asking ``route`` after each
    agent's work whom to hand off to (``route`` is ``task.next`` or a baseline's); return the reward."""
    rng = random.Random(seed)
    doc = make_doc(rng)
    agent = "classifier"
    while agent != END:
        cost, duration = WORK[agent](doc, rng)
        doc.log.append(agent)
        agent = route(agent, doc, cost=cost, duration=duration)
    return judge(doc)


def build_router(finisher: Literal["informed", "blind"] = "informed", **router_options: Any) -> Any:
    """A :class:`~handoffq.router.router.Router` with the four agents declared."""
    from handoffq.router.router import Router

    router = Router(**router_options)
    for name, view in views(finisher).items():
        router.add_agent(name, observe=view, successors=SUCCESSORS[name])
    return router
