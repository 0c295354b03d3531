"""Exact analysis of the workflow on the simulated backend (a small finite model).

With the simulated backend each question's behaviour is fixed by nine hidden Bernoulli
variables (:mod:`handoffq.llm.simulated`): 512 hidden configurations with known
probabilities, and given one the episode under a routing is deterministic
(:mod:`~handoffq.envs.llm_math.dynamics`). So every figure below is a finite sum:

* :func:`evaluate` - expected accuracy / calls of a routing table on one interface;
* :func:`optimum` - the best *memoryless* routing of an interface class (a table
  ``(agent, observation) -> successor``), by branch and bound (exact; see below);
* :func:`perfect_recall_optimum` - the best router that sees the whole history of the four
  bits (history-dependent; an upper bound of every interface built from the four bits and
  the budget, which it can count);
* :func:`clairvoyant` - a centralised oracle that knows each question's hidden
  configuration (same cap): an upper bound no real router can reach;
* :func:`brute_force_optimum` - the old exhaustive search over reached pairs (tests only).

**Why the branch and bound is exact.** Under a fixed routing, the only stochastic
observation is the checker's verdict (every other bit follows from the route), so the
observation histories form a small tree (hundreds of nodes at cap 8). Dynamic programming
over that tree gives the best *history-dependent* routing (perfect recall), which upper
bounds every memoryless table. A memoryless table is a history-dependent routing that
chooses the same successor at every history with the same ``(agent, observation)``. If the
tree optimum, on the histories it reaches, never chooses two successors for one
``(agent, observation)``, it *is* a table and optimal for the class; otherwise we branch on a
conflicting pair (fix each successor there in turn, which constrains every history with that
observation) and re-solve; a branch whose tree optimum is not above the best table found is
pruned. Every table is consistent with exactly one branch at each split, so the search is
exhaustive and the result exact. With the budget interface the remaining budget separates
histories of different lengths, so conflicts are rare and the first solve usually certifies
optimality; with the paper's 4 bits many histories share an observation and the search
branches more (still well under a second). A test compares it with the exhaustive search.

Ties (within 1e-9) go to fewer expected LLM calls.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handoffq.envs.llm_math.dynamics import (
    Latent,
    advance,
    bits_of,
    initial,
    n_obs,
    obs_index,
)
from handoffq.envs.llm_math.roles import CANDIDATES
from handoffq.llm.simulated import HIDDEN_NAMES, SimParams

__all__ = [
    "HiddenTable",
    "Optimum",
    "Rollout",
    "brute_force_optimum",
    "clairvoyant",
    "config_indices",
    "default_table",
    "evaluate",
    "hidden_table",
    "optimum",
    "perfect_recall_optimum",
]

_TOL = 1e-9


@dataclass(frozen=True)
class HiddenTable:
    """Every hidden configuration (``(512, 9)`` booleans) and its probability."""

    values: np.ndarray
    prob: np.ndarray

    def col(self, name: str) -> np.ndarray:
        """Column of hidden variable ``name``."""
        return self.values[:, HIDDEN_NAMES.index(name)]


def hidden_table(params: SimParams) -> HiddenTable:
    """All ``2**9`` hidden configurations with their probabilities under ``params``."""
    vals = np.array(list(itertools.product([False, True], repeat=len(HIDDEN_NAMES))))
    p = params.as_array()
    prob = np.prod(np.where(vals, p[None, :], 1.0 - p[None, :]), axis=1)
    return HiddenTable(vals, prob)


def empirical_table(hid: HiddenTable, idx: np.ndarray) -> HiddenTable:
    """The same configurations weighted by their frequency among ``idx`` (a question pool)."""
    counts = np.bincount(np.asarray(idx, dtype=np.int64), minlength=len(hid.prob))
    return HiddenTable(hid.values, counts / max(counts.sum(), 1))


def config_indices(hidden: np.ndarray) -> np.ndarray:
    """Row of :func:`hidden_table` for each configuration in ``hidden`` (``(n, 9)`` booleans).

    Rows follow ``itertools.product`` order: the first variable is the most significant bit.
    """
    h = np.asarray(hidden, dtype=np.int64)
    return h @ (1 << np.arange(h.shape[1] - 1, -1, -1))


def default_table(interface: str, cap: int) -> np.ndarray:
    """A total table that ends every episode (C->T, T->E, K->E, E->C everywhere)."""
    from handoffq.envs.llm_math.workflows import DEFAULT_SUCCESSOR

    return np.tile(
        np.asarray(DEFAULT_SUCCESSOR, dtype=np.int64)[:, None], (1, n_obs(interface, cap))
    )


@dataclass
class Rollout:
    """Per-configuration outcome of a routing table.

    ``correct``: the commissioner concluded on a right editor answer; ``calls``: LLM calls;
    ``handoffs``: invocations; ``undecided``: the first ``(agent, obs)`` met whose table
    entry is -1 (None if the table covered every pair reached); ``visited``: reached pairs;
    ``truncated``: closed unanswered at the cap.
    """

    correct: np.ndarray
    calls: np.ndarray
    handoffs: np.ndarray
    undecided: tuple[int, int] | None
    visited: set[tuple[int, int]]
    truncated: np.ndarray | None = None


def rollout(
    table: np.ndarray, hid: HiddenTable, max_handoffs: int = 8, interface: str = "bits4"
) -> Rollout:
    """Play every hidden configuration under ``table`` (``(4, n_obs)``; -1 = open entry)."""
    n = hid.prob.shape[0]
    st = initial(n)
    visited: set[tuple[int, int]] = set()
    for _ in range(max_handoffs):
        if not st.alive.any():
            break
        obs = obs_index(st, interface, max_handoffs)
        succ = table[st.agent, obs]
        idx = np.flatnonzero(st.alive)
        for a, o in set(zip(st.agent[idx].tolist(), obs[idx].tolist(), strict=True)):
            visited.add((a, o))
        open_ = st.alive & (succ < 0)
        if open_.any():
            i = int(np.flatnonzero(open_)[0])
            return Rollout(
                st.correct, st.calls, st.t, (int(st.agent[i]), int(obs[i])), visited, st.truncated
            )
        advance(st, succ, hid.values, max_handoffs)
    return Rollout(st.correct, st.calls, st.t, None, visited, st.truncated)


def evaluate(
    table: np.ndarray,
    hid: HiddenTable,
    max_handoffs: int = 8,
    call_cost: float = 0.0,
    interface: str = "bits4",
) -> dict[str, float]:
    """Exact expected accuracy, calls, handoffs, truncation rate and return of a table."""
    r = rollout(table, hid, max_handoffs, interface)
    if r.undecided is not None:
        raise ValueError(f"routing table has no successor for (agent, obs) {r.undecided}")
    acc = float(hid.prob @ r.correct)
    calls = float(hid.prob @ r.calls)
    return {
        "accuracy": acc,
        "calls": calls,
        "handoffs": float(hid.prob @ r.handoffs),
        "truncated": float(hid.prob @ r.truncated) if r.truncated is not None else 0.0,
        "return": acc - call_cost * calls,
    }


# ---------------------------------------------------------------- history-tree dynamic program
@dataclass
class _Tree:
    """Solver of the observation-history tree under constraints ``fixed`` (-1 = free)."""

    hid: HiddenTable
    cap: int
    interface: str
    call_cost: float
    fixed: np.ndarray
    memo: dict = field(default_factory=dict)
    nodes: int = 0

    def key(self, st: Latent, ids: np.ndarray) -> tuple:
        return (
            int(st.agent[0]),
            int(st.t[0]),
            int(bits_of(st)[0]),
            bool(st.rev_t[0]),
            bool(st.rev_e[0]),
            ids.tobytes(),
            st.cur.tobytes(),
            st.fin.tobytes(),
        )

    def children(self, st: Latent, ids: np.ndarray, k: int) -> tuple[float, float, list]:
        """Immediate (accuracy mass, calls mass) of successor ``k`` and the child nodes."""
        s2 = st.copy()
        advance(s2, np.full(len(ids), k), self.hid.values[ids], self.cap)
        p = self.hid.prob[ids]
        acc = float(p @ s2.correct)
        calls = float(p @ (s2.calls - st.calls))
        kids = []
        alive = np.flatnonzero(s2.alive)
        if len(alive):
            o = bits_of(s2)[alive]
            for ob in np.unique(o):
                sel = alive[o == ob]
                kids.append((s2.take(sel), ids[sel]))
        return acc, calls, kids

    def value(self, st: Latent, ids: np.ndarray) -> tuple[float, float, int]:
        """(best value, its calls, best successor) of the node (memoised)."""
        key = self.key(st, ids)
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        self.nodes += 1
        a = int(st.agent[0])
        o = int(obs_index(st.take(np.array([0])), self.interface, self.cap)[0])
        allowed = CANDIDATES[a] if self.fixed[a, o] < 0 else (int(self.fixed[a, o]),)
        best = (-np.inf, np.inf, -1)
        for k in allowed:
            acc, calls, kids = self.children(st, ids, k)
            for cst, cids in kids:
                v, c, _ = self.value(cst, cids)
                acc += v + self.call_cost * c  # v is acc - cost*calls; keep acc and calls apart
                calls += c
            val = acc - self.call_cost * calls
            if val > best[0] + _TOL or (abs(val - best[0]) <= _TOL and calls < best[1] - _TOL):
                best = (val, calls, k)
        self.memo[key] = best
        return best

    def policy_pairs(self, st: Latent, ids: np.ndarray, out: dict) -> None:
        """Record ``(agent, obs) -> {successors}`` chosen on the histories the optimum reaches."""
        _, _, k = self.value(st, ids)
        a = int(st.agent[0])
        o = int(obs_index(st.take(np.array([0])), self.interface, self.cap)[0])
        out.setdefault((a, o), set()).add(k)
        for cst, cids in self.children(st, ids, k)[2]:
            self.policy_pairs(cst, cids, out)


@dataclass
class Optimum:
    """The best routing table of a class and its exact figures.

    ``bound``: the perfect-recall (history-dependent) optimum, an upper bound of the class;
    ``branches``: tree solves the branch and bound needed (1: certified at the first solve).
    """

    table: np.ndarray
    accuracy: float
    calls: float
    value: float
    visited: set[tuple[int, int]]
    policies_searched: int
    interface: str = "bits4"
    bound: float = float("nan")
    branches: int = 0


def perfect_recall_optimum(
    hid: HiddenTable, max_handoffs: int = 8, call_cost: float = 0.0
) -> dict[str, float]:
    """Best history-dependent routing on the four bits (value, accuracy, calls)."""
    n = len(hid.prob)
    fixed = np.full((4, n_obs("budget", max_handoffs)), -1, dtype=np.int64)
    tree = _Tree(hid, max_handoffs, "budget", call_cost, fixed)
    v, c, _ = tree.value(initial(n), np.arange(n))
    return {"value": v, "accuracy": v + call_cost * c, "calls": c, "nodes": tree.nodes}


def optimum(
    hid: HiddenTable,
    max_handoffs: int = 8,
    call_cost: float = 0.0,
    interface: str = "bits4",
    max_branches: int = 200_000,
) -> Optimum:
    """Best memoryless routing table of ``interface`` (exact branch and bound; module doc)."""
    n = len(hid.prob)
    n_o = n_obs(interface, max_handoffs)
    best: dict[str, Any] = {"value": -np.inf, "calls": np.inf, "table": None}
    branches = 0
    root_bound = None
    stack = [np.full((4, n_o), -1, dtype=np.int64)]
    while stack:
        fixed = stack.pop()
        branches += 1
        if branches > max_branches:
            raise RuntimeError(f"optimum: more than {max_branches} branches")
        tree = _Tree(hid, max_handoffs, interface, call_cost, fixed)
        v, c, _ = tree.value(initial(n), np.arange(n))
        if root_bound is None:
            root_bound = v
        if v < best["value"] - _TOL or (abs(v - best["value"]) <= _TOL and c >= best["calls"] - _TOL):
            continue  # pruned: cannot beat (or tie with fewer calls) the incumbent
        pairs: dict = {}
        tree.policy_pairs(initial(n), np.arange(n), pairs)
        conflict = next((p for p, ks in pairs.items() if len(ks) > 1), None)
        if conflict is None:
            table = fixed.copy()
            for (a, o), ks in pairs.items():
                table[a, o] = next(iter(ks))
            best.update(value=v, calls=c, table=table)
            continue
        a, o = conflict
        for k in CANDIDATES[a]:
            child = fixed.copy()
            child[a, o] = k
            stack.append(child)
    table = best["table"]
    assert table is not None
    full = np.where(table < 0, default_table(interface, max_handoffs), table)
    ev = evaluate(full, hid, max_handoffs, call_cost, interface)
    if abs(ev["return"] - best["value"]) > 1e-7:  # the table must realise the tree value
        raise AssertionError(f"optimum: table {ev['return']} != tree {best['value']}")
    r = rollout(full, hid, max_handoffs, interface)
    return Optimum(
        full,
        ev["accuracy"],
        ev["calls"],
        ev["return"],
        r.visited,
        branches,
        interface,
        float(root_bound) if root_bound is not None else float("nan"),
        branches,
    )


def brute_force_optimum(
    hid: HiddenTable, max_handoffs: int = 8, call_cost: float = 0.0, interface: str = "bits4"
) -> Optimum:
    """Exhaustive depth-first search over reached pairs (the old method; small caps only)."""
    best: dict[str, Any] = {"value": -np.inf, "table": None, "n": 0, "calls": np.inf}

    def search(table: np.ndarray) -> None:
        r = rollout(table, hid, max_handoffs, interface)
        if r.undecided is None:
            best["n"] += 1
            acc = float(hid.prob @ r.correct)
            calls = float(hid.prob @ r.calls)
            val = acc - call_cost * calls
            better = val > best["value"] + _TOL
            tie = abs(val - best["value"]) <= _TOL
            if better or (tie and calls < best["calls"] - _TOL):
                best.update(value=val, table=table.copy(), acc=acc, calls=calls, visited=r.visited)
            return
        a, o = r.undecided
        for k in CANDIDATES[a]:
            table[a, o] = k
            search(table)
        table[a, o] = -1

    search(np.full((4, n_obs(interface, max_handoffs)), -1, dtype=np.int64))
    full = np.where(best["table"] < 0, default_table(interface, max_handoffs), best["table"])
    return Optimum(
        full, best["acc"], best["calls"], best["value"], best["visited"], best["n"], interface
    )


# ------------------------------------------------------------------------ clairvoyant oracle
def clairvoyant(hid: HiddenTable, max_handoffs: int = 8) -> dict[str, Any]:
    """A centralised oracle that knows each question's hidden configuration (same cap).

    For every configuration, the best sequence of successors (searched exhaustively over
    all routes of at most ``max_handoffs`` invocations); returns the expected accuracy and
    the per-configuration best outcome. An upper bound: no router sees the hidden variables.
    """
    n = len(hid.prob)

    def best(st: Latent, ids: np.ndarray) -> np.ndarray:
        # per-configuration max over routes from this (shared-route) state
        out = np.zeros(len(ids), dtype=bool)
        a = int(st.agent[0])
        for k in CANDIDATES[a]:
            s2 = st.copy()
            advance(s2, np.full(len(ids), k), hid.values[ids], max_handoffs)
            got = s2.correct.copy()
            alive = np.flatnonzero(s2.alive & ~got)
            if len(alive):
                # the rest of the route is chosen per configuration: recurse on all alive
                sub = best(s2.take(alive), ids[alive])
                got[alive] |= sub
            out |= got
        return out

    right = best(initial(n), np.arange(n))
    return {"accuracy": float(hid.prob @ right), "right": right}
