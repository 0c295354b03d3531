"""The synthetic IC-SMDP of the paper's section 5.1 (a finite model with an exact oracle).

Construction (all random draws from ``numpy.random.default_rng(instance_seed)``):

* **Interface states** ``z in {0 .. n_interface-1}`` plus one absorbing *goal* class; entering
  the goal ends the episode with a bonus ``goal_reward``.
* **Latent states**: each interface state ``z`` has ``latent_per_interface`` latent states
  ``s``. Agent ``i``'s primitive kernel is *lumpable*: ``P_i(s' | s) = Pz_i(z' | z) *
  W_i(s' | s, z')`` where ``Pz_i`` (Dirichlet rows, a goal probability drawn from
  ``U(0, goal_max)``) moves the interface state and ``W_i`` (Dirichlet, depends on ``s``)
  places the latent state inside the new class. Per-step rewards ``r_i(z) ~ U(0, 1)`` depend on
  the interface state only. Hence the interface state is an *exact* information state: at
  ``rho = 1`` the AIS gap is zero (eps = delta = 0) and all aliasing comes from ``rho``.
* **Agents** are pre-configured: agent ``i``'s invocation follows ``P_i`` and ends after each
  primitive step with the *handoff probability* ``p`` (or at ``tau_max`` steps), so
  ``tau`` is a truncated geometric variable with mean about ``1/p``. At the start of an
  invocation the agent commits to a successor ``k``: it pays a handoff cost ``c[i, k] ~ U(0,
  cost_max)`` (``c[i, i] = 0``) and earns a *match reward* ``match_reward * f[z, k]`` with
  ``f ~ U(0, 1)`` (how well successor ``k`` suits the task in interface state ``z``; this
  is what makes the right handoff depend on the interface and aliasing costly). Agent ``i``
  may call itself and a random subset (each other agent with probability ``admit_prob``, at
  least two choices in all).
* **Private states**: ``xi_i in {0 .. n_private-1}`` counts agent ``i``'s invocations modulo
  ``n_private``; kept while inactive and seen only by ``i``. It enters neither rewards nor
  transitions (a private state that mattered to a successor's value could not be seen by the
  chooser, and rho = 1 would no longer be exact). ``n_private = 1`` (default) removes it.
* **Observation** (retention ratio ``rho in (0, 1]``): the interface states are ranked by a
  random permutation and merged into ``m = ceil(rho * n_interface)`` consecutive groups;
  agent ``i`` observes ``(group(z),)`` (or ``(group(z), xi_i)``). ``rho = 1`` shows ``z``.
* **Episodes** start with agent 0 active in a uniform non-goal latent state; a
  ``horizon`` caps the number of handoffs (a truncation: the exact model has none, so keep
  ``gamma**horizon`` negligible).

:meth:`SyntheticICSMDP.model` returns the exact decision-epoch model for
:mod:`handoffq.theory`; :class:`SyntheticVecEnv` steps many episodes at once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from handoffq.config import option
from handoffq.core.env import EnvError, LocalStep, Transition, VecLocalStep, VecTransition, check_successor
from handoffq.theory.model import FiniteModel

__all__ = ["SyntheticConfig", "SyntheticICSMDP", "SyntheticVecEnv", "build_instance"]


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of a synthetic IC-SMDP instance (see the module docstring)."""

    n_agents: int = option(4, "number of agents", min=2)
    n_interface: int = option(20, "interface states (the artifact's classes)", min=1)
    latent_per_interface: int = option(2, "latent states per interface state", min=1)
    n_private: int = option(1, "private states per agent (1: none)", min=1)
    rho: float = option(1.0, "retention ratio: share of interface classes an agent tells apart", above=0.0, max=1.0)
    p: float = option(0.5, "handoff probability per primitive step (invocations last about 1/p steps)",
                      above=0.0, max=1.0)
    tau_max: int = option(8, "longest invocation, in primitive steps", min=1)
    gamma: float = option(0.9, "primitive discount factor", above=0.0, max=0.999999)
    horizon: int = option(200, "handoffs after which an episode is truncated", min=1)
    goal_max: float = option(0.15, "largest per-step probability of reaching the goal", min=0.0, max=1.0)
    goal_reward: float = option(1.0, "reward for reaching the goal")
    cost_max: float = option(0.2, "largest handoff cost c[i, k]", min=0.0)
    match_reward: float = option(1.0, "scale of the reward for handing to a suitable successor", min=0.0)
    admit_prob: float = option(0.75, "probability that an agent may call each other agent", min=0.0, max=1.0)
    dirichlet: float = option(0.5, "Dirichlet concentration of the random kernels", above=0.0)
    instance_seed: int = option(0, "seed of the random instance", min=0)

    def __post_init__(self) -> None:
        _check(isinstance(self.rho, (int, float)) and 0.0 < self.rho <= 1.0,
               f"rho must be in (0, 1], got {self.rho}")
        _check(0.0 < self.p <= 1.0, f"p (handoff probability) must be in (0, 1], got {self.p}")
        _check(0.0 < self.gamma < 1.0, f"gamma must be in (0, 1), got {self.gamma}")
        _check(self.n_agents >= 2, f"n_agents must be >= 2, got {self.n_agents}")
        _check(self.n_interface >= 1, f"n_interface must be >= 1, got {self.n_interface}")
        _check(self.latent_per_interface >= 1, "latent_per_interface must be >= 1")
        _check(self.n_private >= 1, f"n_private must be >= 1, got {self.n_private}")
        _check(self.tau_max >= 1, f"tau_max must be >= 1, got {self.tau_max}")
        _check(self.horizon >= 1, f"horizon must be >= 1, got {self.horizon}")
        _check(0.0 <= self.goal_max <= 1.0, "goal_max must be in [0, 1]")
        _check(self.n_private ** self.n_agents <= 4096, "n_private ** n_agents too large")

    def as_dict(self) -> dict[str, object]:
        """Plain dict (for config.json)."""
        return asdict(self)


def _check(ok: bool, msg: str) -> None:
    if not ok:
        raise EnvError(msg)


@dataclass(frozen=True)
class _Instance:
    """The random draws of an instance (independent of rho)."""

    kernel: np.ndarray  # (N, nS, nS + 1): last column = goal
    reward: np.ndarray  # (N, nZ) per-step reward by interface state
    cost: np.ndarray  # (N, N)
    admissible: np.ndarray  # (N, N) bool
    rank: np.ndarray  # (nZ,) rank of each interface state for merging
    match: np.ndarray  # (nZ, N) match reward of successor k at interface state z


def build_instance(cfg: SyntheticConfig) -> _Instance:
    """Draw an instance's kernels, rewards, costs and admissible sets."""
    rng = np.random.default_rng(cfg.instance_seed)
    n, nz, lat = cfg.n_agents, cfg.n_interface, cfg.latent_per_interface
    ns = nz * lat
    kernel = np.zeros((n, ns, ns + 1))
    for i in range(n):
        pz = rng.dirichlet(np.full(nz, cfg.dirichlet), size=nz)
        goal = rng.uniform(0.0, cfg.goal_max, size=nz)
        pz = pz * (1.0 - goal)[:, None]
        for s in range(ns):
            z = s // lat
            for z2 in range(nz):
                w = rng.dirichlet(np.ones(lat))
                kernel[i, s, z2 * lat : (z2 + 1) * lat] = pz[z, z2] * w
            kernel[i, s, ns] = goal[z]
    reward = rng.uniform(0.0, 1.0, size=(n, nz))
    cost = rng.uniform(0.0, cfg.cost_max, size=(n, n))
    np.fill_diagonal(cost, 0.0)
    adm = rng.random((n, n)) < cfg.admit_prob
    np.fill_diagonal(adm, True)
    for i in range(n):
        if adm[i].sum() < 2:
            others = [k for k in range(n) if k != i]
            adm[i, others[rng.integers(len(others))]] = True
    rank = np.argsort(rng.permutation(nz))
    match = cfg.match_reward * rng.uniform(0.0, 1.0, size=(nz, n))
    return _Instance(kernel, reward, cost, adm, rank, match)


def n_groups(cfg: SyntheticConfig) -> int:
    """Number of observed interface groups ``m = ceil(rho * n_interface)``."""
    return max(1, min(cfg.n_interface, math.ceil(cfg.rho * cfg.n_interface - 1e-9)))


class SyntheticICSMDP:
    """A single synthetic IC-SMDP episode simulator implementing :class:`HandoffEnv`."""

    simulated = True

    def __init__(self, config: SyntheticConfig | None = None, seed: int | None = None) -> None:
        self.config = config or SyntheticConfig()
        cfg = self.config
        self.inst = build_instance(cfg)
        self.n_agents = cfg.n_agents
        self.agent_names = tuple(f"agent_{i}" for i in range(cfg.n_agents))
        self.gamma = cfg.gamma
        self.n_latent = cfg.n_interface * cfg.latent_per_interface
        self.m = n_groups(cfg)
        self.group = (self.inst.rank * self.m) // cfg.n_interface  # z -> observed group
        self._cum = np.cumsum(self.inst.kernel, axis=2)
        self._rng = np.random.default_rng(seed)
        self._candidates = tuple(range(cfg.n_agents))
        self.reset(seed)

    # ----------------------------------------------------------- HandoffEnv
    def reset(self, seed: int | None = None) -> None:
        """Agent 0 active in a uniform non-goal latent state."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._active = 0
        self._s = int(self._rng.integers(self.n_latent))
        self._xi = np.zeros(self.n_agents, dtype=np.int64)
        self._handoffs = 0
        self._done = False

    @property
    def active_agent(self) -> int:
        """The active agent."""
        return self._active

    def observe(self, agent: int) -> tuple[int, ...]:
        """``(group(z),)`` or ``(group(z), xi_agent)``."""
        g = int(self.group[self._s // self.config.latent_per_interface])
        if self.config.n_private == 1:
            return (g,)
        return (g, int(self._xi[agent]))

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Observation sizes."""
        return (self.m,) if self.config.n_private == 1 else (self.m, self.config.n_private)

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Every agent."""
        return self._candidates

    def admissible(self, agent: int) -> tuple[int, ...]:
        """The agent's fixed admissible set."""
        return tuple(int(k) for k in np.flatnonzero(self.inst.admissible[agent]))

    def local_actions(self, agent: int) -> int:
        """Pre-configured agents: none."""
        return 0

    def act(self, local_action: int) -> LocalStep:
        """Not available: every agent is pre-configured."""
        raise EnvError("the synthetic IC-SMDP has pre-configured agents only (no local actions)")

    def step(self, successor: int) -> Transition:
        """Play the active agent's invocation and hand off to ``successor``."""
        if self._done:
            raise EnvError("step() called on a finished episode; call reset()")
        check_successor(self, successor)
        cfg, i = self.config, self._active
        z0 = self._s // cfg.latent_per_interface
        ret = float(self.inst.match[z0, successor] - self.inst.cost[i, successor])
        disc, tau = 1.0, 0
        goal = self.n_latent
        while True:
            z = self._s // cfg.latent_per_interface
            nxt = int(np.searchsorted(self._cum[i, self._s], self._rng.random(), side="right"))
            nxt = min(nxt, goal)
            r = self.inst.reward[i, z] + (cfg.goal_reward if nxt == goal else 0.0)
            ret += disc * r
            disc *= cfg.gamma
            tau += 1
            if nxt == goal:
                self._done = True
                return Transition(tau, ret, True, False)
            self._s = nxt
            if tau >= cfg.tau_max or self._rng.random() < cfg.p:
                break
        self._xi[i] = (self._xi[i] + 1) % cfg.n_private
        self._active = int(successor)
        self._handoffs += 1
        truncated = self._handoffs >= cfg.horizon
        self._done = truncated
        return Transition(tau, ret, False, truncated)

    # --------------------------------------------------- privileged (baselines)
    def latent_state(self) -> int:
        """Index of the latent decision-epoch state in :meth:`model` (oracle baselines only)."""
        return _state_index(self._active, self._s, self._xi, self.n_latent, self.config)

    def model(self) -> FiniteModel:
        """The exact decision-epoch model of this instance."""
        return build_model(self.config, self.inst)


def _state_index(agent: int, s: int, xi: np.ndarray, n_latent: int, cfg: SyntheticConfig) -> int:
    code = 0
    for v in xi:
        code = code * cfg.n_private + int(v)
    return (agent * n_latent + s) * cfg.n_private**cfg.n_agents + code


def _option_arrays(
    kernel_i: np.ndarray, rew_z: np.ndarray, cfg: SyntheticConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Expected invocation reward, discounted and plain next-state kernels, E[gamma^tau]."""
    ns = kernel_i.shape[0]
    a = kernel_i[:, :ns]
    pg = kernel_i[:, ns]
    rr = rew_z[np.arange(ns) // cfg.latent_per_interface] + cfg.goal_reward * pg
    g, p = cfg.gamma, cfg.p
    r_inv = np.zeros(ns)
    disc = np.zeros((ns, ns))
    plain = np.zeros((ns, ns))
    gtau = np.zeros(ns)
    at = np.eye(ns)  # A^(t-1)
    for t in range(1, cfg.tau_max + 1):
        surv = (1.0 - p) ** (t - 1)
        r_inv += g ** (t - 1) * surv * (at @ rr)
        gtau += g**t * surv * (at @ pg)
        at = at @ a
        h = 1.0 if t == cfg.tau_max else p
        disc += g**t * surv * h * at
        plain += surv * h * at
        gtau += g**t * surv * h * at.sum(axis=1)
    return r_inv, disc, plain, gtau


def build_model(cfg: SyntheticConfig, inst: _Instance) -> FiniteModel:
    """Exact decision-epoch model (see :class:`~handoffq.theory.model.FiniteModel`)."""
    n, lat, npv = cfg.n_agents, cfg.latent_per_interface, cfg.n_private
    ns = cfg.n_interface * lat
    n_codes = npv**n
    nx = n * ns * n_codes
    m = n_groups(cfg)
    group = (inst.rank * m) // cfg.n_interface
    codes = np.array(np.unravel_index(np.arange(n_codes), (npv,) * n)).T.reshape(n_codes, n)
    reward = np.zeros((nx, n))
    disc = np.zeros((nx, n, nx))
    plain = np.zeros((nx, n, nx))
    gtau = np.zeros((nx, n))
    agent_of = np.repeat(np.arange(n), ns * n_codes)
    s_of = np.tile(np.repeat(np.arange(ns), n_codes), n)
    code_of = np.tile(np.arange(n_codes), n * ns)
    xi_i = codes[code_of, agent_of]
    obs_of = group[s_of // lat] * npv + xi_i
    for i in range(n):
        r_inv, d_i, p_i, g_i = _option_arrays(inst.kernel[i], inst.reward[i], cfg)
        for c in range(n_codes):
            xi = codes[c].copy()
            xi[i] = (xi[i] + 1) % npv
            c2 = int(np.ravel_multi_index(tuple(xi), (npv,) * n)) if n_codes > 1 else 0
            rows = (i * ns + np.arange(ns)) * n_codes + c
            for k in range(n):
                cols = (k * ns + np.arange(ns)) * n_codes + c2
                z_rows = np.arange(ns) // lat
                reward[rows, k] = r_inv - inst.cost[i, k] + inst.match[z_rows, k]
                disc[np.ix_(rows, [k], cols)] = d_i[:, None, :]
                plain[np.ix_(rows, [k], cols)] = p_i[:, None, :]
                gtau[rows, k] = g_i
    init = np.zeros(nx)
    init[(0 * ns + np.arange(ns)) * n_codes + 0] = 1.0 / ns
    admissible = inst.admissible[agent_of]
    return FiniteModel(
        n_agents=n,
        agent_of=agent_of,
        obs_of=obs_of.astype(np.int64),
        n_obs=(m * npv,) * n,
        admissible=admissible,
        reward=reward,
        discounted=disc,
        transition=plain,
        gamma_tau=gtau,
        init=init,
    )


class SyntheticVecEnv:
    """``n_envs`` synthetic IC-SMDP episodes stepped together with numpy (same dynamics)."""

    simulated = True

    def __init__(self, config: SyntheticConfig | None = None, n_envs: int = 256, seed: int | None = None) -> None:
        self.config = config or SyntheticConfig()
        cfg = self.config
        self.inst = build_instance(cfg)
        self.n_envs = int(n_envs)
        self.n_agents = cfg.n_agents
        self.gamma = cfg.gamma
        self.n_latent = cfg.n_interface * cfg.latent_per_interface
        self.m = n_groups(cfg)
        self.group = (self.inst.rank * self.m) // cfg.n_interface
        self._cum = np.cumsum(self.inst.kernel, axis=2)
        self._rng = np.random.default_rng(seed)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Fresh episodes everywhere."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        b = self.n_envs
        self._active = np.zeros(b, dtype=np.int64)
        self._s = self._rng.integers(self.n_latent, size=b)
        self._xi = np.zeros((b, self.n_agents), dtype=np.int64)
        self._handoffs = np.zeros(b, dtype=np.int64)

    def reset_slots(self, slots: np.ndarray) -> None:
        """Restart the given slots."""
        self._active[slots] = 0
        self._s[slots] = self._rng.integers(self.n_latent, size=len(slots))
        self._xi[slots] = 0
        self._handoffs[slots] = 0

    def active(self) -> np.ndarray:
        """Active agent per slot."""
        return self._active.copy()

    def observe(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Observations of ``agent`` in ``slots``."""
        g = self.group[self._s[slots] // self.config.latent_per_interface]
        if self.config.n_private == 1:
            return g[:, None]
        return np.stack([g, self._xi[slots, agent]], axis=1)

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Observation sizes."""
        return (self.m,) if self.config.n_private == 1 else (self.m, self.config.n_private)

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Every agent."""
        return tuple(range(self.n_agents))

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """The agent's admissible row, repeated."""
        return np.broadcast_to(self.inst.admissible[agent], (len(slots), self.n_agents))

    def local_actions(self, agent: int) -> int:
        """Pre-configured agents: none."""
        return 0

    def act(self, slots: np.ndarray, actions: np.ndarray) -> VecLocalStep:
        """Not available: every agent is pre-configured."""
        raise EnvError("the synthetic IC-SMDP has pre-configured agents only (no local actions)")

    def step(self, successors: np.ndarray, slots: np.ndarray | None = None) -> VecTransition:
        """One invocation in every slot (or in ``slots`` only), vectorised over primitive steps."""
        cfg = self.config
        rows = np.arange(self.n_envs) if slots is None else np.asarray(slots, dtype=np.int64)
        successors = np.asarray(successors, dtype=np.int64)
        b = len(rows)
        i = self._active[rows]
        z0 = self._s[rows] // cfg.latent_per_interface
        ret = self.inst.match[z0, successors] - self.inst.cost[i, successors]
        disc = np.ones(b)
        tau = np.zeros(b, dtype=np.int64)
        term = np.zeros(b, dtype=bool)
        running = np.ones(b, dtype=bool)
        goal = self.n_latent
        while running.any():
            idx = np.flatnonzero(running)
            s = self._s[rows[idx]]
            u = self._rng.random(len(idx))
            cum = self._cum[i[idx], s]
            nxt = np.minimum((cum <= u[:, None]).sum(axis=1), goal)
            hit = nxt == goal
            r = self.inst.reward[i[idx], s // cfg.latent_per_interface] + cfg.goal_reward * hit
            ret[idx] += disc[idx] * r
            disc[idx] *= cfg.gamma
            tau[idx] += 1
            term[idx[hit]] = True
            self._s[rows[idx[~hit]]] = nxt[~hit]
            stop = hit | (tau[idx] >= cfg.tau_max) | (self._rng.random(len(idx)) < cfg.p)
            running[idx[stop]] = False
        hi = np.flatnonzero(~term)
        slot_hi = rows[hi]
        self._xi[slot_hi, i[hi]] = (self._xi[slot_hi, i[hi]] + 1) % cfg.n_private
        self._active[slot_hi] = successors[hi]
        self._handoffs[slot_hi] += 1
        trunc = ~term & (self._handoffs[rows] >= cfg.horizon)
        return VecTransition(tau, ret, term, trunc)
