"""What every experiment shares: its output files, options and progress reporting.

Every experiment writes into its output directory ``config.json`` (the whole resolved
configuration), ``results.csv`` (one row per measured cell), ``summary.json`` (headline
figures, keys fixed by its issue) and PNG figures. Outputs fed by a simulation say so
(``"simulated"`` in config and summary).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ExperimentError",
    "RunContext",
    "write_json",
    "write_csv",
    "read_csv",
    "to_jsonable",
    "pearson",
    "spearman",
    "loglog_slope",
]


class ExperimentError(ValueError):
    """A bad experiment option or configuration (the message names it)."""


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples, Paths and non-finite floats for JSON."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a temp file, then rename: a killed run leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(to_jsonable(data), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write rows (dicts) as CSV with the union of their keys as header, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys: list[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: to_jsonable(v) for k, v in r.items()})
    os.replace(tmp, path)


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV written by :func:`write_csv`."""
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation (nan if either side is constant)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of ``log y`` against ``log x``."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


@dataclass
class RunContext:
    """Options every experiment receives.

    ``progress(description, total)`` returns a context manager yielding an ``advance(n)``
    callable (the CLI shows rich progress bars; the library default is silent).
    ``options`` holds experiment-specific ``--key value`` options, validated by the
    experiment with :meth:`option`.
    """

    out: Path
    quick: bool = False
    seed: int = 0
    runtime: str = "inprocess"
    workers: int = 1
    options: dict[str, str] = field(default_factory=dict)
    progress: Callable[[str, int], Any] | None = None
    log: Callable[[str], None] = lambda msg: None
    _used: set[str] = field(default_factory=set)

    def option(self, name: str, default: Any, choices: Iterable[Any] | None = None) -> Any:
        """An experiment-specific option converted to ``type(default)``; clear error if bad."""
        self._used.add(name)
        if name not in self.options:
            return default
        raw = self.options[name]
        try:
            if isinstance(default, bool):
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError
                value: Any = raw.lower() in ("1", "true", "yes")
            elif default is None:
                value = raw
            else:
                value = type(default)(raw)
        except ValueError:
            raise ExperimentError(f"option --{name}: cannot read {raw!r} as {type(default).__name__}") from None
        if choices is not None and value not in list(choices):
            raise ExperimentError(f"option --{name}: {raw!r} is not one of {list(choices)}")
        return value

    def option_floats(self, name: str, default: tuple[float, ...]) -> tuple[float, ...]:
        """A comma-separated list of numbers (e.g. ``--rhos 1,0.5,0.2``)."""
        self._used.add(name)
        if name not in self.options:
            return default
        try:
            return tuple(float(x) for x in self.options[name].split(",") if x.strip())
        except ValueError:
            raise ExperimentError(f"option --{name}: expected numbers separated by commas, "
                                  f"got {self.options[name]!r}") from None

    def check_unused(self) -> None:
        """Raise if an option was given that the experiment does not know."""
        unknown = sorted(set(self.options) - self._used)
        if unknown:
            raise ExperimentError(f"unknown option(s) for this experiment: {', '.join('--' + u for u in unknown)}")

    @contextmanager
    def bar(self, description: str, total: int):  # type: ignore[no-untyped-def]
        """Progress for a loop of ``total`` units: ``with ctx.bar(d, n) as advance: ...``."""
        if self.progress is None:
            yield lambda n=1: None
        else:
            with self.progress(description, total) as advance:
                yield advance
