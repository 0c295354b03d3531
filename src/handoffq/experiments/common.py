"""What every experiment shares: its run context, output files and progress reporting.

Every experiment writes into its output directory ``config.json`` (preset, seed, runtime and
every resolved option: :func:`write_config`), ``results.csv`` (one row per measured cell),
``summary.json`` (headline figures) and PNG figures. Outputs fed by a simulation say so
(``"simulated"`` and ``"simulated_note"`` in config and summary).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handoffq.config import ConfigError, ExperimentConfig, config_to_dict
from handoffq.io import read_json, write_csv, write_json

__all__ = ["ExperimentError", "RunContext", "finish", "same_run", "stored_run", "write_config"]


class ExperimentError(ConfigError):
    """A bad experiment option or configuration found while preparing a run (names it)."""


@dataclass
class RunContext:
    """How an experiment runs: where it writes, its preset, seed shift, runtime and progress.

    ``seed`` shifts every seed of the preset (instance and learning seeds). ``progress(description,
    total)`` returns a context manager yielding an ``advance(n)`` callable (the CLI shows progress
    bars, or periodic lines when its output is not a terminal; the library default is silent).
    """

    out: Path
    preset: str = "full"
    variant: str | None = None
    seed: int = 0
    runtime: str = "inprocess"
    workers: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    progress: Callable[[str, int], Any] | None = None
    log: Callable[[str], None] = lambda msg: None

    @property
    def quick(self) -> bool:
        """Whether the CI-sized preset runs."""
        return self.preset == "quick"

    @contextmanager
    def bar(self, description: str, total: int) -> Iterator[Callable[..., None]]:
        """Progress for a loop of ``total`` units: ``with ctx.bar(d, n) as advance: ...``."""
        if self.progress is None:
            yield lambda n=1: None
        else:
            with self.progress(description, total) as advance:
                yield advance


def run_meta(name: str, ctx: RunContext) -> dict[str, Any]:
    """What identifies a run besides its options (compared by ``reproduce``)."""
    from handoffq import __version__

    return {"experiment": name, "preset": ctx.preset, "variant": ctx.variant, "seed": ctx.seed,
            "runtime": ctx.runtime, "workers": ctx.workers, "options": dict(ctx.options),
            "handoffq_version": __version__}


def write_config(name: str, cfg: ExperimentConfig, ctx: RunContext, simulated: bool, note: str) -> dict[str, Any]:
    """Write ``config.json``: the run's identity and every resolved option (flat, dotted names)."""
    data = {**run_meta(name, ctx), **config_to_dict(cfg), "simulated": simulated, "simulated_note": note}
    write_json(ctx.out / "config.json", data)
    return data


def finish(ctx: RunContext, rows: list[dict[str, Any]], summary: dict[str, Any], simulated: bool,
           note: str) -> dict[str, Any]:
    """Write ``results.csv`` and ``summary.json`` (labelled simulated when it is); return the summary."""
    summary = {**summary, "simulated": simulated, "simulated_note": note, "finished_at": time.time()}
    write_csv(ctx.out / "results.csv", rows)
    write_json(ctx.out / "summary.json", summary)
    return summary


def stored_run(out: Path) -> dict[str, Any] | None:
    """The ``config.json`` of a finished run in ``out`` (``None`` unless summary.json exists too)."""
    if not (out / "summary.json").exists():
        return None
    data = read_json(out / "config.json")
    return data if isinstance(data, dict) else None


def same_run(stored: dict[str, Any], name: str, cfg: ExperimentConfig, ctx: RunContext) -> bool:
    """Whether a stored ``config.json`` is the run that ``cfg`` and ``ctx`` would make now."""
    from handoffq.io import to_jsonable

    want = to_jsonable({**run_meta(name, ctx), **config_to_dict(cfg)})
    keep = {k: v for k, v in want.items() if k not in ("options", "handoffq_version", "workers")}
    return all(stored.get(k) == v for k, v in keep.items())
