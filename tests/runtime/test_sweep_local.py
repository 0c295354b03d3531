"""The in-process path of the resumable sweep (the Ray path is tested with Ray)."""

from handoffq.runtime.sweep import cell_key, load_finished, run_sweep

CALLS = []


def square(cell):
    CALLS.append(cell["x"])
    return {"y": cell["x"] ** 2}


def test_sweep_resumes_and_skips_finished(tmp_path):
    store = tmp_path / "cells.jsonl"
    cells = [{"x": i} for i in range(5)]
    CALLS.clear()
    run_sweep(cells[:3], square, store)
    with store.open("a") as fh:
        fh.write('{"key": "torn')  # a killed run's half-written line is ignored
    rows = run_sweep(cells, square, store)
    assert CALLS == [0, 1, 2, 3, 4]
    assert [r["y"] for r in rows] == [0, 1, 4, 9, 16]
    assert set(load_finished(store)) == {cell_key(c) for c in cells}
    assert cell_key({"a": 1, "b": 2}) == cell_key({"b": 2, "a": 1})
