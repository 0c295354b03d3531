"""The wire protocol of agents as services: two envelopes, validated field by field.

* A **forward handoff** (:class:`Handoff`) carries the workflow's own payload (the artifact,
  any JSON value) from a predecessor to its successor, with the task id, the handoff id, the
  hop count, the task's mode and the address the successor replies to.
* A **reply** (:class:`Reply`) is the learning channel: exactly ``(v, tau, R)`` plus ids
  (sender, recipient, task, handoff) and the two replay-protection fields (``nonce``,
  ``ts``). Any other field, a missing field or a field of the wrong type is rejected.

Envelopes travel as canonical JSON (sorted keys, no spaces, no NaN/Infinity); the bytes that
arrive are the bytes that were signed (:mod:`handoffq.services.security`), so parsing happens
on exactly what was authenticated. Every rejection raises :class:`ProtocolError` with a short
machine-readable ``reason`` and a one-line message naming the field.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "MODES",
    "NAME",
    "Handoff",
    "ProtocolError",
    "Reply",
    "decode_handoff",
    "decode_json",
    "decode_reply",
    "encode",
    "handoff_id",
]

MODES = ("train", "serve", "frozen")
"""Task modes, most to least learning: explore and learn, greedy and learn, greedy only."""

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
"""What a service (peer) name may be."""
_NAME = NAME
_ID = re.compile(r"^[A-Za-z0-9_.:#/-]{1,160}$")
_NONCE = re.compile(r"^[0-9a-f]{32}$")
_URL = re.compile(r"^https?://[^\s]{1,500}$")
_MAX_HOP = 1_000_000

HANDOFF_FIELDS = frozenset(
    {"kind", "from", "to", "task", "handoff", "hop", "mode", "reply_to", "ts", "nonce", "artifact"}
)
REPLY_FIELDS = frozenset({"kind", "from", "to", "task", "handoff", "ts", "nonce", "v", "tau", "R"})


class ProtocolError(ValueError):
    """An envelope that is not in the protocol; ``reason`` is a short code for logs and counts."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def handoff_id(task: str, hop: int) -> str:
    """The id of hop ``hop`` of ``task`` (deterministic, so a re-sent handoff keeps its id)."""
    return f"{task}#{int(hop)}"


@dataclass(frozen=True, slots=True)
class Handoff:
    """A forward handoff: the artifact plus the ids the successor needs to reply and go on."""

    sender: str
    recipient: str
    task: str
    handoff: str
    hop: int
    mode: str
    reply_to: str | None
    ts: float
    nonce: str
    artifact: Any

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent on the wire (field names of the protocol)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: the artifact is not copied
        d["from"], d["to"] = d.pop("sender"), d.pop("recipient")
        d["kind"] = "handoff"
        return d


@dataclass(frozen=True, slots=True)
class Reply:
    """A learning-channel reply: ``(v, tau, R)`` for handoff ``handoff`` of ``task``."""

    sender: str
    recipient: str
    task: str
    handoff: str
    ts: float
    nonce: str
    v: float
    tau: int
    R: float

    def to_wire(self) -> dict[str, Any]:
        """The JSON object sent on the wire (field names of the protocol)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: the artifact is not copied
        d["from"], d["to"] = d.pop("sender"), d.pop("recipient")
        d["kind"] = "reply"
        return d


def encode(obj: dict[str, Any]) -> bytes:
    """Canonical JSON bytes (sorted keys, compact, UTF-8, finite numbers only)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _no_constants(name: str) -> float:
    raise ProtocolError("schema", f"non-finite number {name} is not allowed")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ProtocolError("schema", f"field {k!r} appears twice")
        out[k] = v
    return out


def decode_json(raw: bytes, max_bytes: int) -> dict[str, Any]:
    """Parse an envelope's bytes (size-checked first); the top level must be an object."""
    if len(raw) > max_bytes:
        raise ProtocolError("oversize", f"message of {len(raw)} bytes exceeds the limit of {max_bytes}")
    try:
        obj = json.loads(raw, parse_constant=_no_constants, object_pairs_hook=_no_duplicates)
    except ProtocolError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", f"message is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("schema", "message must be a JSON object")
    return obj


def _fields(obj: dict[str, Any], allowed: frozenset[str], kind: str) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise ProtocolError("extra_field", f"{kind} has field(s) not in the protocol: {', '.join(map(repr, extra))}")
    missing = sorted(allowed - set(obj))
    if missing:
        raise ProtocolError("missing_field", f"{kind} lacks field(s): {', '.join(map(repr, missing))}")
    if obj["kind"] != kind:
        raise ProtocolError("wrong_kind", f"field 'kind' must be {kind!r}, got {obj['kind']!r}")


def _match(obj: dict[str, Any], field: str, pattern: re.Pattern[str]) -> str:
    val = obj[field]
    if not isinstance(val, str) or not pattern.match(val):
        raise ProtocolError("schema", f"field {field!r} is not a valid {field} ({str(val)[:80]!r})")
    return val


def _real(obj: dict[str, Any], field: str) -> float:
    val = obj[field]
    if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(float(val)):
        raise ProtocolError("schema", f"field {field!r} must be a finite number, got {str(val)[:80]!r}")
    return float(val)


def _int(obj: dict[str, Any], field: str, lo: int, hi: int) -> int:
    val = obj[field]
    if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= hi:
        raise ProtocolError("schema", f"field {field!r} must be an integer in [{lo}, {hi}], got {str(val)[:80]!r}")
    return val


def decode_handoff(obj: dict[str, Any]) -> Handoff:
    """Validate a parsed forward handoff (exact field set, types, formats)."""
    _fields(obj, HANDOFF_FIELDS, "handoff")
    reply_to = obj["reply_to"]
    if reply_to is not None and (not isinstance(reply_to, str) or not _URL.match(reply_to)):
        raise ProtocolError("schema", f"field 'reply_to' must be an http(s) URL or null, got {str(reply_to)[:80]!r}")
    if obj["mode"] not in MODES:
        raise ProtocolError("schema", f"field 'mode' must be one of {MODES}, got {str(obj['mode'])[:40]!r}")
    return Handoff(
        sender=_match(obj, "from", _NAME),
        recipient=_match(obj, "to", _NAME),
        task=_match(obj, "task", _ID),
        handoff=_match(obj, "handoff", _ID),
        hop=_int(obj, "hop", 0, _MAX_HOP),
        mode=obj["mode"],
        reply_to=reply_to,
        ts=_real(obj, "ts"),
        nonce=_match(obj, "nonce", _NONCE),
        artifact=obj["artifact"],
    )


def _bounded(obj: dict[str, Any], field: str, max_abs: float) -> float:
    val = _real(obj, field)
    if abs(val) > max_abs:
        raise ProtocolError("out_of_range", f"field {field!r} = {val!r} exceeds the magnitude bound {max_abs:g}")
    return val


def decode_reply(obj: dict[str, Any], max_abs: float = math.inf) -> Reply:
    """Validate a parsed reply: exactly ``(v, tau, R)`` plus ids, nonce and timestamp, with
    ``|v|`` and ``|R|`` at most ``max_abs`` (a finite bound keeps ``R + gamma**tau * v`` far
    from overflowing, and a peer's absurd value from spreading upstream)."""
    _fields(obj, REPLY_FIELDS, "reply")
    return Reply(
        sender=_match(obj, "from", _NAME),
        recipient=_match(obj, "to", _NAME),
        task=_match(obj, "task", _ID),
        handoff=_match(obj, "handoff", _ID),
        ts=_real(obj, "ts"),
        nonce=_match(obj, "nonce", _NONCE),
        v=_bounded(obj, "v", max_abs),
        tau=_int(obj, "tau", 1, 2**62),
        R=_bounded(obj, "R", max_abs),
    )
