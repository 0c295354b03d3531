"""The TD target of IC-Q (paper eq. 5), as small pure functions."""

from __future__ import annotations

import numpy as np

__all__ = ["gamma_power", "td_target", "td_target_batch"]

_POW_TABLE = 256  # integer durations below this are looked up, not raised to a power
_POW_CACHE: dict[float, np.ndarray] = {}


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
    return np.asarray(reward, float) + gamma_power(gamma, duration) * np.asarray(value, float)
