"""The synthetic IC-SMDP of the paper's section 5.1 (a finite model with an exact oracle).

Three instance families share one simulator and one exact model (``family``):

**workflow** (default): specialists move a task through stages; only a finisher concludes it.

* Interface states ``z = (stage, detail)``: ``n_stages`` stages of ``n_interface / n_stages``
  details, plus an absorbing *goal* (the task is concluded, bonus ``goal_reward``).
* Every interface state has a *specialist* agent (random; in the last stage always one of the
  ``n_finishers`` finishers, drawn among agents ``1..N-1``: the starter, agent 0, never
  concludes). Agent ``i``'s competence at ``z`` is ``competence_hi * U(0.5, 1)`` if it is the
  specialist, else ``competence_lo * U(0, 1)``: per primitive step it advances the stage with
  that probability (in the last stage: concludes the task, finishers only), falls back a stage
  with probability ``regress`` and otherwise stays in the stage; the new detail is drawn from
  a sparse Dirichlet(``dirichlet``) row of ``(i, z)``.
* Rewards: ``-step_cost`` per primitive step (compute), ``goal_reward`` on concluding, a handoff
  cost ``c[i, k] ~ U(0, cost_max)`` (``c[i, i] = 0``) and a small immediate *match* reward
  ``match_reward * f[z, k]``, ``f ~ U(0, 1)`` independent of competence.
* Admissible successors: the agent itself, each other agent with probability ``admit_prob``,
  and the next agent on a random cycle through all agents (every role reaches every other).

Why value passing is necessary here: who should act next depends on what the *successor* can do
next (its competence at the artifact it will receive, whether it can conclude, whom it can call),
and the task reward arrives only after the successor's own invocation. Naive independent Q
bootstraps from its *own* max at its own view, i.e. as if it acted next; the successor does not
change the predecessor's invocation, so naive Q's continuation is the same for every successor
and its greedy choice is the best immediate ``match - cost`` (tested): it cannot credit a
successor for what that successor enables. With a large ``match_reward`` (immediate rewards
dominate) naive Q is nearly right again (the ``dense`` family below, or ``match_reward >= 0.3``).

Rationale of the defaults (fixed before any learning run): 4 agents as in the paper's LLM
workflow; 20 interface states in 4 stages (draft, develop, check, conclude) of 5 details; one
finisher (the editor role); a specialist advances its stage in about one invocation
(``competence_hi = 0.5`` per step at ``p = 0.5``) and a non-specialist about ten times slower
(``competence_lo = 0.05``); rework ``regress = 0.05``; compute ``step_cost = 0.02`` and handoff
overhead ``cost_max = 0.05`` are a few percent of the task reward, the immediate suitability
signal ``match_reward = 0.1`` a tenth of it; ``dirichlet = 0.3``: a specialist transforms an
artifact in a few characteristic ways; ``admit_prob = 0.5``.

**dense** (:meth:`SyntheticConfig.dense`, the original construction): Dirichlet(``dirichlet``)
kernels over all interface states, goal probability ``U(0, goal_max)`` everywhere, per-step
rewards ``r_i(z) ~ U(0, 1)``, match reward 1. A uniform policy reaches 0.82-0.87 of the oracle
and naive Q 0.93-0.97 of the normalised range: value passing barely matters there.

**commit** (T2's handoff-probability scan): ``z = (mode, level)``, two modes of
``n_interface / 2`` commitment levels. Each primitive step commits the artifact one level further
with probability ``commit_rate``; a handoff re-opens one level, and an artifact re-opened to
level 0 gets a fresh random mode; the task ends at a handoff with probability ``end_prob``.
Per-step rewards depend on (agent, mode). A long invocation (small ``p``) commits the artifact
faster than handoffs re-open it, so the mode freezes: the handoff-level chain mixes *slower* as
``p`` falls (in the other families a longer invocation moves the state further per handoff and
mixing gets faster).

Common to all families (all draws from ``numpy.random.default_rng(instance_seed)``):

* **Latent states**: each interface state ``z`` has ``latent_per_interface`` latent states
  ``s``. Agent ``i``'s primitive kernel is *lumpable*: ``P_i(s' | s) = Pz_i(z' | z) *
  W_i(s' | s, z')``; rewards depend on ``z`` only. Hence the interface state is an *exact*
  information state: at ``rho = 1`` the AIS gap is zero (eps = delta = 0).
* **Agents** are pre-configured: agent ``i``'s invocation follows ``P_i`` and ends after each
  primitive step with the *handoff probability* ``p`` (or at ``tau_max`` steps); at its start
  the agent commits to a successor ``k`` (paying ``c[i, k]``, earning the match reward).
* **Private states**: ``xi_i in {0 .. n_private-1}`` counts agent ``i``'s invocations modulo
  ``n_private``; kept while inactive and seen only by ``i``; it enters neither rewards nor
  transitions. ``n_private = 1`` (default) removes it.
* **Observation** (retention ratio ``rho in (0, 1]``): the interface states are merged into
  ``m = ceil(rho * n_interface)`` groups of (near) equal size; ``merge`` decides which states
  share a group (``rank``: a random ranking, consecutive ranks merged; ``random``: a fresh
  random ranking per ``merge_seed``; ``similar`` / ``dissimilar``: value-aware, see
  :func:`_groups`). Agent ``i`` observes ``(group(z),)`` (or ``(group(z), xi_i)``).
* **Episodes** start with agent 0 active in a uniform non-goal latent state; a ``horizon`` caps
  the number of handoffs (a truncation: the exact model has none, so keep ``gamma**horizon``
  negligible).

:meth:`SyntheticICSMDP.model` returns the exact decision-epoch model for
:mod:`handoffq.theory`; :class:`SyntheticVecEnv` steps many episodes at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import numpy as np

from handoffq.config import option
from handoffq.core.env import (
    EnvError,
    PreconfiguredAgents,
    SeededRng,
    Transition,
    VecLocalStep,
    VecTransition,
    check_step,
)
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
    goal_max: float = option(0.15, "dense family: largest per-step probability of reaching the goal", min=0.0,
                             max=1.0)
    goal_reward: float = option(1.0, "reward for reaching the goal (concluding the task)")
    cost_max: float = option(0.05, "largest handoff cost c[i, k]", min=0.0)
    match_reward: float = option(0.1, "scale of the immediate reward for handing to a suitable successor", min=0.0)
    admit_prob: float = option(0.5, "probability that an agent may call each other agent", min=0.0, max=1.0)
    dirichlet: float = option(0.3, "Dirichlet concentration of the random kernels", above=0.0)
    instance_seed: int = option(0, "seed of the random instance", min=0)
    family: str = option("workflow", "instance family: workflow (default), dense (original) or commit (T2's p scan)",
                         choices=("workflow", "dense", "commit"))
    n_stages: int = option(4, "workflow family: stages of the task", min=1)
    n_finishers: int = option(1, "workflow family: agents that can conclude the task", min=1)
    competence_hi: float = option(0.5, "workflow family: a specialist's per-step chance to advance (x U(0.5, 1))",
                                  min=0.0, max=1.0)
    competence_lo: float = option(0.05, "workflow family: a non-specialist's per-step chance to advance (x U(0, 1))",
                                  min=0.0, max=1.0)
    regress: float = option(0.05, "workflow family: per-step chance to fall back a stage (rework)", min=0.0, max=1.0)
    step_cost: float = option(0.02, "workflow family: cost of each primitive step (compute)", min=0.0)
    commit_rate: float = option(0.5, "commit family: per-step chance to commit the artifact one level further",
                                min=0.0, max=1.0)
    end_prob: float = option(0.02, "commit family: chance that the task ends at a handoff", min=0.0, max=1.0)
    merge: str = option("rank", "which interface states share an observed group: rank, random, similar, dissimilar",
                        choices=("rank", "random", "similar", "dissimilar"))
    merge_seed: int = option(0, "seed of a random merge design", min=0)

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
        _check(self.family in FAMILIES, f"family must be one of {FAMILIES}, got {self.family!r}")
        _check(self.merge in MERGES, f"merge must be one of {MERGES}, got {self.merge!r}")
        _check(self.n_stages >= 1, "n_stages must be >= 1")
        _check(0.0 <= self.competence_lo <= self.competence_hi and self.competence_hi + self.regress <= 1.0,
               "need 0 <= competence_lo <= competence_hi and competence_hi + regress <= 1")
        _check(self.step_cost >= 0.0, "step_cost must be >= 0")
        _check(1 <= self.n_finishers <= self.n_agents - 1, "n_finishers must be in [1, n_agents - 1]")

    @staticmethod
    def dense(**overrides: object) -> SyntheticConfig:
        """The original *dense* family (random Dirichlet kernels, per-step rewards U(0, 1),
        a large match reward); kept for comparison: value passing barely matters there."""
        base: dict[str, object] = dict(family="dense", cost_max=0.2, match_reward=1.0, admit_prob=0.75,
                                       dirichlet=0.5)
        base.update(overrides)
        return SyntheticConfig(**base)  # type: ignore[arg-type]

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
    handoff: np.ndarray | None = None  # (nS, nS + 1): applied at the end of an invocation


FAMILIES = ("workflow", "dense", "commit")
MERGES = ("rank", "similar", "dissimilar", "random")


def build_instance(cfg: SyntheticConfig) -> _Instance:
    """Draw an instance's kernels, rewards, costs and admissible sets."""
    if cfg.family == "workflow":
        return _build_workflow(cfg)
    if cfg.family == "commit":
        return _build_commit(cfg)
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
    return _finish(rng, cfg, kernel, reward, _two_each)


def _finish(
    rng: np.random.Generator,
    cfg: SyntheticConfig,
    kernel: np.ndarray,
    reward: np.ndarray,
    connect: Callable[[np.random.Generator, np.ndarray], None],
    handoff: np.ndarray | None = None,
) -> _Instance:
    """The draws every family ends with, in this order: handoff costs, admissible sets (then
    ``connect``-ed in place), the interface states' merge ranks and the match rewards."""
    n, nz = cfg.n_agents, cfg.n_interface
    cost = rng.uniform(0.0, cfg.cost_max, size=(n, n))
    np.fill_diagonal(cost, 0.0)
    adm = rng.random((n, n)) < cfg.admit_prob
    np.fill_diagonal(adm, True)
    connect(rng, adm)
    rank = np.argsort(rng.permutation(nz))
    match = cfg.match_reward * rng.uniform(0.0, 1.0, size=(nz, n))
    return _Instance(kernel, reward, cost, adm, rank, match, handoff)


def _two_each(rng: np.random.Generator, adm: np.ndarray) -> None:
    """Give every agent with no admissible successor but itself one other, at random."""
    n = len(adm)
    for i in range(n):
        if adm[i].sum() < 2:
            others = [k for k in range(n) if k != i]
            adm[i, others[rng.integers(len(others))]] = True


def _cycle(rng: np.random.Generator, adm: np.ndarray) -> None:
    """Admit a random cycle through all agents: every role reaches every other."""
    cycle = rng.permutation(len(adm))
    adm[cycle, np.roll(cycle, -1)] = True


def _build_workflow(cfg: SyntheticConfig) -> _Instance:
    """The staged *workflow* family (see the module docstring)."""
    rng = np.random.default_rng(cfg.instance_seed)
    n, nz, lat = cfg.n_agents, cfg.n_interface, cfg.latent_per_interface
    st = min(cfg.n_stages, nz)
    ns = nz * lat
    stage = (np.arange(nz) * st) // nz  # near-equal stages of consecutive interface states
    members = [np.flatnonzero(stage == g) for g in range(st)]
    finishers = 1 + rng.permutation(n - 1)[: cfg.n_finishers]
    # the specialist of every interface state; only finishers are specialists of the last stage
    spec = rng.integers(n, size=nz)
    last = stage == st - 1
    spec[last] = finishers[rng.integers(len(finishers), size=int(last.sum()))]
    comp = cfg.competence_lo * rng.random((n, nz))
    comp[spec, np.arange(nz)] = cfg.competence_hi * rng.uniform(0.5, 1.0, size=nz)
    comp[:, last] *= np.isin(np.arange(n), finishers)[:, None]  # only finishers conclude
    kernel = np.zeros((n, ns, ns + 1))
    for i in range(n):
        pz = np.zeros((nz, nz))
        for z in range(nz):
            sg = stage[z]
            same = rng.dirichlet(np.full(len(members[sg]), cfg.dirichlet))
            up = rng.dirichlet(np.full(len(members[min(sg + 1, st - 1)]), cfg.dirichlet))
            down = rng.dirichlet(np.full(len(members[max(sg - 1, 0)]), cfg.dirichlet))
            adv = comp[i, z]
            back = cfg.regress if sg > 0 else 0.0
            stay = 1.0 - adv - back
            pz[z, members[sg]] += stay * same
            if sg > 0:
                pz[z, members[sg - 1]] += back * down
            if sg < st - 1:
                pz[z, members[sg + 1]] += adv * up
        goal = np.where(last, comp[i], 0.0)
        w = rng.dirichlet(np.ones(lat), size=(ns, nz))  # (s, z', lat)
        kernel[i, :, :ns] = (pz[np.arange(ns) // lat][:, :, None] * w).reshape(ns, ns)
        kernel[i, :, ns] = goal[np.arange(ns) // lat]
    reward = np.full((n, nz), -cfg.step_cost)
    return _finish(rng, cfg, kernel, reward, _cycle)


def _build_commit(cfg: SyntheticConfig) -> _Instance:
    """The *commitment* family (T2's handoff-probability scan; see the module docstring)."""
    rng = np.random.default_rng(cfg.instance_seed)
    n, nz, lat = cfg.n_agents, cfg.n_interface, cfg.latent_per_interface
    if nz % 2:
        raise EnvError("the commit family needs an even n_interface (two modes)")
    c_levels = nz // 2
    ns = nz * lat
    mode, level = np.arange(nz) // c_levels, np.arange(nz) % c_levels
    up = mode * c_levels + np.minimum(level + 1, c_levels - 1)
    kernel = np.zeros((n, ns, ns + 1))
    for i in range(n):
        pz = np.zeros((nz, nz))
        pz[np.arange(nz), up] += cfg.commit_rate
        pz[np.arange(nz), np.arange(nz)] += 1.0 - cfg.commit_rate
        w = rng.dirichlet(np.ones(lat), size=(ns, nz))
        kernel[i, :, :ns] = (pz[np.arange(ns) // lat][:, :, None] * w).reshape(ns, ns)
    # per-step reward: each agent earns by mode (its specialty), a little by level
    base = rng.uniform(0.0, 1.0, size=(n, 2))
    reward = base[:, mode] + 0.1 * rng.uniform(0.0, 1.0, size=(n, nz))
    # the handoff re-opens one level; a fully re-opened artifact is re-targeted (mode redrawn)
    hz = np.zeros((nz, nz + 1))
    for z in range(nz):
        lv = max(level[z] - 1, 0)
        if lv == 0:
            hz[z, [0, c_levels]] += 0.5 * (1.0 - cfg.end_prob)
        else:
            hz[z, mode[z] * c_levels + lv] += 1.0 - cfg.end_prob
        hz[z, nz] = cfg.end_prob
    wh = rng.dirichlet(np.ones(lat), size=nz)  # latent placement within the new class
    handoff = np.zeros((ns, ns + 1))
    for s_ in range(ns):
        z = s_ // lat
        for z2 in np.flatnonzero(hz[z, :nz]):
            handoff[s_, z2 * lat : (z2 + 1) * lat] = hz[z, z2] * wh[z2]
        handoff[s_, ns] = hz[z, nz]
    return _finish(rng, cfg, kernel, reward, _cycle, handoff)


def n_groups(cfg: SyntheticConfig) -> int:
    """Number of observed interface groups ``m = ceil(rho * n_interface)``."""
    return max(1, min(cfg.n_interface, math.ceil(cfg.rho * cfg.n_interface - 1e-9)))


def value_signature(cfg: SyntheticConfig, inst: _Instance) -> np.ndarray:
    """Each interface state's optimal values ``Q*(i, z, k)`` over agents and admissible
    successors (exact at ``rho = 1``, where Q* depends on the latent state only through
    ``z``), shape ``(n_interface, n_features)``; what the value-aware merges compare."""
    from handoffq.theory.solve import value_iteration

    full = replace(cfg, rho=1.0, merge="rank", n_private=1)
    model = build_model(full, inst)
    q = value_iteration(model)
    lat, ns = cfg.latent_per_interface, cfg.n_interface * cfg.latent_per_interface
    feats = []
    for i in range(cfg.n_agents):
        rows = i * ns + np.arange(0, ns, lat)  # first latent state of every z (lumpable)
        feats.append(q[rows][:, inst.admissible[i]])
    return np.concatenate(feats, axis=1)


def _groups(cfg: SyntheticConfig, inst: _Instance) -> np.ndarray:
    """Observed group of every interface state under the config's merge design.

    All designs give ``m = n_groups(cfg)`` groups of (near) equal size; they differ in
    *which* interface states share a group:

    * ``rank``: a random ranking (drawn with the instance), consecutive ranks merged;
    * ``random``: a fresh random ranking per ``merge_seed``, consecutive ranks merged;
    * ``similar``: states ordered along the first principal axis of their optimal values
      (:func:`value_signature`), consecutive states merged (value-similar groups);
    * ``dissimilar``: the same order dealt round-robin into the groups (each group spans the
      whole value range: value-dissimilar groups).
    """
    nz, m = cfg.n_interface, n_groups(cfg)
    if m == nz:
        order = inst.rank if cfg.merge == "rank" else np.arange(nz)
        return order.astype(np.int64) if cfg.merge == "rank" else np.arange(nz, dtype=np.int64)
    if cfg.merge == "rank":
        rank = inst.rank
    elif cfg.merge == "random":
        rank = np.argsort(np.random.default_rng([cfg.instance_seed, cfg.merge_seed, 7]).permutation(nz))
    else:
        sig = value_signature(cfg, inst)
        sig = sig - sig.mean(axis=0)
        _, _, vt = np.linalg.svd(sig, full_matrices=False)
        proj = sig @ vt[0]
        rank = np.argsort(np.argsort(proj, kind="stable"), kind="stable")
        if cfg.merge == "dissimilar":
            return (rank % m).astype(np.int64)
    return ((rank * m) // nz).astype(np.int64)


class SyntheticICSMDP(PreconfiguredAgents, SeededRng):
    """A single synthetic IC-SMDP episode simulator implementing :class:`HandoffEnv`."""

    simulated = True
    NAME = "the synthetic IC-SMDP"

    def __init__(self, config: SyntheticConfig | None = None, seed: int | None = None) -> None:
        self.config = config or SyntheticConfig()
        cfg = self.config
        self.inst = build_instance(cfg)
        self.n_agents = cfg.n_agents
        self.agent_names = tuple(f"agent_{i}" for i in range(cfg.n_agents))
        self.gamma = cfg.gamma
        self.n_latent = cfg.n_interface * cfg.latent_per_interface
        self.m = n_groups(cfg)
        self.group = _groups(cfg, self.inst)  # z -> observed group
        self._cum = np.cumsum(self.inst.kernel, axis=2)
        self._candidates = tuple(range(cfg.n_agents))
        self.reset(seed)

    # ----------------------------------------------------------- HandoffEnv
    def reset(self, seed: int | None = None) -> None:
        """Agent 0 active in a uniform non-goal latent state."""
        self._seed_rng(seed)
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

    def step(self, successor: int) -> Transition:
        """Play the active agent's invocation and hand off to ``successor``."""
        check_step(self, successor, self._done)
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
        if self.inst.handoff is not None:
            nxt = int(np.searchsorted(np.cumsum(self.inst.handoff[self._s]), self._rng.random(), side="right"))
            if nxt >= goal:
                self._done = True
                return Transition(tau, ret, True, False)
            self._s = nxt
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
    kernel_i: np.ndarray, rew_z: np.ndarray, cfg: SyntheticConfig, handoff: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Expected invocation reward, discounted and plain next-state kernels, E[gamma^tau]
    (``handoff``: the kernel applied to the state at the end of a non-terminated invocation;
    its last column ends the episode)."""
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
    if handoff is not None:
        disc = disc @ handoff[:, :ns]
        plain = plain @ handoff[:, :ns]
    return r_inv, disc, plain, gtau


def build_model(cfg: SyntheticConfig, inst: _Instance) -> FiniteModel:
    """Exact decision-epoch model (see :class:`~handoffq.theory.model.FiniteModel`)."""
    n, lat, npv = cfg.n_agents, cfg.latent_per_interface, cfg.n_private
    ns = cfg.n_interface * lat
    n_codes = npv**n
    nx = n * ns * n_codes
    m = n_groups(cfg)
    group = _groups(cfg, inst)
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
        r_inv, d_i, p_i, g_i = _option_arrays(inst.kernel[i], inst.reward[i], cfg, inst.handoff)
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


def alias_tables(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables of the rows of ``probs`` (``(R, W)``, rows summing to 1).

    Sampling row ``r``: draw ``u ~ U(0, 1)``, let ``c = floor(u W)`` and ``f = u W - c``; the
    outcome is ``c`` if ``f < accept[r, c]`` else ``alias[r, c]`` - O(1) work per draw.
    """
    rows, w = probs.shape
    accept = np.ones((rows, w))
    alias = np.tile(np.arange(w), (rows, 1))
    for r in range(rows):
        scaled = probs[r] * (w / probs[r].sum())
        small = [c for c in range(w) if scaled[c] < 1.0]
        large = [c for c in range(w) if scaled[c] >= 1.0]
        while small and large:
            lo, hi = small.pop(), large.pop()
            accept[r, lo] = scaled[lo]
            alias[r, lo] = hi
            scaled[hi] = scaled[hi] + scaled[lo] - 1.0
            (small if scaled[hi] < 1.0 else large).append(hi)
        for c in small + large:  # numerical leftovers: accept with certainty
            accept[r, c] = 1.0
    return accept, alias


class SyntheticVecEnv(SeededRng):
    """``n_envs`` synthetic IC-SMDP episodes stepped together with numpy (same dynamics).

    :meth:`step` is vectorised over slots *and* primitive steps: each slot's handoff time is
    drawn up front (``min(Geometric(p), tau_max)``: the law of :class:`SyntheticICSMDP`'s
    per-step coin), the slots are sorted by it once, so that the slots still running at
    primitive step ``t`` are a prefix, and each primitive step is one O(1) alias-table draw
    per running slot on contiguous arrays. The goal is an absorbing row of the table (zero
    reward), so an episode that ends mid-invocation needs no compaction.
    """

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
        self.group = _groups(cfg, self.inst)
        ns, n = self.n_latent, cfg.n_agents
        ext = np.zeros((n, ns + 1, ns + 1))  # one absorbing goal row per agent
        ext[:, :ns, :] = self.inst.kernel
        ext[:, ns, ns] = 1.0
        acc, ali = alias_tables(ext.reshape(n * (ns + 1), ns + 1))
        self._accept = acc.reshape(-1)
        self._alias = ali.reshape(-1)
        self._width = ns + 1
        self._z_of = np.arange(ns) // cfg.latent_per_interface
        self._obs_of_s = np.append(self.group[self._z_of], 0)  # (the goal entry is never read)
        step_r = np.zeros((n, ns + 1))
        step_r[:, :ns] = self.inst.reward[:, self._z_of]
        self._step_reward = step_r.reshape(-1)  # indexed by agent * (ns + 1) + s
        self._adm = self.inst.admissible.copy()
        self._masks = [np.broadcast_to(self._adm[a], (self.n_envs, n)) for a in range(n)]  # sliced per call
        self._gpow = cfg.gamma ** np.arange(cfg.tau_max + 1)
        self._h_alias = None if self.inst.handoff is None else alias_tables(self.inst.handoff)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Fresh episodes everywhere."""
        self._seed_rng(seed)
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
        g = self._obs_of_s[self._s[slots]]
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
        """The agent's admissible row, repeated (a read-only broadcast view)."""
        return self._masks[agent][: len(slots)]

    def latent_state(self, slots: np.ndarray) -> np.ndarray:
        """Latent decision-epoch state index (as in :meth:`SyntheticICSMDP.model`) of each slot
        (privileged: oracle baselines only)."""
        cfg = self.config
        code = np.zeros(len(slots), dtype=np.int64)
        for a in range(cfg.n_agents):
            code = code * cfg.n_private + self._xi[slots, a]
        return (self._active[slots] * self.n_latent + self._s[slots]) * cfg.n_private**cfg.n_agents + code

    def resample(self, dist: np.ndarray) -> None:
        """Put every slot in an independent draw from ``dist`` over the model's decision-epoch
        states (a sampling control: i.i.d. states instead of a Markov stream; privileged)."""
        cfg = self.config
        x = self._rng.choice(len(dist), size=self.n_envs, p=dist / dist.sum())
        n_codes = cfg.n_private**cfg.n_agents
        code = x % n_codes
        rest = x // n_codes
        self._active[:] = rest // self.n_latent
        self._s[:] = rest % self.n_latent
        for a in range(cfg.n_agents - 1, -1, -1):
            self._xi[:, a] = code % cfg.n_private
            code //= cfg.n_private

    def local_actions(self, agent: int) -> int:
        """Pre-configured agents: none."""
        return 0

    def act(self, slots: np.ndarray, actions: np.ndarray) -> VecLocalStep:
        """Not available: every agent is pre-configured."""
        raise EnvError("the synthetic IC-SMDP has pre-configured agents only (no local actions)")

    def step(self, successors: np.ndarray, slots: np.ndarray | None = None) -> VecTransition:
        """One invocation in every slot, or in ``slots`` only (see the class docstring)."""
        rows = None if slots is None else np.asarray(slots, dtype=np.int64)
        agent = self._active if rows is None else self._active[rows]
        s0 = self._s if rows is None else self._s[rows]
        successors = np.asarray(successors, dtype=np.int64)
        ret = self.inst.match[self._z_of[s0], successors] - self.inst.cost[agent, successors]
        s, tau, acc = self._invocations(agent, s0)
        ret += acc
        if self._h_alias is not None:  # the handoff kernel acts on the state handed over
            s = self._hand_over(s)
        term = s == self.n_latent
        trunc = self._commit(rows, agent, successors, s, term)
        return VecTransition(tau, ret, term, trunc)

    def _invocations(self, agent: np.ndarray, s0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Play the invocations of agents ``agent`` from latent states ``s0``: the states they
        end in (``n_latent`` = the goal), their durations and discounted rewards.

        Each handoff time is drawn up front and the slots are sorted by it (longest first), so
        the slots still running at primitive step ``t`` are a prefix: every step works on
        contiguous slices, one alias-table draw per running slot.
        """
        cfg, rng, b = self.config, self._rng, len(s0)
        ns, width = self.n_latent, self._width
        tau_draw = np.minimum(rng.geometric(cfg.p, size=b), cfg.tau_max)  # the per-step coin's law
        order = np.argsort(-tau_draw.astype(np.int16), kind="stable")
        n_run = np.bincount(tau_draw, minlength=cfg.tau_max + 2)[::-1].cumsum()[::-1]  # n_run[t]: tau >= t
        base = agent[order] * width  # row offset of each (sorted) slot's agent
        s = s0[order]
        acc = np.zeros(b)
        t_hit = np.zeros(b, dtype=np.int64)
        accept, alias, step_r = self._accept, self._alias, self._step_reward
        for t in range(1, cfg.tau_max + 1):
            m = int(n_run[t])
            if m == 0:
                break
            st = s[:m]
            row = base[:m] + st
            u = rng.random(m) * width
            col = u.astype(np.int64)
            flat = row * width + col
            nxt = np.where(u - col < accept[flat], col, alias[flat])
            r = step_r[row]
            new_goal = (nxt == ns) & (st != ns)
            if new_goal.any():
                r = r + cfg.goal_reward * new_goal
                t_hit[:m][new_goal] = t
            acc[:m] += self._gpow[t - 1] * r
            s[:m] = nxt
        tau_s = np.where(s == ns, t_hit, tau_draw[order])
        out_s, tau, out_acc = np.empty_like(s), np.empty(b, dtype=np.int64), np.empty(b)
        out_s[order], tau[order], out_acc[order] = s, tau_s, acc
        return out_s, tau, out_acc

    def _hand_over(self, s: np.ndarray) -> np.ndarray:
        """Apply the end-of-invocation handoff kernel to the live states ``s`` (commit family)."""
        assert self._h_alias is not None
        h_acc, h_ali = self._h_alias
        live = (s != self.n_latent).nonzero()[0]
        u = self._rng.random(live.size) * self._width
        col = u.astype(np.int64)
        row = s[live]
        s[live] = np.where(u - col < h_acc[row, col], col, h_ali[row, col])
        return s

    def _commit(
        self, rows: np.ndarray | None, agent: np.ndarray, successors: np.ndarray, s: np.ndarray, term: np.ndarray
    ) -> np.ndarray:
        """Store the new states, hand control to the successors; return the truncation flags."""
        cfg = self.config
        hi = (~term).nonzero()[0]
        if rows is None:
            self._s[:] = s
            slot_hi = hi
        else:
            self._s[rows] = s
            slot_hi = rows[hi]
        if cfg.n_private > 1:
            self._xi[slot_hi, agent[hi]] = (self._xi[slot_hi, agent[hi]] + 1) % cfg.n_private
        self._active[slot_hi] = successors[hi]
        self._handoffs[slot_hi] += 1
        handoffs = self._handoffs if rows is None else self._handoffs[rows]
        return ~term & (handoffs >= cfg.horizon)
