"""One BLAS thread for small networks: a context manager over numpy's OpenBLAS.

The numpy MLPs of the batched runners multiply small matrices thousands of times a second. On a
loaded machine a multithreaded BLAS spends more time waking and spinning threads than computing
(measured: a width-128 step took 17 ms with OpenBLAS's default threads on a loaded 2-core
machine, 0.5 ms with one). :func:`blas_threads` sets the thread count of the OpenBLAS that numpy
loaded (found in this process's memory map, called through ``ctypes``) and restores it on exit;
where there is none (another BLAS, another OS) it does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["blas_threads"]

_SET = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads")
_GET = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_", "openblas_get_num_threads")


def _openblas() -> tuple[object, object] | None:
    """``(set, get)`` thread-count functions of the loaded OpenBLAS, if any."""
    import numpy  # noqa: F401  (loads the BLAS)

    maps = Path("/proc/self/maps")
    if not maps.exists():
        return None
    paths = {line.split()[-1] for line in maps.read_text().splitlines() if "openblas" in line.lower()}
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for s, g in zip(_SET, _GET, strict=True):
            if hasattr(lib, s) and hasattr(lib, g):
                return getattr(lib, s), getattr(lib, g)
    return None


@contextmanager
def blas_threads(n: int = 1) -> Iterator[None]:
    """Run the body with ``n`` OpenBLAS threads (restored afterwards; a no-op without OpenBLAS)."""
    fns = _openblas()
    if fns is None:
        yield
        return
    set_threads, get_threads = fns
    prev = int(get_threads())  # type: ignore[operator]
    set_threads(int(n))  # type: ignore[operator]
    try:
        yield
    finally:
        set_threads(prev)  # type: ignore[operator]
