"""The TD target of IC-Q (paper eq. 5), as small pure functions."""

from __future__ import annotations

import numpy as np

__all__ = ["td_target", "td_target_batch"]


def td_target(reward: float, duration: int, value: float, gamma: float) -> float:
    """Return ``reward + gamma**duration * value``: the regression target of a handoff."""
    return reward + gamma**duration * value


def td_target_batch(
    reward: np.ndarray, duration: np.ndarray, value: np.ndarray, gamma: float
) -> np.ndarray:
    """Vectorised :func:`td_target` over arrays of equal shape."""
    return np.asarray(reward, float) + np.power(gamma, np.asarray(duration, float)) * np.asarray(
        value, float
    )
