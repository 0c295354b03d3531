"""The Ray path of :func:`handoffq.runtime.sweep.run_sweep`: sweep cells as Ray tasks.

Each cell runs as one Ray task (one CPU), at most ``workers`` at a time; results come back
as they finish, so ``run_sweep`` appends each to its store at once and a stopped sweep
loses only the cells that were running. Stopping the consumer (an exception, Ctrl-C, or just
closing the iterator) cancels the cells still queued or running and returns once they have
stopped.

``ray.init`` settings come from the user: ``RAY_ADDRESS`` (or ``address``) names an existing
cluster; otherwise a local Ray is started (``ray_init`` keyword arguments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ray

from handoffq.runtime.ray.util import ensure_ray

__all__ = ["run_cells_ray"]

Cell = dict[str, Any]


def run_cells_ray(
    todo: Sequence[tuple[str, Cell]],
    fn: Callable[[Cell], dict[str, Any]],
    workers: int,
    address: str | None = None,
    ray_init: dict[str, Any] | None = None,
    max_retries: int = 2,
) -> Iterator[tuple[str, Cell, dict[str, Any]]]:
    """Run ``fn(cell)`` for every ``(key, cell)`` in ``todo`` on Ray; yield ``(key, cell,
    result)`` in completion order.

    Args:
        todo: the cells still to run, with their keys.
        fn: a picklable (module-level) function of one cell.
        workers: cells in flight at once (``<= 0``: as many as the cluster has CPUs).
        address: Ray cluster address (default: ``RAY_ADDRESS`` or a local Ray).
        ray_init: ``ray.init`` keyword arguments for a local Ray.
        max_retries: re-runs of a cell whose worker process died.
    """
    todo = list(todo)
    if not todo:
        return
    ensure_ray(address, ray_init)
    if workers <= 0:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    task = ray.remote(num_cpus=1, max_retries=max_retries)(fn)
    queue = iter(todo)
    running: dict[Any, tuple[str, Cell]] = {}

    def submit() -> bool:
        item = next(queue, None)
        if item is None:
            return False
        running[task.remote(item[1])] = item
        return True

    try:
        while len(running) < workers and submit():
            pass
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            key, cell = running.pop(ready[0])
            result = ray.get(ready[0])
            submit()
            yield key, cell, result
    finally:
        _cancel_and_wait(list(running))


def _cancel_and_wait(refs: list[Any], timeout_s: float = 60.0) -> None:
    """Cancel ``refs`` and wait until their workers have stopped (cancellation is
    asynchronous: without the wait, a cell of a stopped sweep could still be running, and
    writing, while the caller starts the sweep again)."""
    for ref in refs:
        ray.cancel(ref, force=True)
    if refs:
        ray.wait(refs, num_returns=len(refs), timeout=timeout_s)
