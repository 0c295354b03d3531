"""Authentication of every message between services: per-pair HMAC keys, nonces, time window.

Each pair of services that talk to each other shares one secret key (at least 16 bytes, given
as hex). A service holds only the keys of its own pairs, in a :class:`KeyRing` read from a
TOML file (``[keys]`` table, ``peer = "hex"``) and/or the environment
(``HANDOFFQ_KEY__<PEER>=hex``, the peer name upper-cased with ``-`` and ``.`` as ``_``).
Keys are never logged, never shown by ``repr`` and never written to checkpoints.

A message is the canonical JSON bytes of its envelope; its signature is
``HMAC-SHA256(key, b"handoffq-v1\\n" + bytes)`` in hex. The envelope names its sender and
recipient and its kind, so a signature cannot be reflected back or reused for another pair or
another endpoint. :class:`ReplayGuard` rejects a timestamp outside the window, a timestamp
from before this process started (so a message captured before a restart cannot be replayed
after it: honest senders re-sign every retry) and a nonce seen before within the window.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Mapping
from hashlib import sha256
from pathlib import Path

from handoffq.services.tomlfile import read_toml

__all__ = [
    "ENV_PREFIX",
    "KeyError_",
    "KeyRing",
    "ReplayGuard",
    "SecurityError",
    "env_var",
    "new_key",
    "new_nonce",
    "sign",
    "verify",
]

log = logging.getLogger("handoffq.services.security")

ENV_PREFIX = "HANDOFFQ_KEY__"
_DOMAIN = b"handoffq-v1\n"
_MIN_KEY_BYTES = 16
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class SecurityError(ValueError):
    """A message failed authentication or replay checks; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class KeyError_(ValueError):
    """A key file or key variable is malformed (names the file, line or variable, never the key)."""


def env_var(peer: str) -> str:
    """The environment variable that holds the key shared with ``peer``."""
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9]", "_", peer).upper()


def new_key() -> str:
    """A fresh random 32-byte key, as hex."""
    return secrets.token_hex(32)


def new_nonce() -> str:
    """A fresh random 16-byte nonce, as 32 hex digits."""
    return secrets.token_hex(16)


def _parse_key(text: object, where: str) -> bytes:
    if not isinstance(text, str) or not _HEX.match(text.strip()) or len(text.strip()) % 2:
        raise KeyError_(f"{where}: a key must be a string of hex digits")
    key = bytes.fromhex(text.strip())
    if len(key) < _MIN_KEY_BYTES:
        raise KeyError_(f"{where}: a key must be at least {_MIN_KEY_BYTES} bytes ({2 * _MIN_KEY_BYTES} hex digits)")
    return key


class KeyRing:
    """The keys one service shares with its peers, by peer name."""

    def __init__(self, keys: Mapping[str, bytes] | None = None) -> None:
        self._keys: dict[str, bytes] = dict(keys or {})

    def __repr__(self) -> str:
        return f"KeyRing(peers={sorted(self._keys)})"

    def __contains__(self, peer: object) -> bool:
        return peer in self._keys

    def peers(self) -> list[str]:
        """Names of the peers this ring has a key for."""
        return sorted(self._keys)

    def key(self, peer: str) -> bytes:
        """The key shared with ``peer`` (``SecurityError`` ``unknown_peer`` if there is none)."""
        try:
            return self._keys[peer]
        except KeyError:
            raise SecurityError("unknown_peer", f"no key shared with peer {peer!r}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeyRing:
        """Read ``[keys]`` of a TOML file; warns when the file is readable by others."""
        path = Path(path)
        data = read_toml(path, "key file", KeyError_)
        table = data.get("keys")
        if not isinstance(table, dict) or set(data) - {"keys"}:
            raise KeyError_(f"key file {path}: expected only a [keys] table of peer = \"hex\" entries")
        if os.name == "posix" and path.stat().st_mode & 0o077:
            log.warning("key file %s is readable by group or others; chmod 600 it", path)
        return cls({str(peer): _parse_key(val, f"key file {path}, key {peer!r}") for peer, val in table.items()})

    @classmethod
    def from_env(cls, peers: list[str], environ: Mapping[str, str] | None = None) -> KeyRing:
        """Read the keys of ``peers`` that are set in the environment."""
        env = os.environ if environ is None else environ
        out = {}
        for peer in peers:
            var = env_var(peer)
            if var in env:
                out[peer] = _parse_key(env[var], f"environment variable {var}")
        return cls(out)

    def to_env(self) -> dict[str, str]:
        """The ring as environment variables (to hand a child process its keys, never to log)."""
        return {env_var(peer): key.hex() for peer, key in self._keys.items()}

    def merged(self, other: KeyRing) -> KeyRing:
        """This ring with ``other``'s keys added (``other`` wins on a clash)."""
        return KeyRing({**self._keys, **other._keys})


def sign(key: bytes, body: bytes) -> str:
    """The hex HMAC-SHA256 signature of ``body`` under ``key``."""
    return hmac.new(key, _DOMAIN + body, sha256).hexdigest()


def verify(key: bytes, body: bytes, signature: str | None) -> None:
    """Raise ``SecurityError`` ``bad_signature`` unless ``signature`` signs ``body`` under ``key``."""
    if not signature or not hmac.compare_digest(sign(key, body), signature.strip().lower()):
        raise SecurityError("bad_signature", "signature does not match the message")


class ReplayGuard:
    """Timestamp window and nonce memory of one service (in memory; see the module notes).

    Args:
        window_s: how far a message's timestamp may be from this clock, either way.
        max_nonces: nonces remembered at most (oldest forgotten first; a forgotten nonce is
            outside the window by then unless the rate exceeds ``max_nonces / window_s``).
        not_before: timestamps earlier than this are rejected (default: construction time).
        clock: the clock (seconds since the epoch).
    """

    def __init__(
        self,
        window_s: float = 30.0,
        max_nonces: int = 1_000_000,
        not_before: float | None = None,
        clock: object = time.time,
    ) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        self.window_s = float(window_s)
        self.max_nonces = int(max_nonces)
        self.clock = clock
        self.not_before = self._now() if not_before is None else float(not_before)
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _now(self) -> float:
        return float(self.clock())  # type: ignore[operator]

    def check(self, nonce: str, ts: float) -> None:
        """Raise ``SecurityError`` (``stale``/``future``/``replay``) or remember the nonce."""
        now = self._now()
        if ts < now - self.window_s or ts < self.not_before - 1e-3:
            raise SecurityError("stale", f"timestamp {ts:.3f} is outside the window (now {now:.3f})")
        if ts > now + self.window_s:
            raise SecurityError("future", f"timestamp {ts:.3f} is ahead of this clock by more than the window")
        self._prune(now)
        if nonce in self._seen:
            raise SecurityError("replay", f"nonce {nonce} was seen before")
        self._seen[nonce] = ts

    def _prune(self, now: float) -> None:
        horizon = now - self.window_s
        while self._seen:
            _nonce, ts = next(iter(self._seen.items()))
            if ts >= horizon and len(self._seen) < self.max_nonces:
                break
            self._seen.popitem(last=False)
