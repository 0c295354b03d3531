"""Baselines of the LLM-math experiment at the same LLM-call budget (simulated backend).

* :func:`ucb1_workflows` - UCB1 over the five predefined workflows (a bandit that learns
  *which workflow*, with the same training calls as IC-Q); its recommendation is the arm with
  the best empirical mean.
* :func:`cot_sc_column` - CoT with self-consistency: ``k`` sampled thinkers, plurality vote,
  the editor copies (``k + 1`` calls), on the per-sample model
  :class:`~handoffq.llm.simulated.SCModel`; ``k`` is matched to IC-Q's calls per question.
* Direct is the workflow ``direct``; the clairvoyant centralised oracle is
  :func:`handoffq.envs.llm_math.exact.clairvoyant` (an upper bound no router can reach).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from handoffq.envs.llm_math.exact import HiddenTable, rollout
from handoffq.envs.llm_math.workflows import WORKFLOWS, workflow_table

__all__ = ["UCBResult", "matched_sc_k", "ucb1_workflows", "workflow_outcomes"]


def workflow_outcomes(hid: HiddenTable, cap: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, per-configuration correctness ``(5, 512)`` and calls ``(5, 512)`` of the workflows."""
    names = list(WORKFLOWS)
    rs = [rollout(workflow_table(w), hid, cap) for w in names]
    return names, np.array([r.correct for r in rs]), np.array([r.calls for r in rs])


@dataclass
class UCBResult:
    """UCB1's recommendation after the budget, and its learning curve.

    ``curve``: ``(calls so far, index of the recommended arm)`` at every check.
    """

    names: list[str]
    recommended: int
    pulls: np.ndarray
    means: np.ndarray
    calls: int
    curve: list[tuple[int, int]] = field(default_factory=list)


def ucb1_workflows(
    hid: HiddenTable,
    pool: np.ndarray,
    calls_budget: int,
    cap: int,
    seed: int,
    check_every: int | None = None,
) -> UCBResult:
    """UCB1 (``mean + sqrt(2 ln n / n_a)``) over the five workflows on the question pool.

    ``pool``: the hidden-configuration row of every training question; each pull plays the
    chosen workflow on a uniformly drawn pool question (its outcome is the configuration's
    rollout, as in the text environment). Stops when ``calls_budget`` LLM calls are spent.
    """
    names, corr, calls = workflow_outcomes(hid, cap)
    rng = np.random.default_rng(seed)
    k = len(names)
    n = np.zeros(k)
    s = np.zeros(k)
    spent = 0
    curve: list[tuple[int, int]] = []
    next_check = check_every or math.inf
    e = 0
    draws = rng.integers(len(pool), size=1 << 16)
    di = 0
    while spent < calls_budget:
        arm = e if e < k else int(np.argmax(s / n + np.sqrt(2.0 * math.log(e) / n)))
        if di == len(draws):
            draws = rng.integers(len(pool), size=1 << 16)
            di = 0
        c = pool[draws[di]]
        di += 1
        n[arm] += 1
        s[arm] += corr[arm, c]
        spent += int(calls[arm, c])
        e += 1
        if check_every and spent >= next_check:
            curve.append((spent, int(np.argmax(s / np.maximum(n, 1)))))
            next_check += check_every
    rec = int(np.argmax(s / np.maximum(n, 1)))
    return UCBResult(names, rec, n, s / np.maximum(n, 1), spent, curve)


def matched_sc_k(calls_per_question: float) -> int:
    """Samples ``k`` of CoT-SC whose ``k + 1`` calls come closest to ``calls_per_question``."""
    return max(1, round(calls_per_question) - 1)
