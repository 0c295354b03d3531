"""The one place where cross-agent traffic happens, so that it can be audited.

Runners never hand one agent's object, observation or parameters to another: a successor's
reply travels as a :class:`~handoffq.core.messages.HandoffMessage` (or, in batched mode, as
a :class:`MessageBatch` of the same three numbers per handoff) through a :class:`Channel`.
An auditor (any callable) can be attached to see every payload that crosses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from handoffq.core.messages import HandoffMessage, MessageError

__all__ = ["Auditor", "Channel", "Delivery", "MessageBatch", "deliver_replies", "group_by"]

Auditor = Callable[[int, int, object], None]


@dataclass(frozen=True, slots=True)
class MessageBatch:
    """Many handoff messages at once: three equal-length arrays, one entry per handoff."""

    value: np.ndarray
    duration: np.ndarray
    reward: np.ndarray

    def __post_init__(self) -> None:
        v = np.asarray(self.value, dtype=float)
        d = np.asarray(self.duration)
        r = np.asarray(self.reward, dtype=float)
        if not (v.shape == d.shape == r.shape) or v.ndim != 1:
            raise MessageError("message batch fields must be 1-D arrays of equal length")
        if not np.all(np.isfinite(v)):
            raise MessageError("handoff message field 'value' must be finite")
        if not np.all(np.isfinite(r)):
            raise MessageError("handoff message field 'reward' must be finite")
        if d.size and (
            not np.all(np.isfinite(d.astype(float)))
            or np.any(d.astype(float) != np.round(d.astype(float)))
            or np.any(d < 1)
        ):
            raise MessageError("handoff message field 'duration' must be a positive integer")
        object.__setattr__(self, "value", v)
        object.__setattr__(self, "duration", d.astype(np.int64))
        object.__setattr__(self, "reward", r)

    def __len__(self) -> int:
        return int(self.value.shape[0])


class Channel:
    """Delivers handoff messages from a successor to its predecessor, with optional audit.

    ``send`` accepts only :class:`HandoffMessage` / :class:`MessageBatch`; anything else is a
    programming error and raises ``TypeError``. Counts of messages are kept for reports.
    """

    def __init__(self, auditor: Auditor | None = None) -> None:
        self.auditor = auditor
        self.n_messages = 0

    def send(self, src: int, dst: int, message: HandoffMessage) -> HandoffMessage:
        """Pass ``message`` from agent ``src`` to agent ``dst`` (returns it for delivery)."""
        if not isinstance(message, HandoffMessage):
            raise TypeError(f"only HandoffMessage may cross an agent boundary, got {type(message)}")
        if self.auditor is not None:
            self.auditor(src, dst, message)
        self.n_messages += 1
        return message

    def send_batch(self, src: int, dst: int, batch: MessageBatch) -> MessageBatch:
        """Pass a batch of messages from agent ``src`` to agent ``dst``."""
        if not isinstance(batch, MessageBatch):
            raise TypeError(f"only MessageBatch may cross an agent boundary, got {type(batch)}")
        if self.auditor is not None:
            self.auditor(src, dst, batch)
        self.n_messages += len(batch)
        return batch


@dataclass(frozen=True, slots=True)
class Delivery:
    """Replies for one predecessor: its decision keys, the merged messages, rows of the round."""

    agent: int
    keys: np.ndarray
    messages: MessageBatch
    rows: np.ndarray


def group_by(keys: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(key, indices)`` for every distinct key present (one sort, not one scan per key)."""
    keys = np.asarray(keys)
    if keys.size == 0:
        return []
    if keys.dtype.kind in "iu" and keys.min() >= 0 and keys.max() < 2**15:
        keys = keys.astype(np.int16)  # a stable argsort of small ints is a fast radix sort
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    ends = np.r_[starts[1:], len(order)]
    return [(int(sorted_keys[b]), order[b:e]) for b, e in zip(starts, ends)]


def deliver_replies(
    channel: Channel,
    receivers: np.ndarray,
    senders: np.ndarray,
    keys: np.ndarray,
    value: np.ndarray,
    duration: np.ndarray,
    reward: np.ndarray,
) -> list[Delivery]:
    """Send each reply ``(value, duration, reward)`` from its sender to its receiver.

    Replies are grouped by receiver, then by sender; each (sender, receiver) group crosses
    the channel as one :class:`MessageBatch` (audited per sender), and each receiver gets one
    merged batch for all its decisions of the round.
    """
    out = []
    for i, rows in group_by(receivers):
        parts, got = [], []
        for j, sub in group_by(senders[rows]):
            sel = rows[sub]
            got.append(channel.send_batch(j, i, MessageBatch(value[sel], duration[sel], reward[sel])))
            parts.append(sel)
        sel = np.concatenate(parts) if len(parts) > 1 else parts[0]
        merged = got[0] if len(got) == 1 else MessageBatch(
            np.concatenate([b.value for b in got]),
            np.concatenate([b.duration for b in got]),
            np.concatenate([b.reward for b in got]),
        )
        out.append(Delivery(i, keys[sel], merged, sel))
    return out
