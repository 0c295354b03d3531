"""The one place where cross-agent traffic happens, so that it can be audited.

Runners never hand one agent's object, observation or parameters to another: a successor's
reply travels as a :class:`~handoffq.core.messages.HandoffMessage` (or, in batched mode, as
a :class:`MessageBatch` of the same three numbers per handoff) through a :class:`Channel`.
An auditor (any callable) can be attached to see every payload that crosses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from handoffq.core.messages import HandoffMessage, MessageError

__all__ = ["Auditor", "Channel", "Delivery", "MessageBatch", "deliver_replies", "group_by", "sorted_runs"]

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
        if not np.isfinite(v).all():
            raise MessageError("handoff message field 'value' must be finite")
        if not np.isfinite(r).all():
            raise MessageError("handoff message field 'reward' must be finite")
        if d.size and not _positive_integers(d):
            raise MessageError("handoff message field 'duration' must be a positive integer")
        object.__setattr__(self, "value", v)
        object.__setattr__(self, "duration", d if d.dtype == np.int64 else d.astype(np.int64))
        object.__setattr__(self, "reward", r)

    def slice(self, start: int, stop: int) -> MessageBatch:
        """Messages ``start .. stop - 1`` as a batch (views of this validated batch: not checked again)."""
        out = object.__new__(MessageBatch)
        object.__setattr__(out, "value", self.value[start:stop])
        object.__setattr__(out, "duration", self.duration[start:stop])
        object.__setattr__(out, "reward", self.reward[start:stop])
        return out

    @classmethod
    def concatenate(cls, parts: Sequence[MessageBatch]) -> MessageBatch:
        """One batch holding ``parts`` in order (each already validated: not checked again)."""
        if len(parts) == 1:
            return parts[0]
        out = object.__new__(cls)
        object.__setattr__(out, "value", np.concatenate([p.value for p in parts]))
        object.__setattr__(out, "duration", np.concatenate([p.duration for p in parts]))
        object.__setattr__(out, "reward", np.concatenate([p.reward for p in parts]))
        return out

    def __len__(self) -> int:
        return int(self.value.shape[0])


def _positive_integers(d: np.ndarray) -> bool:
    """Whether every duration is an integer >= 1 (integer arrays only need the minimum checked)."""
    if d.dtype.kind in "iu":
        return bool(d.min() >= 1)
    df = d.astype(float)
    return bool(np.isfinite(df).all() and (df == np.round(df)).all() and df.min() >= 1)


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


def sorted_runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``keys`` sorted into runs of equal keys: ``(order, run_keys, starts, ends)``, where run
    ``r`` holds the indices ``order[starts[r]:ends[r]]`` of key ``run_keys[r]`` (in their
    original order). One stable sort; small non-negative integer keys use a radix sort."""
    keys = np.asarray(keys)
    if keys.size == 1:  # one run (the one-episode-at-a-time loop)
        zero = np.zeros(1, dtype=np.int64)
        return zero, keys.astype(np.int64).reshape(1), zero, np.ones(1, dtype=np.int64)
    if keys.dtype.kind in "iu" and keys.min() >= 0 and keys.max() < 2**15:
        keys = keys.astype(np.int16)  # a stable argsort of small ints is a fast radix sort
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    new_run = np.empty(len(order), dtype=bool)
    new_run[:1] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=new_run[1:])
    starts = new_run.nonzero()[0]
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1:] = len(order)
    return order, sorted_keys[starts].astype(np.int64), starts, ends


def group_by(keys: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(key, indices)`` for every distinct key present (one sort, not one scan per key)."""
    keys = np.asarray(keys)
    if keys.size == 0:
        return []
    order, run_keys, starts, ends = sorted_runs(keys)
    return [(int(k), order[b:e]) for k, b, e in zip(run_keys.tolist(), starts.tolist(), ends.tolist())]


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

    Replies are sorted once by ``(receiver, sender)`` (one radix sort of ``receiver * n +
    sender``); each (sender, receiver) pair's replies cross the channel as one
    :class:`MessageBatch` (audited per pair), and each receiver gets one batch joining all
    it was sent this round, in sender order (:meth:`MessageBatch.concatenate`).
    """
    receivers = np.asarray(receivers, dtype=np.int64)
    senders = np.asarray(senders, dtype=np.int64)
    if receivers.size == 0:
        return []
    n = int(max(receivers.max(), senders.max())) + 1
    order, pairs, starts, ends = sorted_runs(receivers * n + senders)
    replies = MessageBatch(value[order], duration[order], reward[order])  # validated once for the round
    out: list[Delivery] = []
    got: list[MessageBatch] = []
    first = 0  # start (in sorted order) of the current receiver's replies
    pair_list = pairs.tolist()
    for idx, (pair, a, b) in enumerate(zip(pair_list, starts.tolist(), ends.tolist())):
        i, j = divmod(pair, n)
        got.append(channel.send_batch(j, i, replies.slice(a, b)))
        if idx + 1 == len(pair_list) or pair_list[idx + 1] // n != i:
            rows = order[first:b]
            out.append(Delivery(i, keys[rows], MessageBatch.concatenate(got), rows))
            got, first = [], b
    return out
