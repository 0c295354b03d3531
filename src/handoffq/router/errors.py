"""The router's names and errors: the ``END`` successor and one-line error types."""

from __future__ import annotations

from typing import Final

__all__ = ["END", "RouterError", "TaskStateError", "UnseenViewError", "check_agent_name"]

END: Final = "__end__"
"""The successor that ends a task (the same string as LangGraph's ``END``)."""


class RouterError(ValueError):
    """A user error in declaring or driving a router: one line naming the agent, option or file."""


class UnseenViewError(RouterError):
    """An agent was asked to route a view it never saw, and its ``unseen`` policy is ``"error"``."""


class TaskStateError(RouterError):
    """A task was driven out of order (a report from the wrong agent, a second ``finish``...)."""


def check_agent_name(name: object) -> str:
    """Return ``name`` if it is a usable agent name (a non-empty string other than ``END``)."""
    if not isinstance(name, str) or not name:
        raise RouterError(f"agent names must be non-empty strings, got {name!r}")
    if name == END:
        raise RouterError(f"{END!r} is the END successor and cannot name an agent")
    return name
