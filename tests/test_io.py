"""The shared atomic write: a finished write replaces the file, a failed one leaves it whole."""

from pathlib import Path

import pytest

from handoffq.io import atomic_write, read_csv, read_json, write_csv, write_json


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    target.write_bytes(b"old")
    atomic_write(target, lambda fh: fh.write(b"new"))
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"]


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "state.bin"
    target.write_bytes(b"old")

    def half(fh) -> None:
        fh.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, half)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"]


def test_result_files_round_trip(tmp_path: Path) -> None:
    write_json(tmp_path / "a" / "s.json", {"x": float("nan"), "y": (1, 2)})
    assert read_json(tmp_path / "a" / "s.json") == {"x": None, "y": [1, 2]}
    write_csv(tmp_path / "r.csv", [{"a": 1}, {"b": 2}])
    assert read_csv(tmp_path / "r.csv") == [{"a": "1", "b": ""}, {"a": "", "b": "2"}]
