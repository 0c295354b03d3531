"""Evaluating a router against fixed routings on the same tasks, with confidence intervals.

.. code-block:: python

    report = evaluate(
        {"learned": router, "full chain": FixedRouting.chain(["a", "b", "c"])},
        tasks=range(2000),                      # task inputs (e.g. seeds), the same for every policy
        run=run_task,                           # run(task_input, route) -> reward; route is task.next
    )
    print(report)

Each policy runs every task through ``run``: a router greedily and without learning
(``mode="frozen"``), a :class:`FixedRouting` by its fixed rule, both with the same handoff cap.
Per policy: success rate, mean reward, mean cost, mean net return (``reward - cost_weight *
cost``), loop rate (tasks ended by the cap) and handoffs per task, each with a confidence
interval (Wilson for rates, Student t for means), and the paired difference in net return
between the first policy and each other one. A router significantly worse than a baseline
raises :class:`RoutingWorseWarning`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from handoffq.router.errors import END, RouterError, TaskStateError
from handoffq.router.router import Router, TaskOutcome, _check_duration, _check_number

__all__ = [
    "Comparison",
    "EvalReport",
    "FixedRouting",
    "Interval",
    "PolicyStats",
    "RoutingWorseWarning",
    "evaluate",
    "mean_interval",
    "wilson_interval",
]


class RoutingWorseWarning(UserWarning):
    """A learned routing did significantly worse than a fixed baseline on the evaluation tasks."""


class _Startable(Protocol):
    def start_task(self, task_id: str | None = None, *, mode: Any = None) -> Any: ...


class FixedRouting:
    """A fixed routing to compare a router with (same ``next``/``finish`` interface as a task).

    ``route``: a chain of agent names (each hands to the next, the last to END), a mapping
    ``agent -> successor``, or a rule ``(agent, artifact) -> successor`` (a hand-written
    conditional edge).
    """

    def __init__(
        self,
        route: Sequence[str] | Mapping[str, str] | Callable[[str, Any], str],
        *,
        max_handoffs: int = 20,
        cap_penalty: float = -1.0,
        cost_weight: float = 1.0,
    ) -> None:
        if isinstance(route, Mapping):
            table = dict(route)
            self._rule: Callable[[str, Any], str] = lambda agent, _art: _lookup(table, agent)
        elif callable(route):
            self._rule = route
        elif isinstance(route, Sequence) and not isinstance(route, str) and route:
            chain = list(route)
            table = {a: b for a, b in zip(chain, [*chain[1:], END])}
            self._rule = lambda agent, _art: _lookup(table, agent)
        else:
            raise RouterError(f"a fixed routing is a chain, a mapping or a rule, got {route!r}")
        self.max_handoffs = int(max_handoffs)
        self.cap_penalty = float(cap_penalty)
        self.cost_weight = float(cost_weight)

    @classmethod
    def chain(cls, agents: Sequence[str], **options: Any) -> FixedRouting:
        """``agents[0] -> agents[1] -> ... -> END``."""
        return cls(list(agents), **options)

    @classmethod
    def like(cls, router: Router, route: Sequence[str] | Mapping[str, str] | Callable[[str, Any], str]) -> FixedRouting:
        """A fixed routing with ``router``'s cap, penalty and cost weight."""
        return cls(route, max_handoffs=router.max_handoffs, cap_penalty=router.cap_penalty,
                   cost_weight=router.cost_weight)

    def start_task(self, task_id: str | None = None, *, mode: Any = None) -> _FixedTask:
        """A task routed by the fixed rule."""
        return _FixedTask(self, task_id or "fixed")


def _lookup(table: Mapping[str, str], agent: str) -> str:
    try:
        return table[agent]
    except KeyError:
        raise RouterError(f"the fixed routing says nothing about agent {agent!r} (it knows {sorted(table)})") from None


class _FixedTask:
    """One task under a :class:`FixedRouting` (the cap and cost accounting of a router task)."""

    def __init__(self, routing: FixedRouting, task_id: str) -> None:
        self.routing = routing
        self.id = task_id
        self.handoffs = 0
        self.cost = 0.0
        self.path: list[str] = []
        self.outcome: TaskOutcome | None = None

    def next(self, agent: str, artifact: Any, *, cost: float = 0.0, duration: int = 1, **_: Any) -> str:
        if self.outcome is not None:
            raise TaskStateError(f"task {self.id!r} is already finished")
        self.cost += _check_number(cost, "cost", f"agent {agent!r}")
        _check_duration(duration, f"agent {agent!r}")
        self.path.append(agent)
        if self.handoffs >= self.routing.max_handoffs:
            penalty = self.routing.cap_penalty
            self.outcome = TaskOutcome(self.id, penalty, self.cost, self.handoffs, tuple(self.path), True)
            return END
        succ = self.routing._rule(agent, artifact)
        if succ != END:
            self.handoffs += 1
        return succ

    def finish(self, reward: float, *, cost: float = 0.0, duration: int = 1) -> TaskOutcome:
        rew = _check_number(reward, "reward", f"task {self.id!r}")
        if self.outcome is not None and self.outcome.capped:
            return TaskOutcome(**{**self.outcome.__dict__, "app_reward": rew})
        self.cost += _check_number(cost, "cost", f"task {self.id!r}")
        self.outcome = TaskOutcome(self.id, rew, self.cost, self.handoffs, tuple(self.path), False)
        return self.outcome

    def abandon(self) -> None:
        self.outcome = self.outcome or TaskOutcome(self.id, 0.0, self.cost, self.handoffs, tuple(self.path))


@dataclass(frozen=True)
class Interval:
    """An estimate and its confidence interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def mean_interval(x: np.ndarray, confidence: float) -> Interval:
    """Mean of ``x`` with a Student-t interval (the mean itself when n < 2 or no spread)."""
    from scipy import stats

    n = len(x)
    m = float(np.mean(x)) if n else math.nan
    if n < 2:
        return Interval(m, m, m)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * float(np.std(x, ddof=1)) / math.sqrt(n)
    return Interval(m, m - half, m + half)


def wilson_interval(k: int, n: int, confidence: float) -> Interval:
    """A rate ``k / n`` with its Wilson score interval."""
    from scipy import stats

    if n == 0:
        return Interval(math.nan, math.nan, math.nan)
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class PolicyStats:
    """One policy's results over the evaluation tasks."""

    name: str
    n: int
    success: Interval
    reward: Interval
    cost: Interval
    net: Interval
    loop_rate: Interval
    handoffs: Interval


@dataclass(frozen=True)
class Comparison:
    """Paired difference in net return, ``first - other``, over the same tasks."""

    first: str
    other: str
    difference: Interval


@dataclass(frozen=True)
class EvalReport:
    """Per-policy statistics and paired comparisons (``str()`` gives a table)."""

    policies: dict[str, PolicyStats]
    comparisons: list[Comparison]
    confidence: float
    outcomes: dict[str, list[TaskOutcome]]

    def __str__(self) -> str:
        pct = f"{round(100 * self.confidence)}% intervals"
        w = max(len("policy"), *(len(n) for n in self.policies)) + 1
        head = f"{'policy':<{w}} {'success':<22} {'net return':<24} {'cost':<22} {'loop rate':<22} handoffs/task"
        lines = [f"evaluation over {next(iter(self.policies.values())).n} tasks ({pct})", head]
        for p in self.policies.values():
            lines.append(
                f"{p.name:<{w}} {p.success!s:<22} {p.net!s:<24} {p.cost!s:<22} {p.loop_rate!s:<22} {p.handoffs}"
            )
        for c in self.comparisons:
            lines.append(f"net({c.first}) - net({c.other}) = {c.difference}")
        return "\n".join(lines)


def _run_one(policy: _Startable, x: Any, run: Callable[[Any, Callable[..., str]], float]) -> TaskOutcome:
    task = policy.start_task(mode="frozen")
    try:
        reward = run(x, task.next)
    except BaseException:
        task.abandon()
        raise
    out = task.finish(reward)
    return out if not out.capped else TaskOutcome(**{**out.__dict__, "app_reward": None})


def _stats(name: str, outs: list[TaskOutcome], weight: float, success: Callable[[float], bool],
           confidence: float) -> tuple[PolicyStats, np.ndarray]:
    reward = np.array([o.reward for o in outs])
    cost = np.array([o.cost for o in outs])
    net = reward - weight * cost
    n = len(outs)
    st = PolicyStats(
        name, n,
        success=wilson_interval(sum(success(o.reward) and not o.capped for o in outs), n, confidence),
        reward=mean_interval(reward, confidence), cost=mean_interval(cost, confidence),
        net=mean_interval(net, confidence),
        loop_rate=wilson_interval(sum(o.capped for o in outs), n, confidence),
        handoffs=mean_interval(np.array([o.handoffs for o in outs], float), confidence),
    )
    return st, net


def evaluate(
    policies: Mapping[str, Router | FixedRouting],
    tasks: Iterable[Any],
    run: Callable[[Any, Callable[..., str]], float],
    *,
    success_at: float | None = None,
    confidence: float = 0.95,
    warn: bool = True,
) -> EvalReport:
    """Run every task under every policy and compare them (see the module docstring).

    ``run(task_input, route) -> reward`` runs one task, calling ``route(agent, artifact,
    cost=..., duration=...)`` after each agent's work (exactly ``task.next``). ``success_at``:
    a task succeeds when its reward is at least this (default: reward > 0).
    """
    if not policies:
        raise RouterError("evaluate needs at least one policy")
    if not 0.0 < confidence < 1.0:
        raise RouterError(f"confidence must be in (0, 1), got {confidence}")
    inputs = list(tasks)
    if not inputs:
        raise RouterError("evaluate needs at least one task")
    success: Callable[[float], bool] = (lambda r: r > 0) if success_at is None else (lambda r: r >= success_at)
    stats: dict[str, PolicyStats] = {}
    nets: dict[str, np.ndarray] = {}
    outcomes: dict[str, list[TaskOutcome]] = {}
    for name, policy in policies.items():
        outs = [_run_one(policy, x, run) for x in inputs]
        outcomes[name] = outs
        stats[name], nets[name] = _stats(name, outs, policy.cost_weight, success, confidence)
    names = list(policies)
    comparisons = [Comparison(names[0], o, mean_interval(nets[names[0]] - nets[o], confidence)) for o in names[1:]]
    if warn:
        _warn_if_worse(policies, stats, nets, confidence)
    return EvalReport(stats, comparisons, confidence, outcomes)


def _warn_if_worse(policies: Mapping[str, Router | FixedRouting], stats: dict[str, PolicyStats],
                   nets: dict[str, np.ndarray], confidence: float) -> None:
    for name, policy in policies.items():
        if not isinstance(policy, Router):
            continue
        for other, base in policies.items():
            if isinstance(base, Router):
                continue
            diff = mean_interval(nets[name] - nets[other], confidence)
            if diff.high < 0:
                warnings.warn(
                    f"the learned routing {name!r} does worse than the fixed {other!r} on these tasks: net return "
                    f"{stats[name].net.value:.3f} vs {stats[other].net.value:.3f} (difference {diff}); check "
                    "ViewWarnings (router.diagnose()) for agents whose views cannot separate outcomes",
                    RoutingWorseWarning,
                    stacklevel=3,
                )
