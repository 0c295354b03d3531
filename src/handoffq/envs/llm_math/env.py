"""The multi-LLM math workflow as a :class:`~handoffq.core.env.HandoffEnv`.

The interface state is the conversation; each agent observes the four AIS bits
(:mod:`handoffq.envs.llm_math.ais`) and, under the default ``interface="budget"``, the
remaining invocation budget (``max_handoffs - invocations so far - 1``: how many more
invocations may follow this one), so that the cap is visible; ``interface="bits4"`` is the
paper's four bits alone. One invocation = one turn of the active role: the
commissioner's opening (templated), or one LLM call of the thinker, checker or editor. When
the editor hands to the commissioner, the commissioner concludes in the same step (duration
2) and the episode ends with reward 1 if the editor's final answer is the gold option, else
0, minus ``call_cost`` per LLM call. After ``max_handoffs`` invocations without a
conclusion the commissioner closes the discussion unanswered: the episode *terminates*
with reward 0 (``EpisodeLog.truncated`` records it), so a learner is taught that runaway
loops score nothing instead of bootstrapping through the cut. ``gamma`` is 1: the
objective is accuracy.

The workflow code only talks to an :class:`~handoffq.llm.base.LLMBackend`; it passes the
request's ``meta`` (role, question, answer state) which real backends ignore and the
simulated backend uses. Questions are drawn uniformly from ``questions`` on ``reset``
(or set with :meth:`LLMMathEnv.reset_to`). The sample index of a request is the number of
earlier episodes on the same question modulo ``samples_per_prompt``: with the default 1,
a repeated prompt is one cached request (as for a temperature-0 model).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from handoffq.core.env import EnvError, LocalStep, SeededRng, Transition, check_successor
from handoffq.envs.llm_math.ais import (
    OBS_NVEC,
    AnswerState,
    ExtractStats,
    apply_output,
    bits,
    bits_index,
)
from handoffq.envs.llm_math.data import Question
from handoffq.envs.llm_math.dynamics import INTERFACES
from handoffq.envs.llm_math.prompts import build_messages, conclusion, opening
from handoffq.envs.llm_math.roles import CANDIDATES, COMMISSIONER, EDITOR, ROLE_NAMES
from handoffq.llm.base import LLMBackend

__all__ = ["EpisodeLog", "LLMMathEnv", "evaluate_table", "greedy_table", "run_table_episode"]


@dataclass
class EpisodeLog:
    """What one episode did: the path of agents, its outcome and its cost."""

    qid: str
    path: list[int] = field(default_factory=list)
    visited: list[tuple[int, int]] = field(default_factory=list)
    correct: bool = False
    truncated: bool = False
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    final: str | None = None


class LLMMathEnv(SeededRng):
    """Four role agents solving multiple-choice questions through an LLM backend.

    Args:
        backend: any :class:`~handoffq.llm.base.LLMBackend`.
        questions: the question pool (a split).
        max_handoffs: invocation cap per episode (default 8; reaching it ends the task
            unanswered).
        interface: ``"budget"`` (four bits + remaining budget, default) or ``"bits4"``.
        call_cost: cost per LLM call subtracted from the reward (default 0).
        gen_params: generation parameters sent with every request.
        samples_per_prompt: distinct samples per repeated prompt (see module docstring).
        seed: seeds question drawing.
    """

    n_agents = 4
    agent_names = ROLE_NAMES
    gamma = 1.0

    def __init__(
        self,
        backend: LLMBackend,
        questions: Sequence[Question],
        max_handoffs: int = 8,
        call_cost: float = 0.0,
        gen_params: dict[str, Any] | None = None,
        samples_per_prompt: int = 1,
        seed: int | None = None,
        interface: str = "budget",
    ) -> None:
        if interface not in INTERFACES:
            raise EnvError(f"unknown interface {interface!r} (known: {', '.join(INTERFACES)})")
        self.interface = interface
        if not questions:
            raise EnvError("LLMMathEnv needs at least one question")
        if max_handoffs < 2:
            raise EnvError(f"max_handoffs must be >= 2, got {max_handoffs}")
        if samples_per_prompt < 1:
            raise EnvError(f"samples_per_prompt must be >= 1, got {samples_per_prompt}")
        self.backend = backend
        self.simulated = bool(getattr(backend, "simulated", False))
        self.questions = list(questions)
        self.max_handoffs = int(max_handoffs)
        self.call_cost = float(call_cost)
        self.gen_params = dict(gen_params or {"temperature": 0.0, "max_tokens": 256})
        self.samples_per_prompt = int(samples_per_prompt)
        self.extract_stats = ExtractStats()
        self._visits: dict[str, int] = {}
        self.reset(seed)

    # ----------------------------------------------------------------- episode
    def reset(self, seed: int | None = None) -> None:
        """New episode on a uniformly drawn question."""
        self._seed_rng(seed)
        self.reset_to(self.questions[int(self._rng.integers(len(self.questions)))])

    def reset_to(self, question: Question) -> None:
        """New episode on ``question``."""
        self.question = question
        self._sample = self._visits.get(question.qid, 0) % self.samples_per_prompt
        self._visits[question.qid] = self._visits.get(question.qid, 0) + 1
        self.state = AnswerState()
        self.conversation: list[tuple[int, str]] = []
        self._active = COMMISSIONER
        self._done = False
        self.log = EpisodeLog(qid=question.qid)

    @property
    def active_agent(self) -> int:
        """The active role."""
        return self._active

    def observe(self, agent: int) -> tuple[int, ...]:
        """The four AIS bits (and, under ``budget``, the remaining budget); same for all."""
        b = bits(self.state)
        if self.interface == "bits4":
            return b
        left = max(0, min(self.max_handoffs - len(self.log.path) - 1, self.max_handoffs - 1))
        return (*b, left)

    def obs_index(self) -> int:
        """Flat index of the current observation (the routing tables' column)."""
        o = self.observe(self.active_agent)
        if self.interface == "bits4":
            return bits_index(o)
        return bits_index(o[:4]) * self.max_handoffs + o[4]

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Four binary dimensions (plus the budget, ``max_handoffs`` values)."""
        if self.interface == "bits4":
            return OBS_NVEC
        return (*OBS_NVEC, self.max_handoffs)

    def candidates(self, agent: int) -> tuple[int, ...]:
        """The role's possible successors (see :mod:`~handoffq.envs.llm_math.roles`)."""
        return CANDIDATES[agent]

    def admissible(self, agent: int) -> tuple[int, ...]:
        """All candidates are always admissible."""
        return CANDIDATES[agent]

    def local_actions(self, agent: int) -> int:
        """Pre-configured agents: no local actions."""
        return 0

    def act(self, local_action: int) -> LocalStep:
        """Not available: every role is pre-configured."""
        raise EnvError("LLMMathEnv agents are pre-configured: they have no local actions")

    def step(self, successor: int) -> Transition:
        """Play the active role's turn and hand the conversation to ``successor``."""
        if self._done:
            raise EnvError("episode is over: call reset()")
        check_successor(self, successor)
        agent = self._active
        self.log.visited.append((agent, self.obs_index()))
        self.log.path.append(agent)
        calls = 0
        if agent == COMMISSIONER:
            self.conversation.append((COMMISSIONER, opening(self.question)))
        else:
            self._turn(agent)
            calls = 1
        reward = -self.call_cost * calls
        if agent == EDITOR and successor == COMMISSIONER:
            self.conversation.append((COMMISSIONER, conclusion(self.state.final)))
            self.log.final = self.state.final
            self.log.correct = self.state.final == self.question.gold
            self._done = True
            return Transition(2, reward + float(self.log.correct), True, False)
        self._active = successor
        if len(self.log.path) >= self.max_handoffs:
            # the cap is part of the dynamics: the commissioner closes the discussion
            # without an answer (reward 0), so learners see it as an ending, not a cut
            self._done = True
            self.log.truncated = True
            self.conversation.append((COMMISSIONER, conclusion(None)))
            return Transition(1, reward, True, False)
        return Transition(1, reward, False, False)

    def _turn(self, agent: int) -> None:
        q, st = self.question, self.state
        meta = {
            "role": ROLE_NAMES[agent],
            "qid": q.qid,
            "gold": q.gold,
            "letters": q.letters,
            "current": st.current,
            "verdict": st.verdict,
            "revised_before": st.revisions[agent] > 0,
        }
        messages = build_messages(agent, self.conversation)
        out = self.backend.complete(
            messages, params=self.gen_params, sample=self._sample, meta=meta
        )
        self.conversation.append((agent, out.text))
        self.state = apply_output(st, agent, out.text, q.letters, self.extract_stats)
        self.log.calls += 1
        self.log.prompt_tokens += out.prompt_tokens
        self.log.completion_tokens += out.completion_tokens


def run_table_episode(env: LLMMathEnv, table: np.ndarray, question: Question) -> EpisodeLog:
    """Play ``question`` under a routing table ``table[agent, obs_index]``.

    A ``(4, 16)`` table is read on the four bits whatever the env's interface (a workflow, or
    a bits4 routing); a ``(4, 16 cap)`` table on the budget interface.
    """
    env.reset_to(question)
    on_bits = table.shape[1] == 16
    while True:
        a = env.active_agent
        o = bits_index(bits(env.state)) if on_bits else env.obs_index()
        k = int(table[a, o])
        tr = env.step(k)
        if tr.terminated or tr.truncated:
            return env.log


def evaluate_table(
    make_env: Any, table: np.ndarray, questions: Sequence[Question], workers: int = 1
) -> list[EpisodeLog]:
    """Play every question once under ``table`` (``workers`` threads, one env each)."""
    if workers <= 1 or len(questions) < 2:
        env = make_env()
        return [run_table_episode(env, table, q) for q in questions]
    chunks = [list(questions[i::workers]) for i in range(workers)]

    def work(chunk: list[Question]) -> list[EpisodeLog]:
        env = make_env()
        return [run_table_episode(env, table, q) for q in chunk]

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(work, chunks))
    logs: list[EpisodeLog] = []
    for i in range(len(questions)):
        logs.append(parts[i % workers][i // workers])
    return logs


def greedy_table(team: Sequence[Any], interface: str = "bits4", cap: int = 8) -> np.ndarray:
    """Each agent's greedy successor at every observation, ``(4, n_obs)``.

    Works for :class:`~handoffq.learn.agent.ICQAgent` (``greedy_successor``) and
    :class:`~handoffq.learn.replay.ReplayICQAgent` (``greedy_cols``).
    """
    from handoffq.envs.llm_math.dynamics import n_obs

    n = n_obs(interface, cap)
    table = np.zeros((4, n), dtype=np.int64)
    for a, agent in enumerate(team):
        if hasattr(agent, "greedy_cols"):
            table[a] = np.asarray(agent.candidates)[agent.greedy_cols()]
            continue
        for o in range(n):
            b, left = (o, None) if interface == "bits4" else divmod(o, cap)
            obs = tuple((b >> s) & 1 for s in (3, 2, 1, 0))
            if left is not None:
                obs = (*obs, left)
            table[a, o] = agent.greedy_successor(obs, CANDIDATES[a])
    return table
