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


def test_a_pickled_snapshot_is_refused_without_running_it(tmp_path):
    import pickle

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (marker.write_text, ("pwned",))

    (tmp_path / "a.ckpt").write_bytes(pickle.dumps({"format": "handoffq-service-1", "x": Payload()}))
    with pytest.raises(JournalError, match="cannot read snapshot"):
        Journal(tmp_path, "a").load()
    assert not marker.exists()


def test_snapshots_hold_no_pickle_and_come_back_exactly(tmp_path):
    import numpy as np

    state = {"node": {"table": np.arange(6.0).reshape(3, 2), "rng": {"state": 2**127 + 5, "inc": 3}},
             "pending": {"t#1": {"obs": [0], "k": "__end__"}}, "views": [("a", 1)],
             "inbox": {"t#0": {"artifact": {"__array__": "not an array", "x": [1.5, None]}}}}
    Journal(tmp_path, "a").snapshot(state)
    with np.load(tmp_path / "a.ckpt", allow_pickle=False) as npz:  # readable with pickle off
        assert "__meta__" in npz.files
    back, _ = Journal(tmp_path, "a").load()
    assert np.array_equal(back["node"]["table"], state["node"]["table"])
    assert back["node"]["rng"] == state["node"]["rng"] and back["views"] == [("a", 1)]
    assert back["pending"] == state["pending"] and back["inbox"] == state["inbox"]


def test_a_corrupt_record_in_the_middle_refuses_to_start(tmp_path):
    j = Journal(tmp_path, "a")
    for i in range(3):
        j.append({"op": "x", "i": i})
    j.close()
    data = j.journal_path.read_bytes()
    j.journal_path.write_bytes(data.replace(b'"i":1', b'"i":7'))
    with pytest.raises(JournalError, match="record 2 is corrupt and 1 readable record"):
        Journal(tmp_path, "a").load()
    assert j.journal_path.read_bytes() == data.replace(b'"i":1', b'"i":7')  # nothing cut off
