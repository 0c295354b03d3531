"""The simulated workflow's latent dynamics as pure, vectorised functions.

With the simulated backend (:mod:`handoffq.llm.simulated`) a question's behaviour is fixed by
its nine hidden Bernoulli variables, and an episode is a deterministic function of them and of
the successors chosen. This module holds that function once, vectorised over many episodes,
so that the exact evaluator (:mod:`~handoffq.envs.llm_math.exact`), the batched training
environment (:mod:`~handoffq.envs.llm_math.batched`) and the oracle baselines share one
implementation; a test checks it against :class:`~handoffq.envs.llm_math.env.LLMMathEnv`
(which goes through prompts, backend text and the extractor) configuration by configuration.

Latent state of one episode (arrays, one entry per episode):

* ``agent`` - the active role; ``t`` - invocations completed so far;
* ``cur`` - the current answer (0 none, 1 right, 2 wrong); ``fin`` - the editor's final answer;
* ``mod`` - the AIS "modified" bit; ``ver`` - the checker's verdict on ``cur`` (0 none,
  1 correct, 2 incorrect);
* ``rev_t`` / ``rev_e`` - the thinker / editor already revised after an "incorrect";
* ``alive``, ``correct``, ``truncated``, ``calls``.

Observation maps (the *interfaces*, :func:`obs_index`):

* ``"bits4"``  - the paper's four bits ``(given, modified, checked, correct)``: 16 values;
* ``"budget"`` - the four bits and the remaining invocation budget ``cap - t`` (1..cap):
  ``16 * cap`` values; index ``bits * cap + (cap - t - 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from handoffq.envs.llm_math.roles import CHECKER, COMMISSIONER, EDITOR, THINKER
from handoffq.llm.simulated import HIDDEN_NAMES

__all__ = [
    "INTERFACES",
    "NONE",
    "RIGHT",
    "WRONG",
    "H",
    "Latent",
    "advance",
    "bits_of",
    "initial",
    "n_obs",
    "obs_index",
    "obs_nvec",
]

INTERFACES = ("bits4", "budget")
NONE, RIGHT, WRONG = 0, 1, 2

# column of each hidden variable (the order of handoffq.llm.simulated.HIDDEN_NAMES)
H = {n: i for i, n in enumerate(HIDDEN_NAMES)}


@dataclass
class Latent:
    """Latent states of ``n`` episodes (see the module docstring); mutated by :func:`advance`."""

    agent: np.ndarray
    t: np.ndarray
    cur: np.ndarray
    fin: np.ndarray
    mod: np.ndarray
    ver: np.ndarray
    rev_t: np.ndarray
    rev_e: np.ndarray
    alive: np.ndarray
    correct: np.ndarray
    truncated: np.ndarray
    calls: np.ndarray
    extra: dict = field(default_factory=dict)

    def copy(self) -> Latent:
        """A deep copy."""
        out = Latent(*(getattr(self, f).copy() for f in _FIELDS))
        out.extra = dict(self.extra)
        return out

    def take(self, idx: np.ndarray) -> Latent:
        """The episodes ``idx`` (a copy)."""
        return Latent(*(getattr(self, f)[idx].copy() for f in _FIELDS))

    def put(self, idx: np.ndarray, other: Latent) -> None:
        """Write ``other`` into rows ``idx``."""
        for f in _FIELDS:
            getattr(self, f)[idx] = getattr(other, f)


_FIELDS = (
    "agent",
    "t",
    "cur",
    "fin",
    "mod",
    "ver",
    "rev_t",
    "rev_e",
    "alive",
    "correct",
    "truncated",
    "calls",
)


def initial(n: int) -> Latent:
    """``n`` fresh episodes: the commissioner is active, nothing said yet."""
    z = np.zeros(n, dtype=np.int64)
    f = np.zeros(n, dtype=bool)
    return Latent(
        agent=np.full(n, COMMISSIONER, dtype=np.int64),
        t=z.copy(),
        cur=z.copy(),
        fin=z.copy(),
        mod=f.copy(),
        ver=z.copy(),
        rev_t=f.copy(),
        rev_e=f.copy(),
        alive=np.ones(n, dtype=bool),
        correct=f.copy(),
        truncated=f.copy(),
        calls=z.copy(),
    )


def bits_of(st: Latent) -> np.ndarray:
    """Flat index ``8 g + 4 m + 2 c + j`` of the four AIS bits."""
    return 8 * (st.cur > 0) + 4 * st.mod + 2 * (st.ver > 0) + (st.ver == 1)


def _has_budget(interface: str) -> bool:
    """Whether ``interface`` carries the remaining budget (``"budget"``) or not (``"bits4"``)."""
    if interface not in INTERFACES:
        raise ValueError(f"unknown interface {interface!r} (known: {', '.join(INTERFACES)})")
    return interface == "budget"


def n_obs(interface: str, cap: int) -> int:
    """Number of observation values of ``interface`` under invocation cap ``cap``."""
    return 16 * int(cap) if _has_budget(interface) else 16


def obs_nvec(interface: str, cap: int) -> tuple[int, ...]:
    """MultiDiscrete sizes of the observation tuple of ``interface``."""
    return (2, 2, 2, 2, int(cap)) if _has_budget(interface) else (2, 2, 2, 2)


def obs_index(st: Latent, interface: str, cap: int) -> np.ndarray:
    """Flat observation index of each episode under ``interface`` (see module docstring).

    For ``"budget"`` the last component is ``cap - t - 1`` in ``0..cap-1`` (the number of
    invocations left *after* the current one, i.e. "remaining budget - 1").
    """
    budget = _has_budget(interface)
    b = bits_of(st)
    return b * cap + np.clip(cap - st.t - 1, 0, cap - 1) if budget else b


def _stated_right(
    st: Latent, revised: np.ndarray, fresh: np.ndarray, standing: np.ndarray, keep: np.ndarray, fix: np.ndarray
) -> np.ndarray:
    """Whether the answer a thinker or editor states is right (the rule they share).

    ``fresh`` on a fresh question; ``standing`` where it stands by (or copies) the current
    answer (unchecked, judged correct, or the role ``revised`` already); otherwise, told
    "incorrect", ``keep`` for a right current answer and ``fix`` for a wrong one.
    """
    right = st.cur == RIGHT
    stands = (st.ver != 2) | revised
    return np.where(st.cur == NONE, fresh, np.where(stands, standing, np.where(right, keep, fix)))


def advance(st: Latent, succ: np.ndarray, hid: np.ndarray, cap: int) -> np.ndarray:
    """Play the active role of every alive episode and hand over to ``succ`` (in place).

    ``hid``: ``(n, 9)`` booleans, each episode's hidden configuration. ``succ``: chosen
    successors (ignored for dead episodes). Returns the boolean mask of episodes that
    *ended* at this invocation (concluded by the commissioner, or closed unanswered at
    the cap). Reward of an ending episode: ``st.correct``.

    Role rules (:func:`handoffq.llm.simulated.role_outcome`): a fresh thinker derives its own
    answer (``think``); shown an answer that is unchecked or judged correct it endorses it
    (anchoring); told "incorrect" it revises once (``keep_thinker`` / ``fix_thinker``) and
    afterwards stands by its answer. The editor answers directly on a fresh question
    (``direct``), copies a handed answer (``copy``: a right answer stays right) unless it was
    judged incorrect, then revises once (``keep_editor`` / ``fix_editor``). The checker
    passes a right answer with ``pass_right`` and a wrong one with ``pass_wrong``.
    """
    alive = st.alive
    a = st.agent
    right = st.cur == RIGHT
    col = lambda n: hid[:, H[n]]  # noqa: E731
    # thinker
    m = alive & (a == THINKER)
    if m.any():
        new = _stated_right(st, st.rev_t, col("think"), right, col("keep_thinker"), col("fix_thinker"))
        revising = m & (st.ver == 2) & ~st.rev_t
        val = np.where(new, RIGHT, WRONG)
        # "modified": the answer was restated in reply to an "incorrect" verdict
        st.mod = st.mod | (m & (st.ver == 2))
        st.rev_t = st.rev_t | revising | (m & (st.ver == 2))
        # a new statement clears the verdict, except an endorsement of a "correct" one
        keep_ver = (st.ver == 1) & (val == st.cur)
        st.ver = np.where(m & ~keep_ver, 0, st.ver)
        st.cur = np.where(m, val, st.cur)
    # checker (only called on an existing answer)
    m = alive & (a == CHECKER) & (st.cur > 0)
    if m.any():
        passed = np.where(right, col("pass_right"), col("pass_wrong"))
        st.ver = np.where(m, np.where(passed, 1, 2), st.ver)
    # editor
    m = alive & (a == EDITOR)
    if m.any():
        new = _stated_right(st, st.rev_e, col("direct"), right & col("copy"), col("keep_editor"), col("fix_editor"))
        st.rev_e = st.rev_e | (m & (st.ver == 2))
        val = np.where(new, RIGHT, WRONG)
        st.ver = np.where(m, 0, st.ver)
        st.cur = np.where(m, val, st.cur)
        st.fin = np.where(m, val, st.fin)
        st.mod = st.mod | m
    st.calls = st.calls + (alive & (a != COMMISSIONER))
    st.t = st.t + alive
    concl = alive & (a == EDITOR) & (succ == COMMISSIONER)
    st.correct = st.correct | (concl & (st.fin == RIGHT))
    capped = alive & ~concl & (st.t >= cap)
    st.truncated = st.truncated | capped
    ended = concl | capped
    st.alive = alive & ~ended
    st.agent = np.where(st.alive, succ, a)
    return ended
