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

__all__ = ["Channel", "MessageBatch", "Auditor"]

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
