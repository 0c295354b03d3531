"""Diagnostics of a router: declaration checks, and views that cannot tell outcomes apart.

**The trap these catch.** Reward reaches an agent only through its successor's value *at
the successor's own view* (eq. 4-5). If an agent's view cannot tell apart tasks that end
differently (say a last "finisher" that sees nothing of what its reward depends on), every
route into it earns the same value, and its predecessors learn a policy that can be worse
than a fixed chain, without any error. In the language of the paper, the agent's view is
not an approximate information state.

**The test.** For each decision (agent ``A`` at view ``o`` chose ``k``) the router knows the
return that followed it, ``G`` (exactly what ``Q_A(o, k)`` estimates). If ``A``'s view is
sufficient, ``G`` does not depend on how the task reached ``A`` once ``(o, k)`` is fixed. So the
returns of each ``(A, o, k)`` are grouped by *history* - the predecessor that chose ``A`` and
that predecessor's view - and a warning is raised when two histories have clearly different
mean returns (a gap of at least ``rel_gap`` of the observed return range, and at least ``z``
standard errors apart, each with ``min_count`` samples). Within-view noise that no history
explains (a coin flip nobody can see) raises nothing. Statistics cover a sliding window of
recent tasks, so that the learning of downstream agents does not read as history dependence.
Tabular views only (numeric vector views rarely repeat exactly).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from handoffq.router.errors import END, RouterError
from handoffq.router.views import describe_view

if TYPE_CHECKING:
    from handoffq.router.router import Router

__all__ = ["START", "DecisionRecord", "ViewDiagnostics", "ViewFinding", "ViewWarning", "check_router"]

START = "<start>"
"""The history of an entry agent's decisions (no predecessor)."""


class ViewWarning(UserWarning):
    """An agent's view cannot separate outcomes that differ (see :mod:`handoffq.router.diagnostics`)."""


class DecisionRecord(NamedTuple):
    """One decision of a finished task: the agent, its encoded view (None: not tabular), the
    successor it chose, and the discounted return ``G`` that followed."""

    agent: str
    view: Any
    successor: str
    ret: float


@dataclass(slots=True)
class _Stat:
    """Running count, mean and sum of squared deviations (Welford)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    def merged(self, other: _Stat | None) -> _Stat:
        if other is None or other.n == 0:
            return _Stat(self.n, self.mean, self.m2)
        n = self.n + other.n
        d = other.mean - self.mean
        return _Stat(n, self.mean + d * other.n / n, self.m2 + other.m2 + d * d * self.n * other.n / n)

    @property
    def var(self) -> float:
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0


@dataclass(frozen=True)
class ViewFinding:
    """Two histories reach the same ``(agent, view, successor)`` and end very differently."""

    agent: str
    view: Any
    successor: str
    high: tuple[str, int, float]
    low: tuple[str, int, float]
    gap: float
    z: float

    @property
    def message(self) -> str:
        """The warning text."""
        after = f" and choosing {self.successor!r}" if self.successor != END else " and ending the task"
        return (
            f"agent {self.agent!r} cannot tell apart tasks that end differently: at its view "
            f"{describe_view(self.view)}{after}, the mean return is {self.high[2]:.3f} (n={self.high[1]}) "
            f"when reached from {self.high[0]} but {self.low[2]:.3f} (n={self.low[1]}) from {self.low[0]} "
            f"({_z_text(self.z)} standard errors apart). Its predecessors are sent the same value for both, so "
            f"they cannot learn which route is better: give {self.agent!r} a view of what its outcome depends on."
        )


@dataclass
class ViewDiagnostics:
    """Collects returns per ``(agent, view, successor, history)`` and warns about views that
    cannot separate them (see the module docstring for the test).

    Args:
        every: check after every ``every`` finished tasks (and warn about new findings).
        min_count: samples a history needs before it is compared.
        z: standard errors two histories' means must be apart.
        rel_gap: gap, as a fraction of the range of returns seen, that counts as "different".
        window: tasks per statistics generation (the check reads the last two generations).
        warn: issue :class:`ViewWarning` for new findings (else only :meth:`findings`).
    """

    every: int = 200
    min_count: int = 30
    z: float = 4.0
    rel_gap: float = 0.1
    window: int = 2000
    warn: bool = True
    _cur: dict[tuple[str, Any, str], dict[tuple[str, Any], _Stat]] = field(default_factory=dict, repr=False)
    _old: dict[tuple[str, Any, str], dict[tuple[str, Any], _Stat]] = field(default_factory=dict, repr=False)
    _tasks: int = 0
    _lo: float = math.inf
    _hi: float = -math.inf
    _warned: set[tuple[str, Any, str]] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        for name in ("every", "min_count", "window"):
            if int(getattr(self, name)) < 1:
                raise RouterError(f"diagnostics {name} must be >= 1, got {getattr(self, name)}")

    def record(self, decisions: Sequence[DecisionRecord]) -> None:
        """Add one finished task's decisions (in order)."""
        prev: tuple[str, Any] = (START, None)
        for d in decisions:
            self._lo, self._hi = min(self._lo, d.ret), max(self._hi, d.ret)
            if d.view is not None:
                cell = self._cur.setdefault((d.agent, d.view, d.successor), {})
                cell.setdefault(prev, _Stat()).add(d.ret)
            prev = (d.agent, d.view)
        self._tasks += 1
        if self._tasks % self.window == 0:
            self._old, self._cur = self._cur, {}

    def due(self) -> bool:
        """True when a check is due (after every ``every`` tasks)."""
        return self._tasks > 0 and self._tasks % self.every == 0

    def findings(self, router: Router | None = None) -> list[ViewFinding]:
        """Every ``(agent, view, successor)`` whose returns depend on the history, worst first."""
        span = self._hi - self._lo
        if not math.isfinite(span) or span <= 0:
            return []
        out = []
        for cell in set(self._cur) | set(self._old):
            hist = self._merged(cell)
            found = self._compare(cell, hist, self.rel_gap * span, router)
            if found is not None:
                out.append(found)
        return sorted(out, key=lambda f: -f.z)

    def _merged(self, cell: tuple[str, Any, str]) -> dict[tuple[str, Any], _Stat]:
        cur, old = self._cur.get(cell, {}), self._old.get(cell, {})
        return {h: cur.get(h, _Stat()).merged(old.get(h)) for h in set(cur) | set(old)}

    def _compare(
        self, cell: tuple[str, Any, str], hist: dict[tuple[str, Any], _Stat], min_gap: float, router: Router | None
    ) -> ViewFinding | None:
        ready = [(h, s) for h, s in hist.items() if s.n >= self.min_count]
        if len(ready) < 2:
            return None
        (hh, hs), (lh, ls) = max(ready, key=lambda x: x[1].mean), min(ready, key=lambda x: x[1].mean)
        gap = hs.mean - ls.mean
        se = math.sqrt(hs.var / hs.n + ls.var / ls.n) + 1e-12
        if gap < min_gap or gap / se < self.z:
            return None
        agent, view, succ = cell
        return ViewFinding(
            agent=agent, view=_decode(router, agent, view), successor=succ,
            high=(_describe_history(router, hh), hs.n, hs.mean), low=(_describe_history(router, lh), ls.n, ls.mean),
            gap=gap, z=gap / se,
        )

    def check(self, router: Router | None = None) -> list[ViewFinding]:
        """Run the test now; warn (once per cell) about findings not warned before; return all."""
        found = self.findings(router)
        for f in found:
            cell = (f.agent, f.view, f.successor)
            if self.warn and cell not in self._warned:
                self._warned.add(cell)
                warnings.warn(f.message, ViewWarning, stacklevel=4)
        return found


def _z_text(z: float) -> str:
    return f"{z:.1f}" if z < 100 else "over 100"


def _decode(router: Router | None, agent: str, view: Any) -> Any:
    if router is None or agent not in router.agents:
        return view
    return router.agents[agent].decode((view,))


def _describe_history(router: Router | None, hist: tuple[str, Any]) -> str:
    agent, view = hist
    if agent == START:
        return "the start of the task"
    return f"{agent!r} (at its view {describe_view(_decode(router, agent, view), 30)})"


def check_router(router: Router) -> list[str]:
    """Check a router's declaration before any task runs.

    Raises :class:`~handoffq.router.errors.RouterError` naming the agent for errors (a successor
    that is not declared); returns warnings (no agent can end a task; an agent nobody hands to
    and that is not an entry). :meth:`Router.check_declaration` is this, so ``handoffq.check_env``
    accepts a router.
    """
    names = set(router.agents)
    if not names:
        raise RouterError("the router has no agents: add_agent(name, observe=..., successors=[...]) first")
    for node in router.agents.values():
        for s in node.successors:
            if s != END and s not in names:
                raise RouterError(
                    f"agent {node.name!r} hands off to {s!r}, which is not declared (declared: {sorted(names)})"
                )
    notes = []
    if not any(END in n.successors for n in router.agents.values()):
        notes.append(
            "no agent has END among its successors: every task ends by finish() or by the handoff cap "
            f"(max_handoffs={router.max_handoffs}, penalty {router.cap_penalty})"
        )
    return notes
