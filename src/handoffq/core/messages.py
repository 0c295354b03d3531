"""The handoff message: the only thing an agent ever receives from another agent.

At every handoff the successor sends its predecessor exactly three numbers: its value
``v = max_k' Q_succ(o', k')`` (0 when the episode ended), the duration ``tau`` of the
predecessor's invocation in primitive steps, and the invocation's discounted reward ``R``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

from handoffq.core.errors import HandoffqError

__all__ = ["HandoffMessage", "MessageError"]


class MessageError(HandoffqError, ValueError):
    """A handoff message failed validation (names the offending field)."""


def _finite(name: str, x: object) -> float:
    if type(x) is float and math.isfinite(x):  # the common case, without the ABC checks
        return x
    if isinstance(x, bool) or not isinstance(x, Real):
        raise MessageError(f"handoff message field '{name}' must be a real number, got {x!r}")
    value = float(x)
    if not math.isfinite(value):
        raise MessageError(f"handoff message field '{name}' must be finite, got {value!r}")
    return value


def _duration(x: object) -> int:
    if type(x) is int and x >= 1:  # the common case
        return x
    if isinstance(x, bool):
        raise MessageError(f"handoff message field 'duration' must be a positive integer, got {x!r}")
    if isinstance(x, Real) and not isinstance(x, Integral):
        fx = float(x)
        if not math.isfinite(fx) or fx != int(fx):
            raise MessageError(
                f"handoff message field 'duration' must be a positive integer, got {x!r}"
            )
        x = int(fx)
    if not isinstance(x, Integral) or int(x) < 1:
        raise MessageError(f"handoff message field 'duration' must be a positive integer, got {x!r}")
    return int(x)


@dataclass(frozen=True, slots=True)
class HandoffMessage:
    """Immutable ``(value, duration, reward)`` record sent from successor to predecessor.

    ``value`` and ``reward`` are finite floats (rewards may be negative: a cost);
    ``duration`` is a positive integer number of primitive steps.
    """

    value: float
    duration: int
    reward: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _finite("value", self.value))
        object.__setattr__(self, "duration", _duration(self.duration))
        object.__setattr__(self, "reward", _finite("reward", self.reward))

    def as_tuple(self) -> tuple[float, int, float]:
        """The three numbers, in order ``(value, duration, reward)``."""
        return (self.value, self.duration, self.reward)
