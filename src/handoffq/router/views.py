"""Encoding an agent's own view of an artifact for its learner.

``observe(artifact)`` is an agent's *own* view: nothing else of the artifact reaches its
learner. Two kinds of view are accepted:

* **hashable values** (tuples, strings, ints, floats, bools, ``None``, nested tuples of these;
  numpy scalars are stored as Python scalars) for a *tabular* learner: each distinct view gets a
  row of the agent's Q table the first time it is seen, in a per-agent vocabulary that grows up
  to ``max_views``;
* **numeric vectors** (a list, tuple or 1-D array of finite numbers of a fixed length) for an
  *MLP* learner, which generalises between nearby views.

Views are checked when first stored (a view that could not be saved later is refused at once,
naming the agent).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from handoffq.router.errors import RouterError

__all__ = ["Vocabulary", "describe_view", "encode_vector", "normalise_view", "view_from_json", "view_to_json"]

_SCALARS = (str, int, float, bool, type(None))


def normalise_view(agent: str, view: Any) -> Hashable:
    """``view`` as plain Python values (numpy scalars unwrapped); refuse what cannot be stored."""
    if isinstance(view, np.generic):
        view = view.item()
    if isinstance(view, float) and not math.isfinite(view):
        raise RouterError(f"agent {agent!r}: observe() returned a non-finite number {view!r} in its view")
    if isinstance(view, _SCALARS):
        return view
    if isinstance(view, tuple):
        return tuple(normalise_view(agent, v) for v in view)
    raise RouterError(
        f"agent {agent!r}: observe() returned a {type(view).__name__}; tabular views are tuples, strings, "
        "ints, floats, bools or None (pass learner='mlp' for numeric vectors)"
    )


def view_to_json(view: Hashable) -> Any:
    """A stored view as JSON (tuples tagged so that they come back as tuples)."""
    if isinstance(view, tuple):
        return {"t": [view_to_json(v) for v in view]}
    return view


def view_from_json(obj: Any) -> Hashable:
    """Inverse of :func:`view_to_json`."""
    if isinstance(obj, dict):
        return tuple(view_from_json(v) for v in obj["t"])
    return obj  # type: ignore[no-any-return]


def describe_view(view: Any, width: int = 60) -> str:
    """A short human-readable form of a view (for tables and warnings)."""
    text = repr(view)
    return text if len(text) <= width else text[: width - 3] + "..."


class Vocabulary:
    """An agent's growing map from hashable views to row ids ``0, 1, 2, ...``."""

    def __init__(self, agent: str, max_views: int) -> None:
        if int(max_views) < 1:
            raise RouterError(f"agent {agent!r}: max_views must be >= 1, got {max_views}")
        self.agent = agent
        self.max_views = int(max_views)
        self._ids: dict[Hashable, int] = {}
        self.views: list[Hashable] = []

    def __len__(self) -> int:
        return len(self.views)

    @property
    def full(self) -> bool:
        """True when no further view can be added."""
        return len(self.views) >= self.max_views

    def get(self, view: Any) -> int | None:
        """Row id of ``view``, or None if it was never stored."""
        try:
            return self._ids.get(view)
        except TypeError:
            raise RouterError(
                f"agent {self.agent!r}: observe() returned an unhashable {type(view).__name__}; tabular views "
                "must be hashable (tuple, str, int, bool); pass learner='mlp' for numeric vectors"
            ) from None

    def add(self, view: Any) -> int:
        """Store a new view and return its row id (refuses views that cannot be saved)."""
        if self.full:
            raise RouterError(f"agent {self.agent!r}: its vocabulary is full ({self.max_views} views; raise max_views)")
        norm = normalise_view(self.agent, view)
        row = self._ids.get(norm)
        if row is None:
            row = len(self.views)
            self._ids[norm] = row
            self.views.append(norm)
        return row

    def state(self) -> list[Any]:
        """The stored views, in row order, as JSON."""
        return [view_to_json(v) for v in self.views]

    def load(self, views: Sequence[Any]) -> None:
        """Replace the vocabulary with ``views`` (JSON, in row order)."""
        restored = [view_from_json(v) for v in views]
        if len(restored) > self.max_views:
            raise RouterError(f"agent {self.agent!r}: {len(restored)} saved views exceed max_views={self.max_views}")
        self.views = restored
        self._ids = {v: i for i, v in enumerate(restored)}
        if len(self._ids) != len(restored):
            raise RouterError(f"agent {self.agent!r}: the saved vocabulary holds duplicate views")


def encode_vector(agent: str, view: Any, dim: int | None) -> tuple[float, ...]:
    """A numeric vector view as a tuple of floats (checked: 1-D, finite, of length ``dim``)."""
    try:
        arr = np.asarray(view, dtype=float)
    except (TypeError, ValueError):
        raise RouterError(
            f"agent {agent!r}: observe() returned {type(view).__name__}, not a numeric vector "
            "(an MLP learner needs a list or 1-D array of numbers; use learner='tabular' for hashable views)"
        ) from None
    if arr.ndim != 1:
        raise RouterError(f"agent {agent!r}: its view must be a 1-D vector, got shape {arr.shape}")
    if dim is not None and arr.shape[0] != dim:
        raise RouterError(f"agent {agent!r}: its view has {arr.shape[0]} numbers, expected {dim}")
    if not np.all(np.isfinite(arr)):
        raise RouterError(f"agent {agent!r}: its view contains a non-finite number")
    return tuple(arr.tolist())
