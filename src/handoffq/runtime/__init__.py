"""Runners: in-process, batched, and (with the ``[ray]`` extra) distributed on Ray.

All share the :class:`~handoffq.runtime.base.Runner` interface; experiments pick one with
:func:`make_runner` from their ``--runtime`` option.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from handoffq.core.channel import Auditor
from handoffq.runtime.base import Runner

__all__ = ["make_runner"]


def make_runner(
    runtime: str,
    env: Any,
    agents: Sequence[Any],
    seed: int = 0,
    auditor: Auditor | None = None,
    **kwargs: Any,
) -> Runner:
    """A runner for ``runtime`` (``"inprocess"`` or ``"ray"``) over ``env`` and ``agents``.

    After ``train`` returns, ``agents`` hold the trained state whatever the runtime (a
    distributed runner copies each agent's own state back), so callers evaluate them directly.
    """
    if runtime == "inprocess":
        from handoffq.runtime.inprocess import InProcessRunner

        return InProcessRunner(env, agents, auditor=auditor, seed=seed)
    if runtime == "ray":
        try:
            from handoffq.runtime.ray_runner import RayRunner
        except ModuleNotFoundError as exc:
            raise ValueError(f"--runtime ray needs the [ray] extra ({exc})") from None
        return RayRunner(env, agents, auditor=auditor, seed=seed, **kwargs)
    raise ValueError(f"unknown runtime {runtime!r} (expected 'inprocess' or 'ray')")
