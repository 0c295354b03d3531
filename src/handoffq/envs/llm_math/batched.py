"""Many simulated LLM-math episodes at once: a :class:`~handoffq.core.env.VecHandoffEnv`.

Only for the simulated backend (labelled so): each slot plays one question of a question
pool whose hidden configuration (:func:`handoffq.llm.simulated.draw_hidden`, keyed by the
question id and the backend seed) was looked up once; the latent dynamics are
:func:`handoffq.envs.llm_math.dynamics.advance`, the same function the exact evaluator uses,
and a test checks them against :class:`~handoffq.envs.llm_math.env.LLMMathEnv` (prompts,
simulated text, extractor) configuration by configuration. One slot step = one invocation;
an LLM call is counted for every thinker, checker and editor turn (``calls``), exactly as
the backend counts them in the text environment.

Rewards and ends follow the text environment: the editor handing to the commissioner ends
the episode with duration 2 and reward 1 for a right final answer (0 otherwise), minus
``call_cost`` per call; reaching ``max_handoffs`` invocations ends it unanswered (reward 0,
``terminated``; :attr:`truncated_episodes` counts them). ``gamma`` is 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from handoffq.core.env import EnvError, SeededRng, VecLocalStep, VecTransition
from handoffq.envs.llm_math.dynamics import (
    INTERFACES,
    Latent,
    advance,
    bits_of,
    initial,
    obs_nvec,
)
from handoffq.envs.llm_math.roles import CANDIDATES, ROLE_NAMES

__all__ = ["SimVecEnv", "observation_rows"]


def observation_rows(st: Latent, idx: np.ndarray, interface: str, cap: int) -> np.ndarray:
    """Observation tuples ``(len(idx), d)`` of the episodes ``idx`` (see :mod:`.dynamics`)."""
    b = bits_of(st)[idx]
    cols = [(b >> 3) & 1, (b >> 2) & 1, (b >> 1) & 1, b & 1]
    if interface == "budget":
        cols.append(np.clip(cap - st.t[idx] - 1, 0, cap - 1))
    return np.stack(cols, axis=1).astype(np.int64)


class SimVecEnv(SeededRng):
    """``n_envs`` simulated episodes stepped together.

    Args:
        hidden: ``(n_questions, 9)`` booleans, the hidden configuration of every question of
            the training pool (rows in the order of the pool).
        n_envs: parallel episodes.
        max_handoffs: the invocation cap.
        interface: ``"bits4"`` or ``"budget"`` (:mod:`.dynamics`).
        call_cost: cost per LLM call subtracted from the reward.
        seed: seeds the question draws.
    """

    n_agents = 4
    agent_names = ROLE_NAMES
    gamma = 1.0
    simulated = True

    def __init__(
        self,
        hidden: np.ndarray,
        n_envs: int = 64,
        max_handoffs: int = 8,
        interface: str = "budget",
        call_cost: float = 0.0,
        seed: int | None = None,
    ) -> None:
        hidden = np.asarray(hidden, dtype=bool)
        if hidden.ndim != 2 or hidden.shape[0] == 0 or hidden.shape[1] != 9:
            raise EnvError("SimVecEnv needs a non-empty (n_questions, 9) hidden array")
        if interface not in INTERFACES:
            raise EnvError(f"unknown interface {interface!r} (known: {', '.join(INTERFACES)})")
        if max_handoffs < 2:
            raise EnvError(f"max_handoffs must be >= 2, got {max_handoffs}")
        self.hidden = hidden
        self.n_envs = int(n_envs)
        self.max_handoffs = int(max_handoffs)
        self.interface = interface
        self.call_cost = float(call_cost)
        self.calls = 0
        self.episodes = 0
        self.truncated_episodes = 0
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Fresh episodes in every slot."""
        self._seed_rng(seed)
        self.st = initial(self.n_envs)
        self.q = self._rng.integers(len(self.hidden), size=self.n_envs)

    def reset_slots(self, slots: np.ndarray) -> None:
        """Restart the episodes of ``slots`` on newly drawn questions."""
        slots = np.asarray(slots, dtype=np.int64)
        self.st.put(slots, initial(len(slots)))
        self.q[slots] = self._rng.integers(len(self.hidden), size=len(slots))

    def active(self) -> np.ndarray:
        """Active role of every slot."""
        return self.st.agent.copy()

    def observe(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Observations of ``agent`` in ``slots`` (it must be active there)."""
        slots = np.asarray(slots, dtype=np.int64)
        return observation_rows(self.st, slots, self.interface, self.max_handoffs)

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Every candidate is always admissible."""
        return np.ones((len(slots), len(CANDIDATES[agent])), dtype=bool)

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Candidate successors of ``agent``."""
        return CANDIDATES[agent]

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Observation sizes (four bits, plus the budget under the ``budget`` interface)."""
        return obs_nvec(self.interface, self.max_handoffs)

    def local_actions(self, agent: int) -> int:
        """Pre-configured roles: no local actions."""
        return 0

    def act(self, slots: np.ndarray, actions: np.ndarray) -> VecLocalStep:
        """Pre-configured roles: there are no local actions."""
        raise EnvError("the LLM-math roles have no local actions")

    def step(self, successors: np.ndarray, slots: np.ndarray | None = None) -> VecTransition:
        """Play one invocation in every slot (or only in ``slots``, results aligned with them)."""
        succ = np.asarray(successors, dtype=np.int64)
        if slots is None:
            return self._step(self.st, succ, self.q)
        slots = np.asarray(slots, dtype=np.int64)
        sub = self.st.take(slots)
        tr = self._step(sub, succ, self.q[slots])
        self.st.put(slots, sub)
        return tr

    def _step(self, st: Latent, succ: np.ndarray, q: np.ndarray) -> VecTransition:
        calls_before = st.calls.copy()
        ended = advance(st, succ, self.hidden[q], self.max_handoffs)
        new_calls = st.calls - calls_before
        self.calls += int(new_calls.sum())
        concluded = ended & ~st.truncated
        reward = (concluded & st.correct) - self.call_cost * new_calls
        duration = np.where(concluded, 2, 1)
        self.episodes += int(ended.sum())
        self.truncated_episodes += int((ended & st.truncated).sum())
        return VecTransition(
            duration.astype(np.int64),
            reward.astype(float),
            ended.copy(),
            np.zeros(len(succ), dtype=bool),
        )

    def outcome(self, slots: Sequence[int]) -> np.ndarray:
        """Whether the (ended) episodes of ``slots`` concluded on a right answer."""
        return self.st.correct[np.asarray(slots, dtype=np.int64)].copy()
