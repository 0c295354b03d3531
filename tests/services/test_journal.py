"""The journal: whole records or none, snapshots that replace it atomically."""

from __future__ import annotations

import pytest

from handoffq.services.journal import Journal, JournalError


def test_records_after_the_snapshot_come_back_in_order(tmp_path):
    j = Journal(tmp_path, "a")
    for i in range(3):
        j.append({"op": "x", "i": i})
    j.snapshot({"n": 3})
    j.append({"op": "x", "i": 3})
    j.close()
    state, records = Journal(tmp_path, "a").load()
    assert state == {"n": 3} and records == [{"op": "x", "i": 3}]


def test_a_torn_or_corrupt_tail_is_cut_off(tmp_path):
    j = Journal(tmp_path, "a")
    j.append({"op": "x", "i": 0})
    j.append({"op": "x", "i": 1})
    j.close()
    data = j.journal_path.read_bytes()
    j.journal_path.write_bytes(data[:-5])  # a write cut short
    j2 = Journal(tmp_path, "a")
    assert j2.load()[1] == [{"op": "x", "i": 0}]
    assert j2.journal_path.read_bytes() == data[: data.index(b"\n") + 1]
    j2.append({"op": "x", "i": 2})
    j2.close()
    bad = j2.journal_path.read_bytes().replace(b'"i":2', b'"i":3')  # checksum no longer matches
    j2.journal_path.write_bytes(bad)
    assert Journal(tmp_path, "a").load()[1] == [{"op": "x", "i": 0}]


def test_stale_records_before_the_snapshot_are_skipped(tmp_path):
    j = Journal(tmp_path, "a")
    j.append({"op": "x", "i": 0})
    old = j.journal_path.read_bytes()
    j.snapshot({"n": 1})
    j.journal_path.write_bytes(old)  # as if the process died between the snapshot and the truncation
    assert Journal(tmp_path, "a").load() == ({"n": 1}, [])


def test_foreign_or_broken_snapshots_are_refused(tmp_path):
    Journal(tmp_path, "a").snapshot({})
    (tmp_path / "a.ckpt").rename(tmp_path / "b.ckpt")
    with pytest.raises(JournalError, match="not 'b'"):
        Journal(tmp_path, "b").load()
    (tmp_path / "c.ckpt").write_bytes(b"garbage")
    with pytest.raises(JournalError, match="cannot read"):
        Journal(tmp_path, "c").load()
