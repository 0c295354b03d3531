"""The TD target of IC-Q (paper eq. 5), as small pure functions, and the finiteness guard.

A learner must never store a non-finite ``Q``: one ``inf`` would spread to every predecessor
through ``v = max_k Q(o, k)``. Each of the three numbers of a handoff message is finite by
construction, but ``R + gamma**tau * v`` can still overflow (``R = v = 1e308``), and so can a
step towards a huge target. :func:`finite_target` refuses such a target, and the estimators
refuse a step whose result is not finite, both with :class:`NonFiniteQError` and before any
state changes.
"""

from __future__ import annotations

import math

import numpy as np

from handoffq.core.errors import HandoffqError

__all__ = ["NonFiniteQError", "finite_target", "finite_targets", "gamma_power", "td_target", "td_target_batch"]

_POW_TABLE = 256  # integer durations below this are looked up, not raised to a power
_POW_CACHE: dict[float, np.ndarray] = {}


class NonFiniteQError(HandoffqError, ValueError):
    """An update would store a non-finite Q value (its target or its step overflowed); it was
    refused and nothing changed: not the estimator, not the pending decision, not the counters."""


def td_target(reward: float, duration: int, value: float, gamma: float) -> float:
    """Return ``reward + gamma**duration * value``: the regression target of a handoff."""
    return reward + gamma**duration * value


def gamma_power(gamma: float, duration: np.ndarray) -> np.ndarray:
    """``gamma ** duration`` for an array of durations: a table lookup for integer durations in
    ``[0, 256)`` (the common case: invocations are short), ``np.power`` otherwise."""
    d = np.asarray(duration)
    if d.dtype.kind in "iu" and d.size and d.min() >= 0 and d.max() < _POW_TABLE:
        g = float(gamma)
        table = _POW_CACHE.get(g)
        if table is None:
            if len(_POW_CACHE) >= 64:  # a bound on memory in long-lived processes
                _POW_CACHE.clear()
            table = _POW_CACHE.setdefault(g, g ** np.arange(_POW_TABLE, dtype=float))
        return table[d]
    return np.power(gamma, d.astype(float))


def td_target_batch(
    reward: np.ndarray, duration: np.ndarray, value: np.ndarray, gamma: float
) -> np.ndarray:
    """Vectorised :func:`td_target` over arrays of equal shape."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(reward, float) + gamma_power(gamma, duration) * np.asarray(value, float)


def finite_target(reward: float, duration: int, value: float, gamma: float, where: str) -> float:
    """:func:`td_target`, or :class:`NonFiniteQError` naming ``where`` if it is not finite."""
    y = td_target(reward, duration, value, gamma)
    if not math.isfinite(y):
        raise NonFiniteQError(
            f"{where}: the TD target R + gamma**tau * v = {reward!r} + {gamma!r}**{duration} * {value!r} "
            "is not finite; the update was refused"
        )
    return y


def finite_targets(targets: np.ndarray, where: str) -> np.ndarray:
    """``targets`` if all are finite, else :class:`NonFiniteQError` naming ``where``."""
    y = np.asarray(targets, float)
    if not np.all(np.isfinite(y)):
        bad = np.flatnonzero(~np.isfinite(y))[:3].tolist()
        raise NonFiniteQError(f"{where}: non-finite TD target(s) at batch position(s) {bad}; the update was refused")
    return y
