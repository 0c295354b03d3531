"""One agent's learner of "whom to hand off to": the only thing a router (or a service) hosts per agent.

An :class:`AgentNode` wraps an IC-Q learner (:class:`~handoffq.learn.agent.ICQAgent`, keyed
pending decisions) over the agent's *own* encoded views (:mod:`handoffq.router.views`). It
routes *after* the agent's work (DESIGN section 6): when the agent is done, it observes its
view ``o`` of the artifact and

* :meth:`value` is what it sends back to the agent that chose it: ``v = max_k Q(o, k)`` (eq. 4);
* :meth:`choose` picks a successor ``k`` (or :data:`~handoffq.router.errors.END`) and remembers
  ``(o, k)`` under a key (task, handoff), so that many tasks can be in flight at once;
* :meth:`learn` regresses that decision on ``R + gamma**tau * v`` from the successor's
  three numbers (eq. 5). Nothing else ever reaches it.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Final, Literal

import numpy as np

from handoffq.core.agent import Key
from handoffq.core.messages import HandoffMessage
from handoffq.learn.estimators import TabularEstimator
from handoffq.learn.exploration import Exploration, choose, greedy
from handoffq.router.errors import END, RouterError, TaskStateError, UnseenViewError, check_agent_name
from handoffq.router.learners import (
    LearnerSpec,
    RoutingAgent,
    Tabular,
    grow_table,
    learner_spec,
    make_agent,
)
from handoffq.router.views import Vocabulary, describe_view, encode_vector

__all__ = ["NODE_FORMAT", "UNSEEN", "AgentNode", "EncodedView", "UnseenViewWarning", "agent_seed", "identity"]

NODE_FORMAT: Final = 1
UNSEEN: Final = (-1,)
"""The encoded view of a view that was never seen and was not stored (see ``unseen``)."""

EncodedView = tuple[int, ...] | tuple[float, ...]
UnseenPolicy = Literal["add", "fallback", "error"]


class UnseenViewWarning(UserWarning):
    """An agent routed a view it never saw, with no ``fallback`` configured."""


def agent_seed(seed: int, name: str) -> int:
    """The seed of agent ``name``'s learner from a router's (or a service's) ``seed``: mixed
    with the name, so that agents seeded alike do not explore with the same stream."""
    import zlib

    return (int(seed) * 1_000_003 + zlib.crc32(name.encode())) % 2**32


def identity(artifact: Any) -> Any:
    """The default ``observe``: the artifact passed to the router is the agent's view itself."""
    return artifact


class AgentNode:
    """One agent's learned routing.

    Args:
        name: the agent's name.
        successors: whom it may hand off to (agent names and/or ``END``), in column order.
        observe: ``artifact -> view``, the agent's own view (default: the artifact is the view).
        learner: ``"tabular"`` (hashable views), ``"mlp"`` (numeric vectors), or a
            :class:`~handoffq.router.learners.Tabular` / :class:`~handoffq.router.learners.MLP`.
        gamma: discount per unit of duration.
        exploration: exploration while training (default epsilon-greedy, epsilon 0.1).
        seed: seeds the learner's own generator (and an MLP's initialisation).
        unseen: what a view never seen before does when the node is not adding views
            (serving without learning, or frozen): ``"add"`` routes it greedily on the initial
            values, or to ``fallback`` if one is given; ``"fallback"`` routes it to ``fallback``;
            ``"error"`` raises :class:`~handoffq.router.errors.UnseenViewError`.
        fallback: the successor for unseen views.
    """

    def __init__(
        self,
        name: str,
        successors: Sequence[str],
        *,
        observe: Callable[[Any], Any] | None = None,
        learner: str | LearnerSpec = "tabular",
        gamma: float = 0.99,
        exploration: Exploration | None = None,
        seed: int = 0,
        unseen: UnseenPolicy = "add",
        fallback: str | None = None,
    ) -> None:
        self.name = check_agent_name(name)
        self.successors = _check_successors(name, successors)
        self._col = {s: i for i, s in enumerate(self.successors)}
        self._all = list(range(len(self.successors)))
        if observe is not None and not callable(observe):
            raise RouterError(f"agent {name!r}: observe must be a callable artifact -> view, got {observe!r}")
        self.observe: Callable[[Any], Any] = observe or identity
        self.spec: LearnerSpec = learner_spec(learner)
        if not 0.0 < float(gamma) <= 1.0:
            raise RouterError(f"agent {name!r}: gamma must be in (0, 1], got {gamma}")
        self.gamma = float(gamma)
        self.exploration = exploration or Exploration(epsilon=0.1)
        self.seed = int(seed)
        if unseen not in ("add", "fallback", "error"):
            raise RouterError(f"agent {name!r}: unseen must be 'add', 'fallback' or 'error', got {unseen!r}")
        if unseen == "fallback" and fallback is None:
            raise RouterError(f"agent {name!r}: unseen='fallback' needs fallback=<successor>")
        if fallback is not None and fallback not in self._col:
            raise RouterError(f"agent {name!r}: fallback {fallback!r} is not one of its successors {self.successors}")
        self.unseen: UnseenPolicy = unseen
        self.fallback = fallback
        self.learning = True
        self.unseen_routed = 0
        self.vocab: Vocabulary | None = None
        self.dim: int | None = None
        self.agent: RoutingAgent | None = None
        if isinstance(self.spec, Tabular):
            self.vocab = Vocabulary(name, self.spec.max_views)
            self.agent = self._build(None)
        else:
            self.dim = None if self.spec.dim is None else int(self.spec.dim)
            if self.dim is not None:
                self.agent = self._build(self.dim)

    # ------------------------------------------------------------------ basics
    @property
    def kind(self) -> Literal["tabular", "mlp"]:
        """``"tabular"`` or ``"mlp"``."""
        return self.spec.kind

    def _build(self, dim: int | None) -> RoutingAgent:
        return make_agent(self.spec, len(self.successors), self.gamma, self.exploration, self.seed, dim)

    def _learner(self) -> RoutingAgent:
        if self.agent is None:
            raise RouterError(f"agent {self.name!r}: its MLP has not seen a view yet (give MLP(dim=...) to build it)")
        return self.agent

    def _columns(self, allowed: Sequence[str] | None) -> list[int]:
        if allowed is None:
            return self._all
        try:
            cols = [self._col[s] for s in allowed]
        except KeyError as exc:
            raise RouterError(
                f"agent {self.name!r}: allowed successor {exc.args[0]!r} is not one of {list(self.successors)}"
            ) from None
        if not cols:
            raise RouterError(f"agent {self.name!r}: allowed successors must not be empty")
        return cols

    def check_choice(self, allowed: Sequence[str] | None = None, chosen: str | None = None) -> list[int]:
        """Validate ``allowed`` and ``chosen`` as :meth:`choose` would (no state change); return
        the allowed columns."""
        cols = self._columns(allowed)
        if chosen is not None and self.column(chosen) not in cols:
            raise RouterError(f"agent {self.name!r}: chosen successor {chosen!r} is not among the allowed {allowed}")
        return cols

    def column(self, successor: str) -> int:
        """The column of ``successor`` (a clear error if it is not one)."""
        try:
            return self._col[successor]
        except (KeyError, TypeError):
            raise RouterError(
                f"agent {self.name!r}: {successor!r} is not one of its successors {list(self.successors)}"
            ) from None

    # ------------------------------------------------------------------- views
    def view(self, artifact: Any, *, add: bool = True) -> EncodedView:
        """The agent's encoded own view of ``artifact`` (``add``: store a view never seen before)."""
        raw = self.observe(artifact)
        if self.vocab is None:
            vec = encode_vector(self.name, raw, self.dim)
            if self.agent is None:
                self.dim = len(vec)
                self.agent = self._build(self.dim)
            return vec
        try:
            row = self.vocab.get(raw)
        except RouterError:
            if self.observe is identity:
                raise RouterError(
                    f"agent {self.name!r} has no observe function, so the artifact itself is its view, and a "
                    f"{type(raw).__name__} cannot be one: add_agent({self.name!r}, observe=lambda artifact: ...) "
                    "returning a hashable view (a tuple, str, int or bool)"
                ) from None
            raise
        if row is not None:
            return (row,)
        if add and not self.vocab.full:
            return (self._store(raw),)
        if self.unseen == "error":
            raise UnseenViewError(
                f"agent {self.name!r}: view {describe_view(raw)} was never seen in training (unseen='error'; "
                "give unseen='fallback' and fallback=<successor> to route such views)"
            )
        return UNSEEN

    def _store(self, raw: Hashable) -> int:
        assert self.vocab is not None and self.agent is not None
        row = self.vocab.add(raw)
        capacity = self.agent.obs_nvec[0]
        if row >= capacity:
            grow_table(self.agent, max(2 * capacity, row + 1))
        return row

    def decode(self, obs: EncodedView) -> Any:
        """The stored view behind an encoded tabular view (the vector itself for an MLP)."""
        if self.vocab is None:
            return obs
        if obs is UNSEEN:
            return "<unseen>"
        return self.vocab.views[int(obs[0])]

    # --------------------------------------------------------------- routing
    def value(self, obs: EncodedView, allowed: Sequence[str] | None = None) -> float:
        """``v = max_k Q(obs, k)`` over ``allowed`` successors (eq. 4): what this agent sends back."""
        if obs is UNSEEN:
            return self._init_value()
        return self._learner().value(obs, self._columns(allowed))  # type: ignore[arg-type]

    def _init_value(self) -> float:
        return float(self.spec.init) if isinstance(self.spec, Tabular) else 0.0

    def choose(
        self,
        key: Key,
        obs: EncodedView,
        *,
        explore: bool,
        allowed: Sequence[str] | None = None,
        record: bool | None = None,
        chosen: str | None = None,
    ) -> str:
        """Pick a successor at ``obs`` and remember the decision under ``key``.

        ``explore``: explore (training) or take the greedy successor; ``allowed``: restrict the
        successors for this call; ``record``: remember the decision for :meth:`learn` (default
        :attr:`learning`); ``chosen``: take this successor instead of choosing (a choice made
        elsewhere, learned from as if the node had made it).
        """
        cols = self.check_choice(allowed, chosen)
        if obs is UNSEEN:
            if chosen is not None:
                return chosen
            if explore and self.agent is not None:  # training: explore over the initial values, as a new row would
                init = np.full(len(self.successors), self._init_value())
                a = self.agent
                return self.successors[choose(init, np.asarray(cols), a.exploration, a.decisions, a.rng)]
            return self._route_unseen(cols)
        agent = self._learner()
        if not (self.learning if record is None else record):
            if chosen is not None:
                return chosen
            agent.greedy_next = not explore
            try:
                return self.successors[agent._choose(obs, cols)]  # type: ignore[arg-type]
            finally:
                agent.greedy_next = False
        agent.greedy_next = not explore
        agent.forced_next = self._col[chosen] if chosen is not None else None
        try:
            k = agent.decide(obs, cols, key=key)  # type: ignore[arg-type]
        except RuntimeError as exc:
            raise TaskStateError(f"agent {self.name!r}: {exc}") from None
        finally:
            agent.greedy_next, agent.forced_next = False, None
        return self.successors[k]

    def _route_unseen(self, cols: list[int]) -> str:
        self.unseen_routed += 1
        if self.fallback is not None and self._col[self.fallback] in cols:
            return self.fallback
        if self.unseen_routed == 1:
            warnings.warn(
                f"agent {self.name!r} routed a view it never saw to {self.successors[cols[0]]!r} (its first "
                "allowed successor); give fallback=<successor> to choose where unseen views go",
                UnseenViewWarning,
                stacklevel=4,
            )
        return self.successors[cols[0]]

    def greedy(self, obs: EncodedView, allowed: Sequence[str] | None = None) -> str:
        """The greedy successor at ``obs`` (no exploration, no state change)."""
        cols = self._columns(allowed)
        if obs is UNSEEN:
            if self.fallback is not None and self._col[self.fallback] in cols:
                return self.fallback
            return self.successors[cols[0]]
        agent = self._learner()
        return self.successors[greedy(agent.q.values(obs), agent.columns(cols))]  # type: ignore[arg-type]

    def learn(self, key: Key, message: HandoffMessage) -> float:
        """Regress the decision ``key`` on ``R + gamma**tau * v`` (eq. 5); return the TD error."""
        try:
            return self._learner().receive(message, key=key)
        except RuntimeError as exc:
            raise TaskStateError(f"agent {self.name!r}: {exc}") from None

    def forget(self, key: Key) -> bool:
        """Drop the pending decision ``key`` (an abandoned task); True if there was one."""
        return self.agent is not None and self.agent.forget([key]) > 0

    def pending(self) -> int:
        """How many decisions wait for their successor's reply."""
        return 0 if self.agent is None else self.agent.pending_count()

    def pending_decisions(self) -> list[tuple[Key, EncodedView, str]]:
        """The decisions waiting for a reply as ``(key, view, successor name)`` (a service
        saves them beside :meth:`state_dict`, which holds the learner only)."""
        if self.agent is None:
            return []
        return [(k, obs, self.successors[col]) for k, obs, col in self.agent.pending_decisions()]

    def restore_pending(self, entries: Sequence[tuple[Key, EncodedView, str]]) -> None:
        """Re-install decisions saved with :meth:`pending_decisions` (after a restart)."""
        if entries:
            self._learner().restore_pending([(k, obs, self.column(succ)) for k, obs, succ in entries])

    # ----------------------------------------------------------- inspection
    def explain(self, obs: EncodedView) -> dict[str, float]:
        """``Q(obs, k)`` for every successor ``k``."""
        if obs is UNSEEN or self.agent is None:
            return dict.fromkeys(self.successors, self._init_value())
        q = self.agent.q.values(obs)  # type: ignore[arg-type]
        return {s: float(q[i]) for i, s in enumerate(self.successors)}

    def visits(self, obs: EncodedView) -> dict[str, int] | None:
        """How many replies each ``(obs, k)`` pair has learned from (tabular only; None for an MLP)."""
        if self.vocab is None or self.agent is None:
            return None
        if obs is UNSEEN:
            return dict.fromkeys(self.successors, 0)
        n = len(self.successors)
        counter = self.agent.visits
        row = int(obs[0])
        if counter.counts is not None:
            return {s: int(counter.counts[row * n + i]) for i, s in enumerate(self.successors)}
        return {s: int(counter.sparse.get((row, i), 0)) for i, s in enumerate(self.successors)}

    def views(self) -> list[EncodedView]:
        """Every stored view, encoded (tabular only; empty for an MLP)."""
        return [] if self.vocab is None else [(i,) for i in range(len(self.vocab))]

    # ---------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to rebuild this node: settings, shape metadata, vocabulary, learner."""
        return {
            "format": NODE_FORMAT,
            "name": self.name,
            "successors": list(self.successors),
            "learner": self.spec.as_json(),
            "gamma": self.gamma,
            "exploration": dataclasses.asdict(self.exploration),
            "seed": self.seed,
            "unseen": self.unseen,
            "fallback": self.fallback,
            "vocab": None if self.vocab is None else self.vocab.state(),
            "capacity": None if self.vocab is None or self.agent is None else int(self.agent.obs_nvec[0]),
            "dim": self.dim,
            "agent": None if self.agent is None else self.agent.state_dict(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], observe: Callable[[Any], Any] | None = None) -> AgentNode:
        """A node rebuilt from :meth:`state_dict` (``observe`` re-attached: code is not saved)."""
        _check_format(state)
        node = cls(
            state["name"], state["successors"], observe=observe, learner=learner_spec(state["learner"]),
            gamma=state["gamma"], exploration=Exploration(**state["exploration"]), seed=state["seed"],
            unseen=state["unseen"], fallback=state["fallback"],
        )
        node.load_state_dict(state)
        return node

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`; a clear error if it belongs to another shape of node."""
        _check_format(state)
        where = f"saved agent {state.get('name')!r}"
        if state["name"] != self.name:
            raise RouterError(f"{where} cannot be loaded into agent {self.name!r}")
        if list(state["successors"]) != list(self.successors):
            raise RouterError(f"{where} has successors {state['successors']}, this node has {list(self.successors)}")
        if state["learner"]["kind"] != self.kind:
            raise RouterError(f"{where} has a {state['learner']['kind']} learner, this node a {self.kind} one")
        if self.vocab is not None:
            self._load_tabular(state, where)
        else:
            self._load_mlp(state, where)

    def _load_tabular(self, state: dict[str, Any], where: str) -> None:
        assert self.vocab is not None and self.agent is not None
        capacity, views = int(state["capacity"]), state["vocab"]
        if capacity < len(views):
            raise RouterError(f"{where}: capacity {capacity} is smaller than its {len(views)} views (corrupt file)")
        table = state["agent"]["q"].get("table")
        if table is not None and tuple(table.shape) != (capacity, len(self.successors)):
            raise RouterError(
                f"{where}: Q table of shape {tuple(table.shape)}, expected {(capacity, len(self.successors))}"
            )
        self.vocab.load(views)
        if capacity != self.agent.obs_nvec[0]:
            fresh = self._build(None)
            grow_table(fresh, capacity)
            self.agent = fresh
        self.agent.load_state_dict(state["agent"])
        assert isinstance(self.agent.q, TabularEstimator)

    def _load_mlp(self, state: dict[str, Any], where: str) -> None:
        dim = state["dim"]
        if self.dim is not None and dim is not None and int(dim) != self.dim:
            raise RouterError(f"{where} reads views of length {dim}, this node {self.dim}")
        if dim is None:
            return
        self.dim = int(dim)
        if self.agent is None:
            self.agent = self._build(self.dim)
        try:
            self.agent.load_state_dict(state["agent"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise RouterError(f"{where}: its MLP does not fit this node's ({type(exc).__name__}: {exc})") from None


def _check_successors(name: str, successors: Sequence[str]) -> tuple[str, ...]:
    if isinstance(successors, str) or not isinstance(successors, Sequence):
        raise RouterError(f"agent {name!r}: successors must be a list of names, got {successors!r}")
    succ = tuple(successors)
    if not succ:
        raise RouterError(f"agent {name!r}: successors must not be empty (add END to let it end a task)")
    for s in succ:
        if s != END:
            check_agent_name(s)
    if len(set(succ)) != len(succ):
        raise RouterError(f"agent {name!r}: successors {list(succ)} name one agent twice")
    return succ


def _check_format(state: Any) -> None:
    if not isinstance(state, dict) or state.get("format") != NODE_FORMAT:
        raise RouterError(f"not a handoffq agent node state (format {NODE_FORMAT})")
