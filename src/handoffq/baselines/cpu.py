"""Baselines and reference teams of the CPU experiment (:mod:`handoffq.envs.cpu`).

* :class:`PipelineEnv` - the fixed pipeline S, LA, LB, ALU, SEL, W, then (LA, ... | halt): each
  unit's successor is fixed by the interface; only the writer chooses between halting and another
  cycle. Local actions are learned by the same agents as IC-Q.
* :class:`CentralEnv` - the view of a centralised learner: every role observes the whole
  machine state (memory, target, all four registers, the active unit) and picks among the same
  candidate list, so the six roles can share one successor network and one local-action network.
* :class:`RandomAgent` - uniform local actions and admissible successors.
* :class:`ScriptedAgent` - a hand-written team reading only each unit's own block (exact
  comparisons of values): it solves every task of every kind, which shows that the visible
  blocks suffice. Tests only; it is no learner.
* :func:`pipeline_feasible` - which tasks any fixed-pipeline team can solve at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from handoffq.envs.cpu import (
    ACC,
    ALU,
    ALU_ADD,
    ALU_RSUB,
    ALU_SUB,
    CANDIDATES,
    HALT,
    KINDS,
    LOADER_A,
    LOADER_B,
    N_CELLS,
    RA,
    RB,
    SELECTOR,
    STARTER,
    WD,
    WRITER,
    TaskSet,
    VecCPUEnv,
)

__all__ = [
    "CENTRAL_CANDIDATES",
    "PIPELINE_NEXT",
    "CentralEnv",
    "PipelineEnv",
    "RandomAgent",
    "ScriptedAgent",
    "pipeline_feasible",
    "scripted_team",
]

PIPELINE_NEXT: dict[int, int] = {
    STARTER: LOADER_A, LOADER_A: LOADER_B, LOADER_B: ALU, ALU: SELECTOR, SELECTOR: WRITER, WRITER: LOADER_A,
}
CENTRAL_CANDIDATES: tuple[int, ...] = (LOADER_A, LOADER_B, ALU, SELECTOR, WRITER, HALT)


class _View:
    """A :class:`~handoffq.envs.cpu.VecCPUEnv` seen through another interface (delegates)."""

    def __init__(self, env: VecCPUEnv) -> None:
        self.env = env
        self.n_envs, self.n_agents, self.gamma = env.n_envs, env.n_agents, env.gamma

    def __getattr__(self, name: str) -> Any:
        return getattr(self.env, name)


class PipelineEnv(_View):
    """The interface cut down to the pipeline successor (plus halt for the writer)."""

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Admissible candidates: the pipeline successor (and halt from the writer)."""
        m = self.env.mask(slots, agent)
        cand = np.asarray(CANDIDATES[agent])
        allowed = (cand == PIPELINE_NEXT[agent]) | ((cand == HALT) & (agent == WRITER))
        cut = m & allowed[None, :]
        empty = ~cut.any(axis=1)  # cannot happen on this machine; keep the interface's set if it did
        cut[empty] = m[empty]
        return cut


class CentralEnv(_View):
    """Every role observes the whole state; successors over :data:`CENTRAL_CANDIDATES`."""

    def observe(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """The whole machine state (privileged)."""
        return self.env.full_state(slots)

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Sizes of the whole-state dimensions."""
        return self.env.full_state_nvec()

    def candidates(self, agent: int) -> tuple[int, ...]:
        """The shared candidate list."""
        return CENTRAL_CANDIDATES

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Ready units except the role itself; halt only from the writer."""
        r = self.env.ready(slots)
        r[:, HALT] = agent == WRITER
        r[:, agent] = False
        return r[:, list(CENTRAL_CANDIDATES)]


class RandomAgent:
    """Uniform random local actions and admissible successors; learns nothing (greedy play only)."""

    wants_own_view = False

    def __init__(self, agent_id: int, n_local: int, candidates: tuple[int, ...], seed: int = 0) -> None:
        self.agent_id, self.n_local = agent_id, n_local
        self.candidates = np.asarray(candidates)
        self.rng = np.random.default_rng(seed)

    def decide_local_batch(self, slots: np.ndarray, obs: np.ndarray, greedy: bool = False) -> np.ndarray:
        """Uniform local actions."""
        return self.rng.integers(self.n_local, size=len(obs))

    def decide_batch(self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool = False) -> np.ndarray:
        """Uniform admissible successors."""
        return self.candidates[np.argmax(self.rng.random(mask.shape) * mask, axis=1)]

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Zero (it learns nothing)."""
        return np.zeros(len(obs))


def _split(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Memory, target and the (valid, value) registers of a datapath block."""
    m, t = obs[:, :N_CELLS], obs[:, N_CELLS:2 * N_CELLS]
    regs = {r: (obs[:, 2 * N_CELLS + 2 * k].astype(bool), obs[:, 2 * N_CELLS + 2 * k + 1])
            for k, r in enumerate((RA, RB, ACC, WD))}
    return m, t, regs


def _needs_alu(m: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Does a changed target value differ from both operands ``X, Y`` (so the ALU must make it)?"""
    need = np.zeros(len(m), bool)
    for c in range(N_CELLS):
        need |= (m[:, c] != t[:, c]) & ~np.any(m[:, :2] == t[:, c, None], axis=1)
    return need


class ScriptedAgent:
    """A hand-written unit reading only its own (datapath) block; a reference, not a learner."""

    wants_own_view = False

    def __init__(self, agent_id: int) -> None:
        self.agent_id = agent_id

    def _alu(self, m: np.ndarray, t: np.ndarray, regs: dict[int, Any]) -> np.ndarray:
        ra, rb = regs[RA][1], regs[RB][1]
        out = np.full(len(m), ALU_ADD)
        for c in range(N_CELLS):
            want = (m[:, c] != t[:, c]) & ~np.any(m[:, :2] == t[:, c, None], axis=1)
            out = np.where(want & (t[:, c] == ra - rb), ALU_SUB, out)
            out = np.where(want & (t[:, c] == rb - ra), ALU_RSUB, out)
            out = np.where(want & (t[:, c] == ra + rb), ALU_ADD, out)
        return out

    def _selector(self, m: np.ndarray, t: np.ndarray, regs: dict[int, Any]) -> np.ndarray:
        needed = m != t
        out = np.zeros(len(m), np.int64)
        found = np.zeros(len(m), bool)
        for src in (RA, RB, ACC):
            ok, val = regs[src]
            hit = ok & np.any(needed & (t == val[:, None]), axis=1) & ~found
            out[hit] = src
            found |= hit
        return out

    def decide_local_batch(self, slots: np.ndarray, obs: np.ndarray, greedy: bool = False) -> np.ndarray:
        """The unit's operation, read from its own block."""
        i, n = self.agent_id, len(obs)
        m, t, regs = _split(obs) if i != STARTER else (obs[:, :3], obs[:, 3:6], {})
        if i in (STARTER, LOADER_A):
            return np.zeros(n, np.int64)
        if i == LOADER_B:
            return np.ones(n, np.int64)
        if i == ALU:
            return self._alu(m, t, regs)
        if i == SELECTOR:
            return self._selector(m, t, regs)
        hit = (m != t) & (t == regs[WD][1][:, None])
        return np.where(hit.any(axis=1), np.argmax(hit, axis=1), N_CELLS - 1)

    def decide_batch(self, slots: np.ndarray, obs: np.ndarray, mask: np.ndarray, greedy: bool = False) -> np.ndarray:
        """The next unit, read from its own block."""
        i, n = self.agent_id, len(obs)
        m, t = obs[:, :N_CELLS], obs[:, N_CELLS:2 * N_CELLS]
        if i == LOADER_B:
            return np.where(_needs_alu(m, t), ALU, SELECTOR)
        if i == WRITER:
            return np.where(np.all(m == t, axis=1), HALT, SELECTOR)
        nxt = {STARTER: LOADER_A, LOADER_A: LOADER_B, ALU: SELECTOR, SELECTOR: WRITER}[i]
        return np.full(n, nxt)

    def value_batch(self, obs: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Zero (it learns nothing)."""
        return np.zeros(len(obs))


def scripted_team() -> list[ScriptedAgent]:
    """The six scripted units."""
    return [ScriptedAgent(i) for i in range(6)]


def _reach(a: np.ndarray, b: np.ndarray, v: int) -> np.ndarray:
    """Values one pipeline cycle can route into ``WD`` from a memory holding ``a`` and ``b``
    (loaded as they are, or combined by the ALU: sums, differences, doubles, zero; mod ``v``)."""
    return np.stack([a, b, (a + b) % v, (a - b) % v, (b - a) % v, (2 * a) % v, (2 * b) % v, 0 * a], 1)


def pipeline_feasible(tasks: TaskSet, value_range: int = 100) -> np.ndarray:
    """Whether the fixed pipeline can reach each task's target within two cycles (the default
    cycle budget of 12 activations fits two).

    Every kind but SWAP fits one cycle. For SWAP ``(X, Y, Z) -> (Y, X, Z)`` the first write
    overwrites ``X`` or ``Y``, and the second cycle must rebuild the other from what is left:
    possible only when ``X`` is in reach of ``(Y, Z)`` or ``Y`` in reach of ``(X, Z)``
    (:func:`_reach`; checked against an exhaustive search by a test).
    """
    swap = tasks.kind == KINDS.index("SWAP")
    x, y, z = tasks.memory[:, 0], tasks.memory[:, 1], tasks.memory[:, 2]
    ok = np.any(_reach(y, z, value_range) == x[:, None], axis=1) | np.any(_reach(x, z, value_range) == y[:, None],
                                                                              axis=1)
    return ~swap | ok
