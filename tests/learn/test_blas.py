"""blas_threads: sets and restores numpy's OpenBLAS thread count (no-op without OpenBLAS)."""

from __future__ import annotations

import numpy as np

from handoffq.learn.blas import _openblas, blas_threads


def test_blas_threads_sets_and_restores() -> None:
    fns = _openblas()
    before = None if fns is None else int(fns[1]())  # type: ignore[operator]
    with blas_threads(1):
        if fns is not None:
            assert int(fns[1]()) == 1  # type: ignore[operator]
        a = np.ones((64, 64))
        assert float((a @ a)[0, 0]) == 64.0
    if fns is not None:
        assert int(fns[1]()) == before  # type: ignore[operator]
