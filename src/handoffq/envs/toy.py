"""A two-agent IC-SMDP small enough to solve by hand (used in tests and the docs).

Agents ``A = 0`` and ``B = 1`` each observe a single observation ``(0,)`` and may call either
agent. Dynamics are deterministic:

* ``A``'s invocation lasts 1 step and earns 0;
* ``B``'s invocation lasts 2 steps and earns 1 when it hands to ``A``, 0.2 when it keeps
  control (``B -> B``).

With ``gamma = 0.9`` the IC-SMDP Bellman equation ``Q_i(k) = R_i(k) + gamma^tau_i V_k`` gives
``V_B = 1 / (1 - gamma^3)`` (the cycle A -> B -> A), hence
``Q_A(A) = gamma^2 V_B``, ``Q_A(B) = gamma V_B``, ``Q_B(A) = V_B``,
``Q_B(B) = 0.2 + gamma^2 V_B``; see :func:`hand_solution`. Episodes are truncated after
``horizon`` handoffs (a truncation: learners bootstrap through it).
"""

from __future__ import annotations

from handoffq.core.env import EnvError, PreconfiguredAgents, Transition, check_successor

__all__ = ["TwoAgentCycle", "hand_solution"]


def hand_solution(gamma: float = 0.9) -> dict[tuple[int, int], float]:
    """The hand-computed optimal ``Q_i(o=0, k)`` of :class:`TwoAgentCycle`."""
    v_b = 1.0 / (1.0 - gamma**3)
    v_a = gamma * v_b
    return {(0, 0): gamma * v_a, (0, 1): gamma * v_b, (1, 0): 1.0 + gamma**2 * v_a, (1, 1): 0.2 + gamma**2 * v_b}


class TwoAgentCycle(PreconfiguredAgents):
    """The hand-solvable two-agent IC-SMDP (see module docstring)."""

    n_agents = 2
    agent_names: tuple[str, ...] = ("A", "B")
    simulated = True

    def __init__(self, gamma: float = 0.9, horizon: int = 20) -> None:
        if not 0.0 < gamma < 1.0:
            raise EnvError(f"gamma must be in (0, 1), got {gamma}")
        self.gamma = gamma
        self.horizon = horizon
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """A is active; nothing is random."""
        self._active = 0
        self._handoffs = 0

    @property
    def active_agent(self) -> int:
        """The active agent."""
        return self._active

    def observe(self, agent: int) -> tuple[int, ...]:
        """Every agent sees the same single observation."""
        return (0,)

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """One observation."""
        return (1,)

    def candidates(self, agent: int) -> tuple[int, ...]:
        """A or B."""
        return (0, 1)

    def admissible(self, agent: int) -> tuple[int, ...]:
        """Both, always."""
        return (0, 1)

    def step(self, successor: int) -> Transition:
        """Play the active agent's invocation deterministically."""
        check_successor(self, successor)
        if self._active == 0:
            tau, reward = 1, 0.0
        else:
            tau = 2
            reward = 1.0 if successor == 0 else 0.2
        self._active = successor
        self._handoffs += 1
        return Transition(tau, reward, False, self._handoffs >= self.horizon)
