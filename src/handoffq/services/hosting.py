"""The calls a service makes on the one :class:`~handoffq.router.node.AgentNode` it hosts.

A service is "one node of a Router, behind HTTP": it views the artifact its agent produced,
sends back ``v = max_k Q(o, k)``, chooses a successor, and learns from the three numbers its
successor replies. :class:`HostedNode` maps a task's mode onto those calls as the router does (``train``:
explore and learn; ``serve``: greedy, learns if ``learn_in_serve``; ``frozen``: greedy, nothing
recorded) and
restores the decisions that were waiting for a reply when the node's snapshot was taken
(the node's ``state_dict`` holds its learner, not its in-flight decisions).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol

from handoffq.core.messages import HandoffMessage
from handoffq.router.node import UNSEEN

__all__ = ["HostedNode", "NodeLike", "weakest_mode"]

_ORDER = {"train": 0, "serve": 1, "frozen": 2}


def weakest_mode(a: str, b: str) -> str:
    """The less-learning of two modes (a frozen service never learns, whatever the task asks)."""
    return a if _ORDER[a] >= _ORDER[b] else b


class NodeLike(Protocol):
    """The part of :class:`~handoffq.router.node.AgentNode` a service uses."""

    name: str
    successors: tuple[str, ...]

    def view(self, artifact: Any, *, add: bool = True) -> tuple[Any, ...]:
        """The agent's encoded own view of ``artifact``."""

    def value(self, obs: Any, allowed: Sequence[str] | None = None) -> float:
        """``max_k Q(obs, k)``."""

    def choose(
        self,
        key: Hashable,
        obs: Any,
        *,
        explore: bool,
        allowed: Sequence[str] | None = None,
        record: bool | None = None,
        chosen: str | None = None,
    ) -> str:
        """Pick (or take ``chosen``) and, when recording, remember the decision under ``key``."""

    def learn(self, key: Hashable, message: HandoffMessage) -> float:
        """Regress decision ``key`` on ``R + gamma**tau * v``."""

    def forget(self, key: Hashable) -> bool:
        """Drop decision ``key``."""

    def state_dict(self) -> dict[str, Any]:
        """The node's own state."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""

    def restore_pending(self, entries: Sequence[tuple[Hashable, Any, str]]) -> None:
        """Re-install decisions that were waiting for a reply."""


class HostedNode:
    """A service's handle on its node (``learn_in_serve`` as the router's: serve mode still learns)."""

    def __init__(self, node: NodeLike, learn_in_serve: bool = True) -> None:
        self.node = node
        self.learn_in_serve = bool(learn_in_serve)

    @property
    def name(self) -> str:
        """The agent's name."""
        return self.node.name

    @property
    def successors(self) -> tuple[str, ...]:
        """Its successors (agent names and END)."""
        return tuple(self.node.successors)

    def learns(self, mode: str) -> bool:
        """Whether a task in ``mode`` records decisions here (and so asks for replies)."""
        return mode == "train" or (mode == "serve" and self.learn_in_serve)

    def observe(self, artifact: Any, mode: str) -> list[Any]:
        """The encoded view (a JSON-ready list); as the router, only learning tasks add new views
        (outside training only when the node's ``unseen`` policy is ``"add"``)."""
        add = self.learns(mode) and (mode == "train" or getattr(self.node, "unseen", "add") == "add")
        return list(self.node.view(artifact, add=add))

    def encoded(self, obs: Sequence[Any]) -> tuple[Any, ...]:
        """The node's encoded view from its JSON form: a tabular ``[-1]`` is the node's
        :data:`~handoffq.router.node.UNSEEN` sentinel itself (the node tests it by identity; a
        new ``(-1,)`` tuple would index the last row of its table)."""
        view = tuple(obs)
        if view == UNSEEN and getattr(self.node, "vocab", None) is not None:
            return UNSEEN
        return view

    def value(self, obs: Sequence[Any]) -> float:
        """``v`` at ``obs`` (the initial value for a view never seen)."""
        return float(self.node.value(self.encoded(obs)))

    def decide(self, key: str, obs: Sequence[Any], mode: str) -> tuple[str, bool]:
        """The successor for this task's mode, and whether the decision was recorded under ``key``
        (never for a view the node could not store: that one goes to ``fallback``, as in the router)."""
        view = self.encoded(obs)
        learn = self.learns(mode) and view is not UNSEEN
        return self.node.choose(key, view, explore=mode == "train", record=learn), learn

    def learn(self, key: str, v: float, tau: int, reward: float) -> float:
        """Learn decision ``key`` from ``(v, tau, R)``."""
        return float(self.node.learn(key, HandoffMessage(v, tau, reward)))

    def forget(self, key: str) -> bool:
        """Drop decision ``key``."""
        return bool(self.node.forget(key))

    def state_dict(self) -> dict[str, Any]:
        """The node's state."""
        return self.node.state_dict()

    def restore(self, state: dict[str, Any], pending: Sequence[tuple[str, Sequence[Any], str]]) -> None:
        """Load ``state``, then re-install the ``(key, obs, successor)`` decisions still waiting
        (the learner's counters and generator come back exactly)."""
        self.node.load_state_dict(state)
        self.node.restore_pending([(key, tuple(obs), succ) for key, obs, succ in pending])
