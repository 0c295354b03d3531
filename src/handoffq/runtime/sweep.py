"""Resumable parameter sweeps: each cell's result is appended to a JSON-lines file as soon as
it finishes, and a restarted sweep skips the cells already there.

``run_sweep`` runs cells in-process (``workers == 1``), in a local process pool
(``runtime="inprocess"``, ``workers > 1``) or on Ray (``runtime="ray"``). Cell functions must
be module-level (picklable) and deterministic given the cell (seeds live in the cell).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from handoffq.io import to_jsonable

__all__ = ["cell_key", "load_finished", "run_sweep"]


def cell_key(cell: dict[str, Any]) -> str:
    """A stable identifier of a cell (hash of its sorted JSON)."""
    blob = json.dumps(to_jsonable(cell), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_finished(store: Path) -> dict[str, dict[str, Any]]:
    """Finished cells in ``store`` by key (a torn last line from a killed run is ignored)."""
    done: dict[str, dict[str, Any]] = {}
    if not store.exists():
        return done
    for line in store.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        done[rec["key"]] = rec["result"]
    return done


def _append(store: Path, key: str, cell: dict[str, Any], result: dict[str, Any]) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    torn = False
    if store.exists() and store.stat().st_size:
        with store.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            torn = fh.read(1) != b"\n"  # a killed run's half-written last line
    with store.open("a") as fh:
        if torn:
            fh.write("\n")
        fh.write(json.dumps(to_jsonable({"key": key, "cell": cell, "result": result})) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def run_sweep(
    cells: Sequence[dict[str, Any]],
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    store: Path,
    workers: int = 1,
    runtime: str = "inprocess",
    advance: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``fn`` on every cell not already in ``store``; return results in cell order.

    Each returned row is ``{**cell, **result}``.
    """
    finished = load_finished(store)
    keys = [cell_key(c) for c in cells]
    todo = [(k, c) for k, c in zip(keys, cells, strict=True) if k not in finished]
    if advance is not None and len(cells) - len(todo):
        advance(len(cells) - len(todo))
    if runtime == "ray":
        from handoffq.runtime.ray.sweep import run_cells_ray

        for k, c, res in run_cells_ray(todo, fn, workers):
            _append(store, k, c, res)
            finished[k] = res
            if advance is not None:
                advance(1)
    elif workers > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # forkserver, not fork: forking a process whose threads (Ray's, a server's) hold locks
        # can deadlock the child; cells are module-level functions, importable by name
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futs = {pool.submit(fn, c): (k, c) for k, c in todo}
            for fut in as_completed(futs):
                k, c = futs[fut]
                res = fut.result()
                _append(store, k, c, res)
                finished[k] = res
                if advance is not None:
                    advance(1)
    else:
        for k, c in todo:
            res = fn(c)
            _append(store, k, c, res)
            finished[k] = res
            if advance is not None:
                advance(1)
    return [{**c, **finished[k]} for k, c in zip(keys, cells, strict=True)]
