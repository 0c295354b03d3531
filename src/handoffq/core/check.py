"""A conformance check for user environments: ``handoffq.check_env(env)``.

It plays a few episodes with uniformly random local actions and successors and checks, at
every call, what the runners rely on, raising :class:`~handoffq.core.env.EnvError` with a
message naming the method, the agent and the value at fault:

* the protocol: ``n_agents``, ``gamma``, and every method of :class:`~handoffq.core.env.HandoffEnv`;
* observations: tuples of non-negative integers, one per dimension of ``obs_nvec``, each below
  its size (a negative or too-long observation would silently corrupt a table);
* candidates: non-empty, distinct agent ids in ``0 .. n_agents-1``; admissible successors: a
  non-empty subset of the candidates;
* ``step`` returns a :class:`~handoffq.core.env.Transition` (duration a positive integer, a
  finite reward, boolean flags) and ``act`` a :class:`~handoffq.core.env.LocalStep`;
* termination is reachable: every episode ends (terminated or truncated) within
  ``max_handoffs`` handoffs under random choices;
* seeding: ``reset(seed)`` twice gives the same first observations.

An object that is not an environment but a *declaration* of agents - anything with a
``check_declaration()`` method, such as a :class:`handoffq.Router` - is checked by that
method instead (it raises on an error and returns its warnings): its agents run in the
user's code, so there is nothing to play. The router runs this on itself when its first task
starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, overload, runtime_checkable

import numpy as np

from handoffq.core.env import EnvError, LocalStep, Transition

__all__ = ["Declaration", "DeclarationReport", "EnvReport", "check_env"]

_METHODS = ("reset", "observe", "obs_nvec", "candidates", "admissible", "step")


@dataclass(frozen=True)
class EnvReport:
    """What :func:`check_env` played: episodes, handoffs, local actions, how they ended."""

    episodes: int
    handoffs: int
    local_steps: int
    terminated: int
    truncated: int


@runtime_checkable
class Declaration(Protocol):
    """A declaration of agents that checks itself (e.g. a :class:`handoffq.Router`)."""

    def check_declaration(self) -> list[str]:
        """Raise on an error in the declaration (naming the agent); return warnings."""


@dataclass(frozen=True)
class DeclarationReport:
    """What :func:`check_env` found on a :class:`Declaration`: its warnings (errors raise)."""

    notes: tuple[str, ...]


def _fail(msg: str) -> None:
    raise EnvError(f"check_env: {msg}")


def _check_protocol(env: Any) -> int:
    missing = [m for m in _METHODS if not callable(getattr(env, m, None))]
    if missing:
        _fail(f"the environment has no method(s) {', '.join(missing)} (see handoffq.HandoffEnv)")
    n = getattr(env, "n_agents", None)
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        _fail(f"n_agents must be a positive integer, got {n!r}")
    gamma = getattr(env, "gamma", None)
    if not isinstance(gamma, (int, float)) or not 0.0 < float(gamma) <= 1.0:
        _fail(f"gamma must be a number in (0, 1], got {gamma!r}")
    return int(n)  # type: ignore[arg-type]


def _check_agent_spaces(env: Any, n: int) -> None:
    for i in range(n):
        nvec = env.obs_nvec(i)
        if not isinstance(nvec, tuple) or not all(isinstance(x, (int, np.integer)) and x >= 1 for x in nvec):
            _fail(f"obs_nvec({i}) must be a tuple of positive integers, got {nvec!r}")
        cands = env.candidates(i)
        if not isinstance(cands, tuple) or not cands:
            _fail(f"candidates({i}) must be a non-empty tuple of agent ids, got {cands!r}")
        bad = [c for c in cands if not isinstance(c, (int, np.integer)) or not 0 <= c < n]
        if bad:
            _fail(f"candidates({i}) holds {bad[:5]}: every candidate must be an agent id in 0 .. {n - 1}")
        if len(set(cands)) != len(cands):
            _fail(f"candidates({i}) repeats an agent: {cands!r}")
        k = env.local_actions(i) if callable(getattr(env, "local_actions", None)) else 0
        if not isinstance(k, (int, np.integer)) or k < 0:
            _fail(f"local_actions({i}) must be a non-negative integer, got {k!r}")


def _check_obs(env: Any, agent: int) -> tuple[int, ...]:
    obs = env.observe(agent)
    nvec = env.obs_nvec(agent)
    if not isinstance(obs, tuple):
        _fail(f"observe({agent}) must return a tuple of integers, got {type(obs).__name__} {obs!r}")
    if len(obs) != len(nvec):
        _fail(f"observe({agent}) returned {len(obs)} values {obs!r} but obs_nvec({agent}) has {len(nvec)} dimensions")
    for d, (o, size) in enumerate(zip(obs, nvec)):
        if isinstance(o, bool) or not isinstance(o, (int, np.integer)):
            _fail(f"observe({agent})[{d}] must be an integer, got {o!r}")
        if not 0 <= o < size:
            _fail(f"observe({agent})[{d}] = {o} is outside 0 .. {size - 1} (obs_nvec({agent}) = {nvec})")
    return tuple(int(o) for o in obs)


def _check_admissible(env: Any, agent: int) -> tuple[int, ...]:
    adm = env.admissible(agent)
    if not isinstance(adm, tuple) or not adm:
        _fail(f"admissible({agent}) must be a non-empty tuple of successors, got {adm!r}")
    extra = [k for k in adm if k not in env.candidates(agent)]
    if extra:
        _fail(f"admissible({agent}) holds {extra[:5]}, which are not among candidates({agent})")
    return tuple(int(k) for k in adm)


def _check_transition(tr: Any, where: str) -> Transition:
    if not isinstance(tr, Transition):
        _fail(f"{where} must return handoffq.Transition(duration, reward, terminated, truncated), "
              f"got {type(tr).__name__} {tr!r}")
    if isinstance(tr.duration, bool) or not isinstance(tr.duration, (int, np.integer)) or tr.duration < 1:
        _fail(f"{where}: duration must be a positive integer, got {tr.duration!r}")
    _check_reward_flags(tr, where)
    return tr


def _check_reward_flags(tr: Any, where: str) -> None:
    if isinstance(tr.reward, bool) or not isinstance(tr.reward, (int, float, np.floating, np.integer)) or \
            not math.isfinite(float(tr.reward)):
        _fail(f"{where}: reward must be a finite number, got {tr.reward!r}")
    for flag in ("terminated", "truncated"):
        if not isinstance(getattr(tr, flag), (bool, np.bool_)):
            _fail(f"{where}: {flag} must be a bool, got {getattr(tr, flag)!r}")


def _local_step(env: Any, agent: int, rng: np.random.Generator) -> LocalStep:
    a = int(rng.integers(env.local_actions(agent)))
    ls = env.act(a)
    if not isinstance(ls, LocalStep):
        _fail(f"act({a}) by agent {agent} must return handoffq.LocalStep(reward, terminated, truncated), "
              f"got {type(ls).__name__} {ls!r}")
    _check_reward_flags(ls, f"act({a}) by agent {agent}")
    return ls


def _active(env: Any, n: int) -> int:
    i = env.active_agent
    if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
        _fail(f"active_agent must be an agent id in 0 .. {n - 1}, got {i!r}")
    return int(i)


def _episode(env: Any, n: int, seed: int, rng: np.random.Generator, max_handoffs: int) -> tuple[int, int, str]:
    """One random episode; returns ``(handoffs, local steps, how it ended)``."""
    env.reset(seed)
    handoffs = local = 0
    while handoffs < max_handoffs:
        i = _active(env, n)
        _check_obs(env, i)
        if callable(getattr(env, "local_actions", None)) and env.local_actions(i):
            ls = _local_step(env, i, rng)
            local += 1
            if ls.terminated or ls.truncated:
                return handoffs, local, "terminated" if ls.terminated else "truncated"
            _check_obs(env, i)
        adm = _check_admissible(env, i)
        k = adm[int(rng.integers(len(adm)))]
        tr = _check_transition(env.step(k), f"step({k}) by agent {i}")
        handoffs += 1
        if tr.terminated or tr.truncated:
            return handoffs, local, "terminated" if tr.terminated else "truncated"
    _fail(f"no end within {max_handoffs} handoffs under random choices (seed {seed}): terminate or truncate "
          "episodes (e.g. a handoff cap) so that runs and greedy evaluations end")
    raise AssertionError("unreachable")


def _first_obs(env: Any, seed: int, n: int) -> tuple[int, tuple[int, ...]]:
    env.reset(seed)
    i = _active(env, n)
    return i, _check_obs(env, i)


@overload
def check_env(env: Declaration, episodes: int = ..., max_handoffs: int = ..., seed: int = ...) -> DeclarationReport:
    ...


@overload
def check_env(env: Any, episodes: int = ..., max_handoffs: int = ..., seed: int = ...) -> EnvReport:
    ...


def check_env(
    env: Any, episodes: int = 5, max_handoffs: int = 10_000, seed: int = 0
) -> EnvReport | DeclarationReport:
    """Check that ``env`` implements the handoffq environment protocol (see the module docstring).

    Raises :class:`~handoffq.core.env.EnvError` at the first problem; returns an
    :class:`EnvReport` of what was played otherwise. A :class:`Declaration` (an object with a
    ``check_declaration()`` method, e.g. a router) is checked by that method instead: its
    errors raise, its warnings come back in a :class:`DeclarationReport`.
    """
    check = getattr(env, "check_declaration", None)
    if callable(check):
        return DeclarationReport(tuple(str(n) for n in check()))
    n = _check_protocol(env)
    _check_agent_spaces(env, n)
    if _first_obs(env, seed, n) != _first_obs(env, seed, n):
        _fail(f"reset({seed}) twice gave different first observations: seed the environment's own generator")
    rng = np.random.default_rng(seed)
    ends = {"terminated": 0, "truncated": 0}
    handoffs = local = 0
    for e in range(episodes):
        h, steps, how = _episode(env, n, seed + e, rng, max_handoffs)
        handoffs, local = handoffs + h, local + steps
        ends[how] += 1
    return EnvReport(episodes, handoffs, local, ends["terminated"], ends["truncated"])
