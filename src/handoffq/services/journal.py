"""One service's durable state: an append-only journal beside an atomic per-agent snapshot.

Everything a service must not lose is written before it is acknowledged: an accepted handoff,
a processed handoff (the decision taken, the reply and the forward it must deliver), a reply
applied to a decision, a delivery acknowledged. A record is one line
``<seq> <crc32> <json>\\n`` written with a single ``write`` to a file opened for appending,
so a process killed at any instruction leaves either the whole record or none of it (a torn
last line, from a machine crash, is detected by its checksum and cut off). With ``fsync`` the
record also survives a machine crash, at the price of a disk flush per record.

Every so often the service writes a snapshot (its learner's ``state_dict`` and its queues) to
``<name>.ckpt`` atomically (temporary file, flush, fsync, ``os.replace``, directory fsync) and
starts an empty journal; on start it loads the snapshot and replays the journal records after
it. The snapshot is the router's safe format (:mod:`handoffq.router.codec`: JSON structure and
numeric ``.npz`` arrays, no pickle), so a tampered snapshot cannot run code when it is read.
Keys are never part of either file.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from handoffq.router.codec import CodecError, from_npz, to_npz_dict
from handoffq.router.persist import atomic_write

__all__ = ["FORMAT", "Journal", "JournalError"]

FORMAT = "handoffq-service-2"

log = logging.getLogger("handoffq.services")


class JournalError(ValueError):
    """A snapshot or journal file is unreadable or belongs to another service."""


def _parse_line(line: bytes) -> tuple[int, dict[str, Any]] | None:
    """``(seq, record)`` of a journal line, or None if the line is torn or corrupt."""
    try:
        seq_s, crc_s, body = line.split(b" ", 2)
        if int(crc_s, 16) != zlib.crc32(body):
            return None
        return int(seq_s), json.loads(body)
    except ValueError:
        return None


class Journal:
    """The snapshot and journal of service ``name`` under ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], name: str, fsync: bool = False) -> None:
        self.directory = Path(directory)
        self.name = name
        self.fsync = bool(fsync)
        self.snapshot_path = self.directory / f"{name}.ckpt"
        self.journal_path = self.directory / f"{name}.journal"
        self.seq = 0
        self._fd: int | None = None

    # ------------------------------------------------------------------ reading
    def load(self) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The last snapshot's state (or None) and the journal records written after it.

        A torn or corrupt tail of the journal is cut off (the file is truncated there).
        """
        state = self._read_snapshot()
        self.seq = int(state["seq"]) if state is not None else 0
        records: list[dict[str, Any]] = []
        if self.journal_path.exists():
            data = self.journal_path.read_bytes()
            lines = data.splitlines(keepends=True)
            good = 0
            for i, line in enumerate(lines):
                parsed = _parse_line(line.rstrip(b"\n")) if line.endswith(b"\n") else None
                if parsed is None:
                    self._check_tail(lines, i)
                    break
                good += len(line)
                seq, rec = parsed
                if seq > self.seq:
                    records.append(rec)
                    self.seq = seq
            if good < len(data):
                log.warning("%s: cut off a torn or corrupt last record (%d bytes)", self.journal_path, len(data) - good)
                with self.journal_path.open("r+b") as fh:
                    fh.truncate(good)
        return (state["state"] if state is not None else None), records

    def _check_tail(self, lines: list[bytes], bad: int) -> None:
        """A bad record is only cut off when nothing readable follows it (a torn last write);
        one in the middle would silently drop acknowledged records, so refuse to start."""
        later = sum(1 for line in lines[bad + 1:] if _parse_line(line.rstrip(b"\n")) is not None)
        if later:
            raise JournalError(
                f"{self.journal_path}: record {bad + 1} is corrupt and {later} readable record(s) follow it; "
                "refusing to drop acknowledged records (restore the file, or move it away to start from the snapshot)"
            )

    def _read_snapshot(self) -> dict[str, Any] | None:
        if not self.snapshot_path.exists():
            return None
        try:
            with np.load(self.snapshot_path, allow_pickle=False) as npz:
                record = from_npz(npz, str(self.snapshot_path))
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, CodecError) as exc:
            raise JournalError(f"cannot read snapshot {self.snapshot_path} (not a {FORMAT} snapshot; "
                               f"older pickled snapshots are not read): {exc}") from None
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            raise JournalError(f"{self.snapshot_path} is not a handoffq service snapshot ({FORMAT})")
        if record.get("name") != self.name:
            owner = record.get("name")
            raise JournalError(f"snapshot {self.snapshot_path} is service {owner!r}'s, not {self.name!r}'s")
        return record

    # ------------------------------------------------------------------ writing
    def _open(self) -> int:
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def append(self, record: dict[str, Any]) -> int:
        """Write one record (one ``write`` call); return its sequence number."""
        body = json.dumps(record, separators=(",", ":"), allow_nan=False).encode()
        self.seq += 1
        line = b"%d %08x " % (self.seq, zlib.crc32(body)) + body + b"\n"
        fd = self._open()
        os.write(fd, line)
        if self.fsync:
            os.fsync(fd)
        return self.seq

    def snapshot(self, state: dict[str, Any]) -> None:
        """Atomically write ``state`` as of the current sequence number, then empty the journal."""
        record = {"format": FORMAT, "name": self.name, "seq": self.seq, "state": state}
        arrays = to_npz_dict(record)
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(self.snapshot_path, lambda fh: np.savez(fh, **arrays))  # type: ignore[arg-type]
        self.close()
        if self.journal_path.exists():  # records up to seq are in the snapshot; a stale copy would be skipped
            os.truncate(self.journal_path, 0)

    def close(self) -> None:
        """Close the journal file (reopened by the next :meth:`append`)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
