"""Small statistics used by the experiment summaries (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["loglog_slope", "mean_ci", "pearson", "spearman", "standard_error"]


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation (nan if either side is constant)."""
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    if xa.std() == 0 or ya.std() == 0:
        return float("nan")
    return float(np.corrcoef(xa, ya)[0, 1])


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


def standard_error(x: Sequence[float] | np.ndarray) -> float:
    """Standard error of the mean (0 for fewer than two values)."""
    a = np.asarray(x, float)
    return float(a.std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else 0.0


def mean_ci(x: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and a Student-t confidence interval ``(mean, low, high)`` over independent runs."""
    from scipy.stats import t

    a = np.asarray(x, float)
    m = float(a.mean())
    if len(a) < 2:
        return m, m, m
    half = float(t.ppf(0.5 + level / 2, len(a) - 1)) * standard_error(a)
    return m, m - half, m + half
