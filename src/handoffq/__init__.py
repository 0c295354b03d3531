"""handoffq: IC-Q, decentralised learning of handoffs under interface constraints."""

from typing import Any

__version__ = "0.1.0"

_ROUTER_NAMES = ("Router", "END", "AgentNode", "Task", "TaskOutcome", "RouterError")


def __getattr__(name: str) -> Any:
    """``handoffq.Router``, ``handoffq.END``... imported on first use (keeps ``import handoffq`` light)."""
    if name in _ROUTER_NAMES:
        import handoffq.router as _router

        return getattr(_router, name)
    raise AttributeError(f"module 'handoffq' has no attribute {name!r}")
