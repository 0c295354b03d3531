"""Exact analysis of the workflow on the simulated backend (a small finite model).

With the simulated backend, each question's behaviour is fixed by nine hidden Bernoulli
variables (:mod:`handoffq.llm.simulated`), so there are 512 hidden configurations, each with
a known probability, and given one the episode under a routing policy is deterministic.
The expected accuracy of any routing table is therefore a finite sum (:func:`evaluate`),
and the best routing policy over all deterministic tables on (agent, 4 bits) can be found
by an exhaustive search that only branches on pairs an episode actually reaches
(:func:`optimum`). The dynamics here mirror :class:`~handoffq.envs.llm_math.env.LLMMathEnv`
with :func:`~handoffq.llm.simulated.role_outcome`; a test checks both agree configuration
by configuration. (The simulated roles give one fixed wrong letter per question, so "same
letter" is "same correctness" here.)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from handoffq.envs.llm_math.roles import CANDIDATES, CHECKER, COMMISSIONER, EDITOR, THINKER
from handoffq.llm.simulated import HIDDEN_NAMES, SimParams

__all__ = [
    "HiddenTable",
    "Optimum",
    "Rollout",
    "config_indices",
    "evaluate",
    "hidden_table",
    "optimum",
    "rollout",
]

_NONE, _RIGHT, _WRONG = 0, 1, 2


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


def config_indices(hidden: np.ndarray) -> np.ndarray:
    """Row of :func:`hidden_table` for each configuration in ``hidden`` (``(n, 9)`` booleans).

    Rows follow ``itertools.product`` order: the first variable is the most significant bit.
    """
    h = np.asarray(hidden, dtype=np.int64)
    return h @ (1 << np.arange(h.shape[1] - 1, -1, -1))


@dataclass
class Rollout:
    """Per-configuration outcome of a routing table.

    ``correct``: the commissioner concluded on a right editor answer; ``calls``: LLM calls;
    ``handoffs``: invocations; ``undecided``: the first ``(agent, obs)`` met whose table
    entry is -1 (None if the table covered every pair reached); ``visited``: reached pairs.
    """

    correct: np.ndarray
    calls: np.ndarray
    handoffs: np.ndarray
    undecided: tuple[int, int] | None
    visited: set[tuple[int, int]]


def _obs(cur: np.ndarray, mod: np.ndarray, ver: np.ndarray) -> np.ndarray:
    return 8 * (cur > 0) + 4 * mod + 2 * (ver > 0) + (ver == 1)


def rollout(table: np.ndarray, hid: HiddenTable, max_handoffs: int = 5) -> Rollout:
    """Play every hidden configuration under ``table`` (``(4, 16)`` successor ids, -1 = open)."""
    n = hid.prob.shape[0]
    col = hid.col
    agent = np.full(n, COMMISSIONER)
    cur = np.zeros(n, dtype=np.int64)
    mod = np.zeros(n, dtype=bool)  # the "modified" bit
    ver = np.zeros(n, dtype=np.int64)
    fin = np.zeros(n, dtype=np.int64)
    rev_t = np.zeros(n, dtype=bool)  # the thinker already revised after an "incorrect"
    rev_e = np.zeros(n, dtype=bool)
    alive = np.ones(n, dtype=bool)
    correct = np.zeros(n, dtype=bool)
    calls = np.zeros(n, dtype=np.int64)
    handoffs = np.zeros(n, dtype=np.int64)
    visited: set[tuple[int, int]] = set()
    for _ in range(max_handoffs):
        if not alive.any():
            break
        obs = _obs(cur, mod, ver)
        succ = table[agent, obs]
        idx = np.flatnonzero(alive)
        for a, o in set(zip(agent[idx].tolist(), obs[idx].tolist(), strict=True)):
            visited.add((a, o))
        open_ = alive & (succ < 0)
        if open_.any():
            i = int(np.flatnonzero(open_)[0])
            return Rollout(correct, calls, handoffs, (int(agent[i]), int(obs[i])), visited)
        right = cur == _RIGHT
        # thinker
        m = alive & (agent == THINKER)
        if m.any():
            stand = (ver != 2) | rev_t
            new = np.where(
                cur == 0,
                col("think"),
                np.where(stand, right, np.where(right, col("keep_thinker"), col("fix_thinker"))),
            )
            rev_t = rev_t | (m & (ver == 2))
            val = np.where(new, _RIGHT, _WRONG)
            mod = mod | (m & (ver == 2))
            # a new statement clears the verdict, except an endorsement of a "correct" one
            ver = np.where(m & ~((ver == 1) & (val == cur)), 0, ver)
            cur = np.where(m, val, cur)
        # checker (always has an answer: only the thinker and the editor call it)
        m = alive & (agent == CHECKER) & (cur > 0)
        if m.any():
            passed = np.where(right, col("pass_right"), col("pass_wrong"))
            ver = np.where(m, np.where(passed, 1, 2), ver)
        # editor
        m = alive & (agent == EDITOR)
        if m.any():
            copy = (ver != 2) | rev_e
            new = np.where(
                cur == 0,
                col("direct"),
                np.where(
                    copy,
                    right & col("copy"),
                    np.where(right, col("keep_editor"), col("fix_editor")),
                ),
            )
            rev_e = rev_e | (m & (ver == 2))
            val = np.where(new, _RIGHT, _WRONG)
            ver = np.where(m, 0, ver)
            cur = np.where(m, val, cur)
            fin = np.where(m, val, fin)
            mod = mod | m
        calls = calls + (alive & (agent != COMMISSIONER))
        handoffs = handoffs + alive
        ends = alive & (agent == EDITOR) & (succ == COMMISSIONER)
        correct = correct | (ends & (fin == _RIGHT))
        alive = alive & ~ends
        agent = np.where(alive, succ, agent)
    return Rollout(correct, calls, handoffs, None, visited)


def evaluate(
    table: np.ndarray, hid: HiddenTable, max_handoffs: int = 5, call_cost: float = 0.0
) -> dict[str, float]:
    """Exact expected accuracy, calls, handoffs and return of a total routing table."""
    r = rollout(table, hid, max_handoffs)
    if r.undecided is not None:
        raise ValueError(f"routing table has no successor for (agent, obs) {r.undecided}")
    acc = float(hid.prob @ r.correct)
    calls = float(hid.prob @ r.calls)
    return {
        "accuracy": acc,
        "calls": calls,
        "handoffs": float(hid.prob @ r.handoffs),
        "return": acc - call_cost * calls,
    }


@dataclass
class Optimum:
    """The best routing table found by :func:`optimum` and its exact figures."""

    table: np.ndarray
    accuracy: float
    calls: float
    value: float
    visited: set[tuple[int, int]]
    policies_searched: int


def optimum(hid: HiddenTable, max_handoffs: int = 5, call_cost: float = 0.0) -> Optimum:
    """Best deterministic routing on (agent, bits) by exhaustive search over reached pairs.

    Depth-first: play every configuration under a partial table; at the first pair with no
    entry, branch over that agent's candidates. Unreached pairs never branch, so the search
    covers every distinct routing behaviour exactly once. Ties (within 1e-9) go to the policy
    with fewer expected LLM calls.
    """
    best: dict[str, object] = {"value": -np.inf, "table": None, "n": 0, "calls": np.inf}

    def search(table: np.ndarray) -> None:
        r = rollout(table, hid, max_handoffs)
        if r.undecided is None:
            best["n"] = int(best["n"]) + 1  # type: ignore[call-overload]
            acc = float(hid.prob @ r.correct)
            val = acc - call_cost * float(hid.prob @ r.calls)
            calls = float(hid.prob @ r.calls)
            better = val > float(best["value"]) + 1e-9  # type: ignore[arg-type]
            tie = abs(val - float(best["value"])) <= 1e-9  # type: ignore[arg-type]
            if better or (tie and calls < float(best["calls"]) - 1e-9):  # type: ignore[arg-type]
                best.update(
                    value=val,
                    table=table.copy(),
                    acc=acc,
                    calls=float(hid.prob @ r.calls),
                    visited=r.visited,
                )
            return
        a, o = r.undecided
        for k in CANDIDATES[a]:
            table[a, o] = k
            search(table)
        table[a, o] = -1

    search(np.full((4, 16), -1, dtype=np.int64))
    table = best["table"]
    assert isinstance(table, np.ndarray)
    from handoffq.envs.llm_math.workflows import DEFAULT_SUCCESSOR

    full = np.where(table < 0, np.asarray(DEFAULT_SUCCESSOR)[:, None], table)
    b: dict[str, Any] = best
    return Optimum(full, float(b["acc"]), float(b["calls"]), float(b["value"]), b["visited"], int(b["n"]))
