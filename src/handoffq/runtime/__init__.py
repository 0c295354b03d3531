"""Runners: in-process, batched, and (with the ``[ray]`` extra) distributed on Ray.

All drive the one episode loop of :mod:`handoffq.runtime.loop` and share the
:class:`~handoffq.runtime.base.Runner` interface; experiments pick one with
:func:`make_runner` from their ``--runtime`` option.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handoffq.core.channel import Auditor
from handoffq.runtime.base import Runner

__all__ = ["RUNTIMES", "make_runner"]

RUNTIMES = ("inprocess", "batched", "ray")


def make_runner(
    runtime: str,
    env: Any,
    agents: Sequence[Any],
    seed: int = 0,
    auditor: Auditor | None = None,
    n_envs: int = 64,
    **kwargs: Any,
) -> Runner:
    """A runner for ``runtime`` over ``env`` and ``agents``.

    ``"inprocess"``: one episode at a time; ``"batched"``: ``n_envs`` episodes at once (a
    scalar environment is copied into a :class:`~handoffq.core.vec.SyncVecEnv`; a vectorised
    one is used as it is); ``"ray"``: each agent in its own actor. After ``train`` returns,
    ``agents`` hold the trained state whatever the runtime, so callers evaluate them directly.
    """
    if runtime == "inprocess":
        from handoffq.runtime.inprocess import InProcessRunner

        return InProcessRunner(env, agents, auditor=auditor, seed=seed)
    if runtime == "batched":
        from handoffq.core.vec import SyncVecEnv
        from handoffq.runtime.inprocess import BatchedRunner

        vec = env if hasattr(env, "n_envs") else SyncVecEnv(env, n_envs, seed=seed)
        return BatchedRunner(vec, agents, auditor=auditor, seed=seed)
    if runtime == "ray":
        try:
            from handoffq.runtime.ray import RayRunner
        except ModuleNotFoundError as exc:
            raise ValueError(f"runtime 'ray' needs the [ray] extra ({exc})") from None
        return RayRunner(env, agents, auditor=auditor, seed=seed, **kwargs)
    raise ValueError(f"unknown runtime {runtime!r} (expected one of {', '.join(RUNTIMES)})")
