"""The user's code a service runs: its work (``module:function``) and, for a judge, its reward.

A work callable takes the artifact it received and returns the artifact it produced: either
the artifact itself (any JSON value) or a :class:`WorkResult` that also reports the
invocation's cost and duration (``tau``, in primitive steps). It may be a plain function
(run in a worker thread, so a blocking call such as an LLM request does not stall the
service) or a coroutine function (awaited). A judge callable takes the final artifact and
returns the task's reward (a finite number).
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["WorkResult", "as_reward", "as_work_result", "call", "load_callable"]


@dataclass(frozen=True, slots=True)
class WorkResult:
    """What an invocation produced: the new artifact, its cost and its duration (``tau >= 1``)."""

    artifact: Any
    cost: float = 0.0
    duration: int = 1


def load_callable(spec: str, option: str) -> Callable[..., Any]:
    """Import ``module:function`` (one-line error naming ``option`` when it cannot)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"{option} must look like module:function, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"{option}: cannot import module {module_name!r} ({exc})") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{option}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{option}: {spec!r} is not callable")
    return obj


def as_work_result(out: Any, where: str) -> WorkResult:
    """Normalise a work callable's return value (checking cost and duration)."""
    if not isinstance(out, WorkResult):
        return WorkResult(out)
    cost = out.cost
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost):
        raise ValueError(f"{where}: WorkResult.cost must be a finite number, got {cost!r}")
    dur = out.duration
    if isinstance(dur, bool) or not isinstance(dur, int) or dur < 1:
        raise ValueError(f"{where}: WorkResult.duration must be an integer >= 1, got {dur!r}")
    return WorkResult(out.artifact, float(cost), int(dur))


def as_reward(out: Any, where: str) -> float:
    """A judge's return value as a finite float."""
    if isinstance(out, bool) or not isinstance(out, (int, float)) or not math.isfinite(float(out)):
        raise ValueError(f"{where}: a judge must return a finite number, got {out!r}")
    return float(out)


async def call(fn: Callable[..., Any], arg: Any, threads: Any | None) -> Any:
    """Call ``fn(arg)``: awaited if it is a coroutine function, else in a worker thread
    (bounded by the ``anyio`` capacity limiter ``threads``) or inline when ``threads`` is None."""
    if inspect.iscoroutinefunction(fn):
        return await fn(arg)
    if threads is None:
        return fn(arg)
    import anyio.to_thread

    return await anyio.to_thread.run_sync(fn, arg, limiter=threads)
