"""The shared atomic write: a finished write replaces the file, a failed one leaves it whole."""

from pathlib import Path

import pytest

from handoffq.io import atomic_write, read_csv, read_json, remove_stale_temps, write_csv, write_json


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


def test_temporaries_of_a_killed_write_are_removed_by_the_owner(tmp_path: Path) -> None:
    target = tmp_path / "agent_0.ckpt"
    target.write_bytes(b"whole")
    left = [tmp_path / ".agent_0.ckpt.k1llqd.tmp", tmp_path / ".agent_0.ckpt.x.tmp"]
    for p in left:
        p.write_bytes(b"half")  # as a SIGKILL mid-write leaves it
    other = tmp_path / ".agent_1.ckpt.abc.tmp"  # another file's: not ours to remove
    other.write_bytes(b"half")
    assert remove_stale_temps(target) == sorted(left)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".agent_1.ckpt.abc.tmp", "agent_0.ckpt"])
    assert target.read_bytes() == b"whole" and remove_stale_temps(target) == []


def test_result_files_round_trip(tmp_path: Path) -> None:
    write_json(tmp_path / "a" / "s.json", {"x": float("nan"), "y": (1, 2)})
    assert read_json(tmp_path / "a" / "s.json") == {"x": None, "y": [1, 2]}
    write_csv(tmp_path / "r.csv", [{"a": 1}, {"b": 2}])
    assert read_csv(tmp_path / "r.csv") == [{"a": "1", "b": ""}, {"a": "", "b": "2"}]
