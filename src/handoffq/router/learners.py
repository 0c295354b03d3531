"""The learners behind an :class:`~handoffq.router.node.AgentNode`: IC-Q agents over encoded views.

Both learners are :class:`~handoffq.learn.agent.ICQAgent` (keyed pending decisions, eq. 4-5):

* :class:`Tabular` - a Q table whose rows are the agent's vocabulary of views; the table (and
  the visit counts) double in size as the vocabulary grows;
* :class:`MLP` - a PyTorch MLP over numeric view vectors. torch's intra-op thread count is set
  to ``torch_threads`` (default 1) when the learner is built: these networks are small and
  updated one sample at a time, where extra threads cost far more than they give (measured
  about 50x slower with 2 threads on a loaded 2-core machine). The setting is process-wide;
  pass ``torch_threads=None`` to leave torch's own setting alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from handoffq.core.agent import Key
from handoffq.core.messages import HandoffMessage
from handoffq.learn.agent import ICQAgent, VisitCounter
from handoffq.learn.estimators import MLPEstimator, TabularEstimator
from handoffq.learn.exploration import Exploration, greedy
from handoffq.learn.schedules import StepSize
from handoffq.learn.targets import NonFiniteQError, finite_target
from handoffq.router.errors import RouterError

__all__ = [
    "MLP",
    "LearnerSpec",
    "RoutingAgent",
    "Tabular",
    "VectorAgent",
    "VectorMLPEstimator",
    "grow_table",
    "learner_spec",
    "make_agent",
    "scalar_step",
]

_FIRST_CAPACITY = 16


@dataclass(frozen=True)
class Tabular:
    """A table over the agent's hashable views.

    ``step_size``: the step-size schedule (default ``a0 / visits**0.7``); ``init``: the initial
    Q value of every (view, successor) pair; ``max_views``: the largest vocabulary;
    ``try_each``: while exploring, a successor that has taught this view fewer than this many
    replies is tried before any other (a predecessor learns a successor's value one visit late:
    the first reply carries the successor's value before it learned anything).
    """

    step_size: StepSize = field(default_factory=StepSize)
    init: float = 0.0
    max_views: int = 100_000
    try_each: int = 3

    kind: Literal["tabular"] = "tabular"

    def __post_init__(self) -> None:
        if int(self.max_views) < 1:
            raise RouterError(f"max_views must be >= 1, got {self.max_views}")
        if int(self.try_each) < 0:
            raise RouterError(f"try_each must be >= 0, got {self.try_each}")

    def as_json(self) -> dict[str, Any]:
        """The settings, for the saved file."""
        s = self.step_size
        return {"kind": self.kind, "init": self.init, "max_views": self.max_views, "try_each": self.try_each,
                "step_size": {"kind": s.kind, "a0": s.a0, "t0": s.t0, "power": s.power}}


@dataclass(frozen=True)
class MLP:
    """An MLP over numeric view vectors of length ``dim`` (None: taken from the first view).

    ``width``/``depth``: hidden layer size and count; ``lr``: the optimiser's rate (scaled by
    the step size, constant 1 by default); ``optimizer``: ``"adam"`` or ``"sgd"``;
    ``torch_threads``: torch's intra-op threads, set when the learner is built (None: leave).
    """

    dim: int | None = None
    width: int = 64
    depth: int = 2
    lr: float = 0.01
    optimizer: Literal["adam", "sgd"] = "adam"
    step_size: StepSize = field(default_factory=lambda: StepSize("constant", a0=1.0))
    torch_threads: int | None = 1

    kind: Literal["mlp"] = "mlp"

    def __post_init__(self) -> None:
        if self.dim is not None and int(self.dim) < 1:
            raise RouterError(f"MLP dim must be >= 1, got {self.dim}")
        if int(self.width) < 1 or int(self.depth) < 0:
            raise RouterError(f"MLP width must be >= 1 and depth >= 0, got {self.width}, {self.depth}")
        if self.optimizer not in ("adam", "sgd"):
            raise RouterError(f"MLP optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.torch_threads is not None and int(self.torch_threads) < 1:
            raise RouterError(f"torch_threads must be >= 1 or None, got {self.torch_threads}")

    def as_json(self) -> dict[str, Any]:
        """The settings, for the saved file."""
        s = self.step_size
        return {"kind": self.kind, "dim": self.dim, "width": self.width, "depth": self.depth, "lr": self.lr,
                "optimizer": self.optimizer, "torch_threads": self.torch_threads,
                "step_size": {"kind": s.kind, "a0": s.a0, "t0": s.t0, "power": s.power}}


LearnerSpec = Tabular | MLP


def learner_spec(spec: str | LearnerSpec | dict[str, Any]) -> LearnerSpec:
    """``"tabular"``, ``"mlp"``, a :class:`Tabular`/:class:`MLP`, or their saved JSON, as a spec."""
    if isinstance(spec, (Tabular, MLP)):
        return spec
    if spec == "tabular":
        return Tabular()
    if spec == "mlp":
        return MLP()
    if isinstance(spec, dict) and spec.get("kind") in ("tabular", "mlp"):
        fields = {k: v for k, v in spec.items() if k != "kind"}
        fields["step_size"] = StepSize(**fields["step_size"])
        return Tabular(**fields) if spec["kind"] == "tabular" else MLP(**fields)
    raise RouterError(f"learner must be 'tabular', 'mlp', Tabular(...) or MLP(...), got {spec!r}")


def scalar_step(schedule: StepSize, t: int, visits: int) -> float:
    """``schedule(t, visits)`` for one update, without numpy (same formulas as :class:`StepSize`)."""
    if schedule.kind == "constant":
        return schedule.a0
    if schedule.kind == "decay":
        return schedule.a0 / (1.0 + t / schedule.t0)
    return schedule.a0 / max(float(visits), 1.0) ** schedule.power


class RoutingAgent(ICQAgent):
    """An :class:`ICQAgent` whose choice can be made greedy, or fixed, for one call.

    ``greedy_next`` / ``forced_next`` are read by :meth:`_choose` (the documented subclass hook)
    and reset by the node after every decision. With a dense table, :meth:`value`,
    :meth:`_choose` (epsilon-greedy) and :meth:`receive` take scalar fast paths that compute
    exactly what :class:`ICQAgent` computes (a router handles one handoff at a time, where
    numpy's per-call overhead on one-element arrays dominates).
    """

    greedy_next: bool = False
    forced_next: int | None = None
    try_each: int = 0

    def _untried(self, row: int, cols: list[int]) -> list[int]:
        """The admissible columns of ``row`` with the fewest replies, if below ``try_each``."""
        if self.try_each <= 0:
            return []
        counts = self.visits.counts
        assert counts is not None
        base = int(row) * len(self.candidates)
        seen = [int(counts[base + c]) for c in cols]
        low = min(seen)
        return [c for c, n in zip(cols, seen) if n == low] if low < self.try_each else []

    def _peek_pending(self, key: Key) -> tuple[Any, int]:
        """The pending decision ``key`` (left in place until its update succeeds)."""
        try:
            return self._pending[key]
        except KeyError:
            raise RuntimeError(
                f"agent {self.agent_id} received a message with no pending handoff (key {key!r})"
            ) from None

    _fast_for: tuple[Any, Any] | None = None
    _fast_ok: bool = False

    def _fast(self) -> bool:
        """A dense table and dense visit counts (re-checked only when either is replaced)."""
        if self._fast_for is None or self._fast_for[0] is not self.q or self._fast_for[1] is not self.visits:
            self._fast_for = (self.q, self.visits)
            self._fast_ok = isinstance(self.q, TabularEstimator) and self.q.dense and self.visits.counts is not None
        return self._fast_ok

    def value(self, obs: Sequence[int], admissible: Sequence[int]) -> float:
        """``max_k Q(obs, k)`` over ``admissible`` (eq. 4)."""
        if self.n_local or not self._fast():
            return super().value(obs, admissible)
        row = self.q.table[obs[0]].tolist()  # type: ignore[attr-defined]
        return float(max(row[c] for c in admissible))

    def _choose(self, obs: tuple[int, ...], admissible: Sequence[int]) -> int:
        if self.forced_next is not None:
            return self.forced_next
        fast = self._fast()
        cols = list(admissible)
        if not self.greedy_next and fast:
            untried = self._untried(obs[0], cols)
            if untried:
                return untried[int(self.rng.random() * len(untried))]
        if not fast or (self.exploration.kind != "epsilon" and not self.greedy_next):
            if self.greedy_next:
                return greedy(self.q.values(obs), self.columns(admissible))
            return super()._choose(obs, admissible)
        if not self.greedy_next and self.rng.random() < self.exploration.epsilon_at(self.decisions):
            return int(cols[int(self.rng.random() * len(cols))])
        row = self.q.table[obs[0]].tolist()  # type: ignore[attr-defined]
        return int(max(cols, key=row.__getitem__))  # the first maximum, as np.argmax

    def receive(
        self, message: HandoffMessage, key: Key = None, own_view: tuple[Sequence[int], Sequence[int]] | None = None
    ) -> float:
        """Regress the pending ``Q(o, k)`` of ``key`` on ``R + gamma**tau * v`` (eq. 5)."""
        if own_view is not None or not self._fast() or not isinstance(message, HandoffMessage):
            return super().receive(message, key, own_view)
        obs, col = self._peek_pending(key)
        y = finite_target(message.reward, message.duration, message.value, self.gamma, f"agent {self.agent_id}")
        row = int(obs[0])
        counts = self.visits.counts
        assert counts is not None
        flat = row * len(self.candidates) + col
        alpha = scalar_step(self.schedule, self.t, int(counts[flat]) + 1)
        table = self.q.table  # type: ignore[attr-defined]
        old = float(table[row, col])
        err = y - old
        new = old + alpha * err
        if not math.isfinite(new):
            raise NonFiniteQError(f"agent {self.agent_id}: Q stepped from {old!r} towards {y!r} is not finite; "
                                  "the update was refused")
        table[row, col] = new
        counts[flat] += 1
        del self._pending[key]
        self.t += 1
        return err


class VectorMLPEstimator(MLPEstimator):
    """:class:`MLPEstimator` over real-valued vectors of length ``dim`` (no integer encoding)."""

    def __init__(self, dim: int, n_actions: int, **kwargs: Any) -> None:
        super().__init__((1,) * int(dim), n_actions, inputs="features", **kwargs)
        self.dim = int(dim)

    def encode(self, obs: np.ndarray) -> Any:
        """The vectors themselves, as a float32 batch ``(B, dim)``."""
        return self._torch.as_tensor(np.asarray(obs, dtype=np.float32).reshape(-1, self.dim))


class VectorAgent(RoutingAgent):
    """A :class:`RoutingAgent` over real-valued views (pending views are kept as floats)."""

    def decide(self, obs: Sequence[float], admissible: Sequence[int], key: Key = None) -> int:
        """Choose a successor and remember ``(obs, k)`` under ``key``."""
        if key in self._pending:
            raise RuntimeError(f"agent {self.agent_id} already has a pending decision under key {key!r}")
        view = tuple(float(o) for o in obs)
        col = self._choose(view, admissible)  # type: ignore[arg-type]
        self.decisions += 1
        self._pending[key] = (view, col)  # type: ignore[assignment]
        return self.candidates[col]

    def receive(
        self, message: HandoffMessage, key: Key = None, own_view: tuple[Sequence[int], Sequence[int]] | None = None
    ) -> float:
        """Regress the pending ``Q(o, k)`` of ``key`` on ``R + gamma**tau * v`` (eq. 5)."""
        if not isinstance(message, HandoffMessage):
            raise TypeError(f"agent {self.agent_id} accepts only HandoffMessage replies, got {type(message)}")
        obs, col = self._peek_pending(key)
        y = finite_target(message.reward, message.duration, message.value, self.gamma, f"agent {self.agent_id}")
        err = self.q.update(obs, col, y, float(self.schedule(self.t, 1)))  # NonFiniteQError: nothing changed
        del self._pending[key]
        self.t += 1
        return err


def make_agent(spec: LearnerSpec, n_successors: int, gamma: float, exploration: Exploration, seed: int,
               dim: int | None = None) -> RoutingAgent:
    """A fresh learner for ``n_successors`` successor columns (``dim``: an MLP's view length)."""
    cands = list(range(n_successors))
    if isinstance(spec, Tabular):
        est = TabularEstimator((_FIRST_CAPACITY,), n_successors, init=spec.init)
        agent = RoutingAgent(0, (_FIRST_CAPACITY,), cands, gamma, estimator=est, exploration=exploration,
                             schedule=spec.step_size, seed=seed)
        agent.try_each = int(spec.try_each)
        return agent
    if dim is None:
        raise RouterError("an MLP learner needs its view length (dim) before it is built")
    mlp = VectorMLPEstimator(dim, n_successors, width=spec.width, depth=spec.depth, lr=spec.lr,
                             optimizer=spec.optimizer, seed=seed, threads=spec.torch_threads)
    return VectorAgent(0, (1,) * dim, cands, gamma, estimator=mlp, exploration=exploration,
                       schedule=spec.step_size, seed=seed)


def grow_table(agent: ICQAgent, capacity: int) -> None:
    """Give a tabular agent room for ``capacity`` views, keeping its Q values and visit counts."""
    old_q = agent.q
    if not isinstance(old_q, TabularEstimator):
        raise TypeError("grow_table needs a tabular agent")
    n = old_q.n_actions
    q = TabularEstimator((capacity,), n, init=old_q.init)
    rows = old_q.n_obs
    if old_q.dense and q.dense:
        q.table[:rows] = old_q.table
    else:
        for i in range(rows):
            q._row(i)[:] = old_q._row(i)
    visits = VisitCounter((capacity,), n)
    _copy_visits(agent.visits, visits, n)
    agent.q = q
    agent.visits = visits
    agent.obs_nvec = (capacity,)


def _copy_visits(old: VisitCounter, new: VisitCounter, n: int) -> None:
    """Copy visit counts between counters of the same column count (dense or sparse)."""
    if old.counts is not None and new.counts is not None:
        new.counts[: old.counts.size] = old.counts
        return
    pairs: dict[tuple[int, ...], int] = dict(old.sparse)
    if old.counts is not None:
        for flat in np.flatnonzero(old.counts).tolist():
            pairs[(flat // n, flat % n)] = int(old.counts[flat])
    if new.counts is not None:
        for (row, col), c in pairs.items():
            new.counts[row * n + col] = c
    else:
        new.sparse = pairs
