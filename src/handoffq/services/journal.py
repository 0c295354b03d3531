"""One service's durable state: an append-only journal beside an atomic per-agent snapshot.

Everything a service must not lose is written before it is acknowledged: an accepted handoff,
a processed handoff (the decision taken, the reply and the forward it must deliver), a reply
applied to a decision, a delivery acknowledged. A record is one line
``<seq> <crc32> <json>\\n`` written with a single ``write`` to a file opened for appending,
so a process killed at any instruction leaves either the whole record or none of it (a torn
last line, from a machine crash, is detected by its checksum and cut off). With ``fsync`` the
record also survives a machine crash, at the price of a disk flush per record.

Every so often the service writes a snapshot (its learner's ``state_dict`` and its queues) to
``<name>.ckpt`` atomically (temporary file, flush, fsync, ``os.replace``) and starts an empty
journal; on start it loads the snapshot and replays the journal records after it. Keys are
never part of either file.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zlib
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "Journal", "JournalError", "atomic_write"]

FORMAT = "handoffq-service-1"


class JournalError(ValueError):
    """A snapshot or journal file is unreadable or belongs to another service."""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
            good = 0
            for line in data.splitlines(keepends=True):
                parsed = _parse_line(line.rstrip(b"\n")) if line.endswith(b"\n") else None
                if parsed is None:
                    break
                good += len(line)
                seq, rec = parsed
                if seq > self.seq:
                    records.append(rec)
                    self.seq = seq
            if good < len(data):
                with self.journal_path.open("r+b") as fh:
                    fh.truncate(good)
        return (state["state"] if state is not None else None), records

    def _read_snapshot(self) -> dict[str, Any] | None:
        if not self.snapshot_path.exists():
            return None
        try:
            record = pickle.loads(self.snapshot_path.read_bytes())
        except Exception as exc:
            raise JournalError(f"cannot read snapshot {self.snapshot_path}: {exc}") from exc
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
        atomic_write(self.snapshot_path, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        self.close()
        if self.journal_path.exists():  # records up to seq are in the snapshot; a stale copy would be skipped
            os.truncate(self.journal_path, 0)

    def close(self) -> None:
        """Close the journal file (reopened by the next :meth:`append`)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
