"""The Router: learned handoffs for agents you already run, routing *after* each agent's work.

.. code-block:: python

    router = handoffq.Router(seed=0)
    router.add_agent("triage", observe=view_fn, successors=["solver", "checker", handoffq.END])
    task = router.start_task()                      # many tasks may be in flight at once
    nxt = task.next("triage", artifact, cost=0.0)   # triage is done: its learner picks the successor
    task.finish(reward=1.0)                         # every learner updates from (v, tau, R) only

The message flow (DESIGN section 6): ``task.next(A, artifact, cost, duration)`` means agent
``A`` finished an invocation. (1) The agent ``P`` that chose ``A`` learns from
``HandoffMessage(v, tau=duration, R=-cost_weight * cost)`` where ``v = A.value(A's view)``:
``P``'s option was ``A``'s invocation. (2) ``A`` picks its successor at its own view. (3) If
that is ``END``, ``A``'s decision waits for ``task.finish(reward)``: ``(0, 1, reward)``. A
per-task cap on handoffs ends runaway loops: the report that reaches it ends the task with
``cap_penalty`` as its reward (``outcome.capped``). Modes: ``"train"`` (explore, learn),
``"serve"`` (greedy; learns from feedback if ``learn_in_serve``), ``"frozen"`` (greedy, no
updates); a task may override the router's mode.
"""

from __future__ import annotations

import itertools
import math
import threading
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Literal

from handoffq.core.agent import Key
from handoffq.core.messages import HandoffMessage
from handoffq.learn.exploration import Exploration
from handoffq.router.diagnostics import DecisionRecord, ViewDiagnostics, ViewFinding, check_router
from handoffq.router.errors import END, RouterError, TaskStateError, display_name
from handoffq.router.events import RouterListener
from handoffq.router.learners import LearnerSpec
from handoffq.router.node import UNSEEN, AgentNode, UnseenPolicy, agent_seed

__all__ = ["Explanation", "Mode", "ModeFlags", "Router", "Task", "TaskOutcome", "mode_flags"]

Mode = Literal["train", "serve", "frozen"]
_MODES = ("train", "serve", "frozen")


@dataclass(frozen=True, slots=True)
class ModeFlags:
    """What a mode means for one call: explore? learn (record decisions, update)?"""

    explore: bool
    learn: bool
    train: bool


def mode_flags(mode: str, learn_in_serve: bool) -> ModeFlags:
    """The flags of ``mode`` (``"train"``, ``"serve"`` or ``"frozen"``)."""
    if mode == "train":
        return ModeFlags(explore=True, learn=True, train=True)
    if mode == "serve":
        return ModeFlags(explore=False, learn=bool(learn_in_serve), train=False)
    if mode == "frozen":
        return ModeFlags(explore=False, learn=False, train=False)
    raise RouterError(f"mode must be one of {_MODES}, got {mode!r}")


@dataclass(frozen=True)
class TaskOutcome:
    """How a task ended.

    ``reward``: the reward its last decision learned from (``cap_penalty`` if capped);
    ``cost``: the sum of the reported costs (unweighted); ``handoffs``: successors chosen (END
    not counted); ``path``: the agents that reported, in order; ``capped``: ended by the
    handoff cap; ``app_reward``: the reward passed to ``finish`` after a cap (not learned from).
    """

    task_id: str
    reward: float
    cost: float
    handoffs: int
    path: tuple[str, ...]
    capped: bool = False
    app_reward: float | None = None


@dataclass(frozen=True)
class Explanation:
    """Why an agent would route a view where it does: ``Q`` per successor, visits, the choice."""

    agent: str
    view: Any
    seen: bool
    q: dict[str, float]
    visits: dict[str, int] | None
    choice: str

    def __str__(self) -> str:
        rows = ", ".join(
            f"{display_name(k)}: Q={v:.3f}" + ("" if self.visits is None else f" ({self.visits[k]} visits)")
            for k, v in self.q.items()
        )
        seen = "" if self.seen else " [never seen]"
        return f"{self.agent} at {self.view!r}{seen} -> {display_name(self.choice)} ({rows})"


def _check_number(value: object, what: str, where: str) -> float:
    if (type(value) is float or type(value) is int) and math.isfinite(value):  # the common case, fast
        return float(value)
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise RouterError(f"{where}: {what} must be a finite number, got {value!r}")
    return float(value)


def _check_duration(value: object, where: str) -> int:
    if type(value) is int and value >= 1:
        return value
    if isinstance(value, bool) or not isinstance(value, Integral | Real):
        raise RouterError(f"{where}: duration must be a positive integer, got {value!r}")
    fv = float(value)
    if not math.isfinite(fv) or fv != int(fv) or fv < 1:
        raise RouterError(
            f"{where}: duration must be a positive integer number of steps, got {value!r} "
            "(pass seconds, tokens or money as cost)"
        )
    return int(fv)


class Task:
    """One task (a request, a document, a conversation) travelling through the agents.

    Create with :meth:`Router.start_task`. Use :meth:`next` after each agent's work and
    :meth:`finish` with the outcome; :meth:`abandon` (or leaving a ``with`` block early) drops
    its pending decision.
    """

    def __init__(self, router: Router, task_id: str, mode: Mode) -> None:
        self.router = router
        self.id = task_id
        self.mode: Mode = mode
        self._flags = mode_flags(mode, router.learn_in_serve)
        self.handoffs = 0
        self.cost = 0.0
        self.path: list[str] = []
        self.expected: str | None = None
        self.outcome: TaskOutcome | None = None
        self.abandoned = False
        self._last: tuple[str, Key | None] | None = None
        self._trace: list[list[Any]] = []  # [agent, view key, successor, own R, own tau]
        self._final = 0.0

    # ------------------------------------------------------------ state
    @property
    def done(self) -> bool:
        """True once the task finished, was capped or was abandoned."""
        return self.outcome is not None or self.abandoned

    def __repr__(self) -> str:
        state = "done" if self.done else f"waiting for {self.expected!r}" if self.expected else "open"
        return f"Task({self.id!r}, {self.mode}, handoffs={self.handoffs}, {state})"

    def __enter__(self) -> Task:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.done:
            if exc_type is None:
                warnings.warn(f"task {self.id!r} left its with-block without finish(); abandoned", stacklevel=2)
            self.abandon()

    def _check_open(self, agent: str) -> None:
        if self.outcome is not None and self.outcome.capped:
            raise TaskStateError(f"task {self.id!r} was ended by the handoff cap; start a new task")
        if self.done:
            raise TaskStateError(f"task {self.id!r} is already {'abandoned' if self.abandoned else 'finished'}")
        if agent not in self.router.agents:
            raise RouterError(f"task {self.id!r}: unknown agent {agent!r} (declared: {sorted(self.router.agents)})")
        if self.expected is not None and agent != self.expected:
            raise TaskStateError(
                f"task {self.id!r}: the router handed off to {self.expected!r}, but {agent!r} reported"
            )
        if self.expected is None and self._last is not None:
            raise TaskStateError(f"task {self.id!r}: {self._last[0]!r} ended it (END); call finish(reward)")

    # ------------------------------------------------------------ driving
    def next(
        self,
        agent: str,
        artifact: Any,
        *,
        cost: float = 0.0,
        duration: int = 1,
        allowed: Sequence[str] | None = None,
        chosen: str | None = None,
    ) -> str:
        """``agent`` finished its work on ``artifact``: return whom it hands off to (or ``END``).

        ``cost`` (tokens, seconds or money; weighted by the router's ``cost_weight``) and
        ``duration`` (a positive integer, for discounting) describe this invocation.
        ``allowed`` restricts the successors for this call; ``chosen`` records a successor
        chosen elsewhere (a human, an LLM, a rule) and learns from it as if the router had
        chosen it. Returns ``END`` if this report reached the handoff cap.
        """
        r = self.router
        with r._lock:
            self._check_open(agent)
            where = f"task {self.id!r}, agent {agent!r}"
            c = _check_number(cost, "cost", where)
            d = _check_duration(duration, where)
            node = r.agents[agent]
            node.check_choice(allowed, chosen)
            own_r = _check_number(-r.cost_weight * c, "cost_weight * cost", where)
            obs = node.view(artifact, add=self._flags.learn and (self._flags.train or node.unseen == "add"))
            capped = self.handoffs >= r.max_handoffs
            message = None
            if self._last is not None:
                v = 0.0 if capped else node.value(obs, allowed)
                message = HandoffMessage(v, d, own_r + (r.cap_penalty if capped else 0.0))
                self._learn(message)  # the first state change; nothing above changed the task
            self.cost += c
            self.path.append(agent)
            if r._listeners:
                for lst in r._listeners:
                    lst.on_report(self, agent, c, d)
            if message is not None:
                self._notify(message, agent)
            if capped:
                self._trace.append([agent, None, END, own_r, d])
                self._close(r.cap_penalty, capped=True)
                return END
            return self._decide(node, agent, obs, own_r, d, allowed, chosen)

    def _decide(self, node: AgentNode, agent: str, obs: Any, own_r: float, d: int,
                allowed: Sequence[str] | None, chosen: str | None) -> str:
        """``agent`` picks its successor at ``obs`` (arguments already validated)."""
        r = self.router
        key = (self.id, self.handoffs)
        succ = node.choose(key, obs, explore=self._flags.explore, allowed=allowed, record=self._flags.learn,
                           chosen=chosen)
        recorded = self._flags.learn and obs is not UNSEEN
        self._last = (agent, key if recorded else None)
        view_key = obs[0] if node.vocab is not None and obs is not UNSEEN else None
        self._trace.append([agent, view_key, succ, own_r, d])
        if succ == END:
            self.expected = None
        else:
            self.expected = succ
            self.handoffs += 1
        if r._listeners:
            for lst in r._listeners:
                lst.on_decision(self, agent, succ)
        return succ

    def propose(self, agent: str, artifact: Any, *, allowed: Sequence[str] | None = None) -> str:
        """The successor :meth:`next` would pick for ``agent`` now, without recording anything
        (explores in train mode, and puts the learner's generator back afterwards; for
        frameworks that must offer a handoff before the agent is done, then report it with
        ``next(..., chosen=...)``)."""
        r = self.router
        with r._lock:
            if self.done:
                return END
            if agent not in r.agents:
                raise RouterError(f"task {self.id!r}: unknown agent {agent!r} (declared: {sorted(r.agents)})")
            node = r.agents[agent]
            obs = node.view(artifact, add=False)
            if self.handoffs >= r.max_handoffs and self._last is not None:
                return END
            if node.agent is None:
                return node.choose(None, obs, explore=self._flags.explore, allowed=allowed, record=False)
            rng = node.agent.rng.bit_generator
            saved = rng.state
            try:
                return node.choose(None, obs, explore=self._flags.explore, allowed=allowed, record=False)
            finally:
                rng.state = saved

    def finish(self, reward: float, *, cost: float = 0.0, duration: int = 1) -> TaskOutcome:
        """The task's outcome: ``reward`` reaches its last decision with ``v = 0``.

        If the last decision named an agent that never reported, that agent's ``cost`` and
        ``duration`` may be given here. After the handoff cap this only records ``reward``
        in ``outcome.app_reward`` (the cap penalty was already learned from).
        """
        r = self.router
        with r._lock:
            if self.outcome is not None and self.outcome.capped and self.outcome.app_reward is None:
                rew = _check_number(reward, "reward", f"task {self.id!r}")
                self.outcome = TaskOutcome(**{**self.outcome.__dict__, "app_reward": rew})
                return self.outcome
            if self.done:
                raise TaskStateError(f"task {self.id!r} is already {'abandoned' if self.abandoned else 'finished'}")
            where = f"task {self.id!r}"
            rew = _check_number(reward, "reward", where)
            c = _check_number(cost, "cost", where)
            d = _check_duration(duration, where)
            if self._last is not None and self.expected is None and (c != 0.0 or d != 1):
                raise RouterError(
                    f"{where}: {self._last[0]!r} chose END, so no agent is left unreported: give its cost and "
                    "duration to next(), not finish()"
                )
            if self._last is not None:
                target = END if self.expected is None else self.expected
                message = HandoffMessage(0.0, d, _check_number(rew - r.cost_weight * c, "reward - cost", where))
                self._learn(message)
                self.cost += c
                self._notify(message, target)
            return self._close(rew, capped=False)

    def abandon(self) -> None:
        """Drop this task's pending decision (nothing is learned from it)."""
        r = self.router
        with r._lock:
            if self.done:
                return
            if self._last is not None and self._last[1] is not None:
                r.agents[self._last[0]].forget(self._last[1])
            self.abandoned = True
            r._open.pop(self.id, None)
            r._autosave_after(self)  # the predecessors in it learned before it was dropped
            for lst in r._listeners:
                lst.on_abandon(self)

    # ------------------------------------------------------------ internals
    def _learn(self, message: HandoffMessage) -> None:
        """The last decision learns from ``message`` (raises before any change if it cannot)."""
        assert self._last is not None
        source, key = self._last
        if key is not None:
            self.router.agents[source].learn(key, message)
        self._final = message.reward  # the target of the last decision when v = 0 (the task ends)

    def _notify(self, message: HandoffMessage, target: str) -> None:
        assert self._last is not None
        if self.router._listeners:
            for lst in self.router._listeners:
                lst.on_message(self, self._last[0], target, message)

    def _close(self, reward: float, *, capped: bool) -> TaskOutcome:
        r = self.router
        self.outcome = TaskOutcome(self.id, reward, self.cost, self.handoffs, tuple(self.path), capped)
        r._open.pop(self.id, None)
        r._after_task(self)
        if r._listeners:
            for lst in r._listeners:
                lst.on_finish(self, self.outcome)
        return self.outcome

    def decisions(self) -> list[DecisionRecord]:
        """This task's decisions, each with the discounted return that followed it (what its
        ``Q(o, k)`` estimates; for diagnostics)."""
        capped = self.outcome is not None and self.outcome.capped
        real = self._trace[:-1] if capped else self._trace
        out: list[DecisionRecord] = []
        g = self._final
        for j in range(len(real) - 1, -1, -1):
            if j + 1 < len(real):
                g = real[j + 1][3] + self.router.gamma ** real[j + 1][4] * g
            out.append(DecisionRecord(real[j][0], real[j][1], real[j][2], g))
        out.reverse()
        return out


@dataclass
class _Autosave:
    directory: Path
    every: int
    tasks: int = 0
    dirty: set[str] = field(default_factory=set)


class Router:
    """Learned handoffs between named agents (see the module docstring).

    Args:
        seed: seeds every agent's learner (each from the seed and its name).
        gamma: discount per unit of duration (0 < gamma <= 1).
        epsilon: exploration rate while training (or pass ``exploration``).
        cost_weight: ``R = -cost_weight * cost`` for each invocation.
        max_handoffs: handoffs per task before the cap ends it (>= 1).
        cap_penalty: the reward of a task ended by the cap.
        mode: ``"train"``, ``"serve"`` or ``"frozen"`` (default for new tasks).
        learn_in_serve: in serve mode, still learn from feedback (greedy choices).
        diagnostics: warn about views that cannot separate outcomes (True, False, or a
            :class:`~handoffq.router.diagnostics.ViewDiagnostics` with your settings).
        autosave: a directory: after every ``autosave_every`` tasks that ended (finished,
            capped or abandoned), each agent that learned writes its own file there
            (atomically), so a crash loses no update of an ended task.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        gamma: float = 0.99,
        epsilon: float = 0.1,
        exploration: Exploration | None = None,
        cost_weight: float = 1.0,
        max_handoffs: int = 20,
        cap_penalty: float = -1.0,
        mode: Mode = "train",
        learn_in_serve: bool = True,
        diagnostics: bool | ViewDiagnostics = True,
        autosave: str | Path | None = None,
        autosave_every: int = 1,
    ) -> None:
        if not 0.0 < float(gamma) <= 1.0:
            raise RouterError(f"gamma must be in (0, 1], got {gamma}")
        if isinstance(max_handoffs, bool) or not isinstance(max_handoffs, Integral) or max_handoffs < 1:
            raise RouterError(f"max_handoffs must be a positive integer, got {max_handoffs!r}")
        if int(autosave_every) < 1:
            raise RouterError(f"autosave_every must be >= 1, got {autosave_every}")
        self.seed: int = int(seed)
        self.gamma: float = float(gamma)
        self.exploration: Exploration = exploration or Exploration(epsilon=float(epsilon))
        self.cost_weight: float = _check_number(cost_weight, "cost_weight", "Router")
        self.max_handoffs: int = int(max_handoffs)
        self.cap_penalty: float = _check_number(cap_penalty, "cap_penalty", "Router")
        mode_flags(mode, learn_in_serve)
        self._mode: Mode = mode
        self.learn_in_serve: bool = bool(learn_in_serve)
        self.diagnostics: ViewDiagnostics | None = (
            diagnostics if isinstance(diagnostics, ViewDiagnostics) else ViewDiagnostics() if diagnostics else None
        )
        self.agents: dict[str, AgentNode] = {}
        self._open: dict[str, Task] = {}
        self._id_prefix: str = uuid.uuid4().hex[:12]  # task ids: this prefix and a counter (unique, cheap)
        self._ids: itertools.count[int] = itertools.count()
        self._lock: threading.RLock = threading.RLock()
        self._listeners: list[RouterListener] = []
        self._checked: bool = False
        self.notes: list[str] = []
        self.tasks_finished: int = 0
        self.tasks_capped: int = 0
        self._autosave: _Autosave | None = None if autosave is None else _Autosave(Path(autosave), int(autosave_every))

    # ------------------------------------------------------------ declaring
    @property
    def mode(self) -> Mode:
        """The default mode of new tasks."""
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        mode_flags(mode, self.learn_in_serve)
        self._mode = mode

    def add_agent(
        self,
        name: str,
        observe: Callable[[Any], Any] | None = None,
        successors: Sequence[str] = (END,),
        *,
        learner: str | LearnerSpec = "tabular",
        unseen: UnseenPolicy = "add",
        fallback: str | None = None,
        exploration: Exploration | None = None,
    ) -> AgentNode:
        """Declare an agent: its own view ``observe(artifact)`` and whom it may hand off to.

        ``learner``: ``"tabular"`` for hashable views (tuples, strings, ints, bools), ``"mlp"``
        for numeric vectors (or :class:`~handoffq.router.learners.Tabular` /
        :class:`~handoffq.router.learners.MLP` with settings); ``unseen``/``fallback``: where a
        never-seen view goes when not learning (see :class:`~handoffq.router.node.AgentNode`).
        """
        if name in self.agents:
            raise RouterError(f"agent {name!r} is already declared")
        node = AgentNode(
            name, successors, observe=observe, learner=learner, gamma=self.gamma,
            exploration=exploration or self.exploration, unseen=unseen, fallback=fallback,
            seed=agent_seed(self.seed, name),
        )
        return self.add_node(node)

    def add_node(self, node: AgentNode) -> AgentNode:
        """Add an already-built :class:`AgentNode` (e.g. one loaded from a file)."""
        with self._lock:
            if node.name in self.agents:
                raise RouterError(f"agent {node.name!r} is already declared")
            self.agents[node.name] = node
            self._checked = False
        return node

    def check_declaration(self) -> list[str]:
        """The declaration's own check (errors raise, naming the agent; returns warnings): what
        ``handoffq.check_env(router)`` runs."""
        return check_router(self)

    def check(self) -> list[str]:
        """Run ``handoffq.check_env`` on this router now (errors raise, naming the agent); return
        warnings. :meth:`start_task` runs it before the first task (and after new agents)."""
        from handoffq.core.check import check_env

        self.notes = list(check_env(self).notes)
        self._checked = True
        return self.notes

    def add_listener(self, listener: RouterListener) -> None:
        """Call ``listener`` on every report, message, decision and finish (e.g. tracing)."""
        with self._lock:
            self._listeners.append(listener)

    # ------------------------------------------------------------ tasks
    def start_task(self, task_id: str | None = None, *, mode: Mode | None = None) -> Task:
        """A new task (``task_id``: your own id, e.g. a LangGraph thread id; ``mode``: override)."""
        with self._lock:
            if not self._checked:
                for note in self.check():
                    warnings.warn(note, stacklevel=2)
            tid = f"{self._id_prefix}-{next(self._ids)}" if task_id is None else str(task_id)
            if tid in self._open:
                raise TaskStateError(f"task {tid!r} is already in flight")
            task = Task(self, tid, mode or self._mode)
            self._open[tid] = task
            for lst in self._listeners:
                lst.on_task_start(task)
            return task

    def task(self, task_id: str, *, start: bool = False, mode: Mode | None = None) -> Task:
        """The open task ``task_id`` (``start=True``: start it if none is open)."""
        with self._lock:
            task = self._open.get(str(task_id))
            if task is not None:
                return task
            if start:
                return self.start_task(task_id, mode=mode)
            raise TaskStateError(f"no task {task_id!r} is in flight")

    def open_tasks(self) -> list[str]:
        """Ids of the tasks in flight."""
        with self._lock:
            return list(self._open)

    def _after_task(self, task: Task) -> None:
        self.tasks_finished += 1
        self.tasks_capped += bool(task.outcome and task.outcome.capped)
        if self.diagnostics is not None:
            self.diagnostics.record(task.decisions())
            if self.diagnostics.due():
                self.diagnostics.check(self)
        self._autosave_after(task)

    def _autosave_after(self, task: Task) -> None:
        """Autosave after a finished, capped or abandoned task in which agents learned."""
        if self._autosave is not None and task._flags.learn and task._trace:
            self._autosave.dirty.update(t[0] for t in task._trace)
            self._autosave.tasks += 1
            if self._autosave.tasks % self._autosave.every == 0:
                self.flush()

    # ------------------------------------------------------------ inspection
    def explain(self, agent: str, artifact: Any, *, allowed: Sequence[str] | None = None) -> Explanation:
        """The Q values behind ``agent``'s choice for ``artifact`` (no state change)."""
        with self._lock:
            if agent not in self.agents:
                raise RouterError(f"unknown agent {agent!r} (declared: {sorted(self.agents)})")
            node = self.agents[agent]
            obs = node.view(artifact, add=False)
            raw = node.observe(artifact)
            return Explanation(agent, raw, obs is not UNSEEN, node.explain(obs), node.visits(obs),
                               node.greedy(obs, allowed))

    def diagnose(self) -> list[ViewFinding]:
        """Run the view diagnostics now (warns about new findings); see :mod:`handoffq.router.diagnostics`."""
        if self.diagnostics is None:
            return []
        with self._lock:
            return self.diagnostics.check(self)

    def routes(self) -> Any:
        """Each agent's learned table: view -> greedy successor, Q values, visits."""
        from handoffq.router.routes import routes_table

        with self._lock:
            return routes_table(self)

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | Path) -> list[Path]:
        """Write one file per agent (atomically) and a manifest under ``directory``."""
        from handoffq.router.persist import save_router

        with self._lock:
            return save_router(self, directory)

    def flush(self) -> None:
        """Write the files of agents that learned since the last autosave (autosave only)."""
        from handoffq.router.persist import save_router

        if self._autosave is None:
            return
        with self._lock:
            save_router(self, self._autosave.directory, only=self._autosave.dirty)
            self._autosave.dirty.clear()

    @classmethod
    def load(
        cls, directory: str | Path, observe: Mapping[str, Callable[[Any], Any]] | None = None, **overrides: Any
    ) -> Router:
        """A router rebuilt from :meth:`save` (``observe``: agent name -> view function, since code is
        not saved; ``overrides``: Router options such as ``mode="serve"``)."""
        from handoffq.router.persist import load_router

        return load_router(cls, directory, observe or {}, overrides)

    def settings(self) -> dict[str, Any]:
        """The router's options (for the manifest)."""
        e = self.exploration
        return {
            "seed": self.seed, "gamma": self.gamma, "cost_weight": self.cost_weight,
            "max_handoffs": self.max_handoffs, "cap_penalty": self.cap_penalty, "mode": self._mode,
            "learn_in_serve": self.learn_in_serve,
            "exploration": {"kind": e.kind, "epsilon": e.epsilon, "epsilon_min": e.epsilon_min, "decay": e.decay,
                            "temperature": e.temperature},
        }
