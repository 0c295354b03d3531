"""A persistent request cache (SQLite) so that a rerun or a resumed run repeats no call.

The key is the SHA-256 of the canonical JSON of ``(backend name, model, messages, params,
sample index)``; ``meta`` is not part of the key (real backends ignore it). Writes commit
at once, so a killed run keeps every answer it got.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from handoffq.llm.base import Backend, BackendStats, Completion, LLMBackend, LockFreePickle, Messages

__all__ = ["CachedBackend", "RequestCache", "request_key"]


def request_key(
    backend: str, model: str, messages: Messages, params: dict[str, Any] | None, sample: int
) -> str:
    """Hex SHA-256 of the canonical request."""
    blob = json.dumps(
        {
            "backend": backend,
            "model": model,
            "messages": messages,
            "params": params or {},
            "sample": int(sample),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class RequestCache(LockFreePickle):
    """A thread-safe SQLite table ``key -> (text, prompt_tokens, completion_tokens)``.

    Pickles as its path only: the connection and lock are recreated (lazily) on load. Every
    write is committed at once, so a copy in another process (e.g. a Ray actor on the same
    machine or on shared storage) sees the same table.
    """

    _transient = ("_lock", "_conn")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS completions (key TEXT PRIMARY KEY, text TEXT NOT NULL,"
                " prompt_tokens INTEGER, completion_tokens INTEGER)"
            )
            self._db.commit()

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, opened on first use (also after unpickling). Call under the lock."""
        if self._conn is None:
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False)
        return self._conn

    def _restore(self) -> None:
        """A fresh lock; the database is reopened on first use."""
        self._lock = threading.Lock()
        self._conn = None

    def get(self, key: str) -> Completion | None:
        """The cached completion for ``key``, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT text, prompt_tokens, completion_tokens FROM completions WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return Completion(
            text=row[0],
            prompt_tokens=int(row[1] or 0),
            completion_tokens=int(row[2] or 0),
            cached=True,
        )

    def put(self, key: str, completion: Completion) -> None:
        """Store a completion (committed immediately)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?)",
                (key, completion.text, completion.prompt_tokens, completion.completion_tokens),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0])

    def close(self) -> None:
        """Close the database (a later request reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class CachedBackend(Backend):
    """Wrap a backend with a :class:`RequestCache` (same protocol; counts cache hits).

    ``stats.calls`` counts requests that reached the model; ``stats.cache_hits`` those served
    from the cache. Token counts include both (what the workflow consumed).
    """

    def __init__(self, inner: LLMBackend, cache: RequestCache) -> None:
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.model = inner.model
        self.simulated = bool(getattr(inner, "simulated", False))
        self.stats = BackendStats()

    def _answer(
        self, messages: Messages, params: dict[str, Any], sample: int, meta: dict[str, Any] | None
    ) -> Completion:
        """A cached answer if there is one (``cached``), else the inner backend's (then stored)."""
        key = request_key(self.name, self.model, messages, params, sample)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        out = self.inner.complete(messages, params=params, sample=sample, meta=meta)
        self.cache.put(key, out)
        return out
