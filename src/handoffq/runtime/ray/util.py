"""Ray plumbing shared by the runner and the sweep: start-up, failure test, arguments."""

from __future__ import annotations

import os
import sys
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

__all__ = ["actor_died", "ensure_ray", "limit_threads", "to_ray_arg"]


def ensure_ray(address: str | None = None, init_kwargs: dict[str, Any] | None = None) -> None:
    """Start or connect to Ray unless it is already initialised in this process.

    ``address`` (or ``RAY_ADDRESS``) names an existing cluster; without one a local Ray is
    started with ``init_kwargs`` (e.g. ``{"num_cpus": 2}``).
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
    kwargs.update(init_kwargs or {})
    if address is not None:
        kwargs["address"] = address
    ray.init(**kwargs)


def actor_died(exc: BaseException) -> bool:
    """True when ``exc`` means a remote actor died or is unreachable (not a bug in its code)."""
    if isinstance(exc, RayActorError):
        return True
    return isinstance(exc, RayTaskError) and isinstance(getattr(exc, "cause", None), RayActorError)


def to_ray_arg(obj: Any, what: str, inline_limit: int = 64 * 1024) -> Any:
    """``obj`` itself when small (inlined in the actor spec), else a driver-held object ref.

    Raises ``ValueError`` naming ``what`` when ``obj`` cannot be sent to another process.
    """
    try:
        size = len(ray.cloudpickle.dumps(obj))
    except Exception as exc:  # any serialisation failure
        raise ValueError(
            f"the {what} must be picklable to run on Ray (it is copied into its own actor): {exc}"
        ) from exc
    return obj if size <= inline_limit else ray.put(obj)


def limit_threads() -> None:
    """One math thread per actor process (many actors share few cores)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
