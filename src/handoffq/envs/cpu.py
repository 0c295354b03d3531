"""Multi-agent CPU programming as the paper states it (section 5.3): values in, no program.

An episode is a pair ``(initial memory, target memory)``. Nothing else is given: no opcode, no
instruction, no provenance tag, no ready bit of another unit, nothing the environment computed
about correctness. Six adaptable agents - starter, two loaders, ALU, selector, writer - each see
their *visible register block* with the integer values in it and must turn the memory into the
target. This is a software model of a toy CPU (no hardware is involved): outputs say so.

**Machine.** Three memory cells ``M = (M0, M1, M2)`` hold integers of ``[0, V)`` (default
``V = 100``); the datapath has four registers ``RA``, ``RB`` (the loaders'), ``ACC`` (the ALU's)
and ``WD`` (write data, the selector's), each empty or holding an integer of ``[0, V)``.

======== ============================================================================
agent    local actions (an activation is exactly one)
======== ============================================================================
starter  ``START`` (its only action)
loader_a ``LOAD c``: ``RA <- M[c]``, c in 0..2
loader_b ``LOAD c``: ``RB <- M[c]``
alu      ``ADD`` / ``SUB`` / ``RSUB``: ``ACC <- RA+RB``, ``RA-RB``, ``RB-RA`` (mod ``V``)
selector route ``RA`` / ``RB`` / ``ACC`` into ``WD`` (an empty source leaves ``WD`` as it was)
writer   ``WRITE c``: ``M[c] <- WD``
======== ============================================================================

**Visible blocks** (``blocks``). Every unit sees the register file ``M`` (it is wired to it) and
the target ``T`` (the job, in raw values: the counterpart of the instruction register every unit
of a CPU reads, but undecoded) plus datapath registers as ``(valid, value)`` pairs (value 0 when
empty). With ``blocks="datapath"`` (default) every unit sees the four datapath registers (the
shared bus state every unit is wired to, not another unit's private memory: the registers are
the *shared state* the units transform, like the memory); with ``blocks="local"`` a unit sees
only the registers it reads or writes (:data:`BLOCK_REGS`; an inexact AIS, measured as an
ablation). Observations are tuples of integers (a MultiDiscrete space: ``V`` symbols per value,
2 per valid bit); how a network reads them is the learner's business
(:class:`~handoffq.learn.value_mlp.ValueMLPEstimator`).

**Handoffs.** After its local action the active unit hands off to a successor. Candidates: the
five datapath units other than itself and, for every unit but the starter, the starter: *calling
the starter halts the machine* (control returns to the fetch unit; the episode ends). The
interface decides who can be called from register contents only (``K(z)``, not another unit's
private state): the loaders always; the ALU when ``RA`` and ``RB`` hold values; the selector when
one of its sources does; the writer when ``WD`` does; the starter (halt) only from the writer
(the writer commits and halts). A unit may be called any number of times and always does one of
its operations.

**Episode, rewards.** The starter is active first. An activation is one local action (one
primitive step, :meth:`VecCPUEnv.act`) and one handoff (one primitive step, the bus transfer,
:meth:`VecCPUEnv.step`); each primitive step costs ``step_cost``. The episode terminates when the
writer halts or after ``max_activations`` activations (the cycle budget). It *succeeds* when the
memory then equals the target exactly (exact-match accuracy); the last step earns
``success_reward``.

**Task kinds** (:data:`KINDS`; the kind is never observed; a target may be reachable by several
programs and any of them counts). With ``X, Y, Z = M0, M1, M2``:

====== ========================= ===============================================
kind   target                     a shortest program (activations)
====== ========================= ===============================================
MAX    ``(X, Y, max(X, Y))``     S, LA, LB, SEL, W (5): a selection
MIN    ``(X, Y, min(X, Y))``     S, LA, LB, SEL, W (5): a selection
ADD    ``(X, Y, X + Y)``         S, LA, LB, ALU, SEL, W (6)
DIFF   ``(X, Y, |X - Y|)``       S, LA, LB, ALU, SEL, W (6): SUB or RSUB by comparison
SWAP   ``(Y, X, Z)``             S, LA, LB, SEL, W, SEL, W (7)
FIB    ``(Y, X + Y, Z)``         S, LA, LB, ALU, SEL, W, SEL, W (8)
====== ========================= ===============================================

So the right order of units differs by kind (skip the ALU for a selection, return from the
writer to the selector for the two-write kinds). A fixed pipeline S, LA, LB, ALU, SEL, W, (LA,
...) reloads ``RA`` and ``RB`` on its second cycle from a memory the first write already
overwrote, so it solves SWAP only when ``Z`` holds a copy of ``X`` or ``Y``
(:func:`handoffq.baselines.cpu.pipeline_feasible`).

**Splits.** :func:`split_range` gives the training part ``[0, ceil(f V))`` and the held-out part
``[ceil(f V), V)``; :func:`sample_tasks` draws tasks whose memory *and* target values all lie in
one part (rejection sampling per kind); every sampled target differs from its memory.

**Shaping (generic, potential-based).** With ``shaping`` each primitive step also earns
``F = gamma * Phi(s') - Phi(s)`` with ``Phi = 0`` once the episode has ended, where
:func:`potential` counts, against the target only, ``cell_weight`` per memory cell equal to its
target and ``register_weight`` per unmet target cell whose value some datapath register holds.
It names no kind, unit, operation or order. The terms telescope: the discounted shaped return
of any trajectory is its unshaped return minus ``Phi(s_0)``, a constant of the task, so every
policy's ranking and the optimal team are unchanged (Ng, Harada & Russell 1999; a test checks it
trajectory by trajectory).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from handoffq.core.env import EnvError, LocalStep, Transition, VecLocalStep, VecTransition

__all__ = [
    "AGENT_NAMES",
    "ALU",
    "BLOCK_REGS",
    "CANDIDATES",
    "DEFAULT_KINDS",
    "HALT",
    "KINDS",
    "LOADER_A",
    "LOADER_B",
    "N_CELLS",
    "N_LOCAL",
    "SELECTOR",
    "STARTER",
    "WRITER",
    "CPUConfig",
    "CPUEnv",
    "TaskSet",
    "VecCPUEnv",
    "feasible_kinds",
    "kind_target",
    "potential",
    "sample_tasks",
    "split_range",
]

KINDS: tuple[str, ...] = ("MAX", "MIN", "ADD", "DIFF", "SWAP", "FIB")
DEFAULT_KINDS: tuple[str, ...] = ("MAX", "MIN", "ADD", "DIFF", "SWAP")
AGENT_NAMES: tuple[str, ...] = ("starter", "loader_a", "loader_b", "alu", "selector", "writer")
STARTER, LOADER_A, LOADER_B, ALU, SELECTOR, WRITER = range(6)
HALT = STARTER  # handing off to the starter halts the machine
N_CELLS = 3
RA, RB, ACC, WD = range(4)  # register indices
ALU_ADD, ALU_SUB, ALU_RSUB = range(3)
N_LOCAL: tuple[int, ...] = (1, N_CELLS, N_CELLS, 3, 3, N_CELLS)
# registers each unit reads or writes (its block with blocks="local")
BLOCK_REGS: tuple[tuple[int, ...], ...] = ((), (RA,), (RB,), (RA, RB, ACC), (RA, RB, ACC, WD), (WD,))
# successor candidates: every datapath unit but itself, then the starter (= halt; not for itself)
CANDIDATES: tuple[tuple[int, ...], ...] = tuple(
    tuple(k for k in (LOADER_A, LOADER_B, ALU, SELECTOR, WRITER) if k != i) + ((HALT,) if i != STARTER else ())
    for i in range(6)
)
_ARITH = ("ADD", "DIFF", "FIB")


@dataclass(frozen=True)
class CPUConfig:
    """Machine and reward parameters (see the module docstring)."""

    value_range: int = field(default=100, metadata={"help": "integers are in [0, value_range)"})
    kinds: tuple[str, ...] = field(default=DEFAULT_KINDS, metadata={"help": "task kinds, sampled uniformly"})
    gamma: float = field(default=0.97, metadata={"help": "discount per primitive step"})
    step_cost: float = field(default=0.0, metadata={"help": "cost of every primitive step"})
    success_reward: float = field(default=1.0, metadata={"help": "reward when memory == target at the end"})
    max_activations: int = field(default=12, metadata={"help": "cycle budget (activations per episode)"})
    shaping: bool = field(default=True, metadata={"help": "add the generic potential-based shaping"})
    cell_weight: float = field(default=0.1, metadata={"help": "potential per memory cell equal to its target"})
    register_weight: float = field(default=0.05, metadata={
        "help": "potential per unmet target value held in a datapath register"})
    blocks: str = field(default="datapath", metadata={
        "help": "datapath: every unit sees the four datapath registers; local: only those it reads or writes"})

    def __post_init__(self) -> None:
        if not isinstance(self.value_range, int) or self.value_range < 4:
            raise EnvError(f"value_range must be an integer >= 4, got {self.value_range!r}")
        kinds = tuple(self.kinds)
        if not kinds or any(k not in KINDS for k in kinds) or len(set(kinds)) != len(kinds):
            raise EnvError(f"kinds must be distinct names from {KINDS}, got {kinds}")
        object.__setattr__(self, "kinds", kinds)
        if not 0.0 < self.gamma <= 1.0:
            raise EnvError(f"gamma must be in (0, 1], got {self.gamma}")
        for name in ("step_cost", "success_reward", "cell_weight", "register_weight"):
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0:
                raise EnvError(f"{name} must be a finite number >= 0, got {v}")
        if self.blocks not in ("local", "datapath"):
            raise EnvError(f"blocks must be 'local' or 'datapath', got {self.blocks!r}")
        if self.max_activations < 2:
            raise EnvError(f"max_activations must be >= 2, got {self.max_activations}")


@dataclass(frozen=True)
class TaskSet:
    """``n`` tasks: ``memory`` and ``target`` ``(n, 3)`` ints, ``kind`` ``(n,)`` (the index in
    :data:`KINDS` of the kind that generated it: diagnostics only, never observed)."""

    memory: np.ndarray
    target: np.ndarray
    kind: np.ndarray

    def __len__(self) -> int:
        return int(self.memory.shape[0])

    def subset(self, idx: np.ndarray) -> TaskSet:
        """The tasks at ``idx``."""
        return TaskSet(self.memory[idx], self.target[idx], self.kind[idx])


def kind_target(kind: str, memory: np.ndarray) -> np.ndarray:
    """Targets of ``kind`` for memories ``(n, 3)`` (plain integers; may leave the range)."""
    x, y, z = memory[:, 0], memory[:, 1], memory[:, 2]
    table = {
        "MAX": (x, y, np.maximum(x, y)),
        "MIN": (x, y, np.minimum(x, y)),
        "ADD": (x, y, x + y),
        "DIFF": (x, y, np.abs(x - y)),
        "SWAP": (y, x, z),
        "FIB": (y, x + y, z),
    }
    if kind not in table:
        raise EnvError(f"unknown task kind {kind!r} (known: {', '.join(KINDS)})")
    return np.stack(table[kind], 1)


def split_range(value_range: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Training part ``[0, ceil(f V))`` and held-out part ``[ceil(f V), V)`` of the range.

    ``fraction = 1`` holds nothing out: both parts are then the whole range (in-distribution).
    """
    if not 0.0 < fraction <= 1.0:
        raise EnvError(f"fraction must be in (0, 1], got {fraction}")
    cut = math.ceil(fraction * value_range)
    full = np.arange(value_range)
    if cut >= value_range:
        return full, full
    return full[:cut], full[cut:]


def feasible_kinds(values: np.ndarray, config: CPUConfig) -> tuple[str, ...]:
    """The kinds of ``config.kinds`` with tasks whose every value lies in the contiguous part
    ``values``: a sum or difference of two values of ``[lo, hi)`` fits only when ``2 lo <= hi - 1``
    (so ADD, DIFF and FIB have no task inside ``[50, 100)``)."""
    lo, hi = int(np.min(values)), int(np.max(values)) + 1
    if hi - lo < 2:
        return ()
    arith = 2 * lo <= hi - 1
    return tuple(k for k in config.kinds if arith or k not in _ARITH)


def _fill_kind(name: str, need: np.ndarray, lo: int, hi: int, mem: np.ndarray, tgt: np.ndarray,
               rng: np.random.Generator) -> None:
    """Rejection-sample the tasks of rows ``need`` (in place)."""
    for _ in range(10_000):
        if not len(need):
            return
        m = rng.integers(lo, hi, size=(len(need), N_CELLS))
        t = kind_target(name, m)
        ok = np.all((t >= lo) & (t < hi), axis=1) & np.any(t != m, axis=1)
        mem[need[ok]], tgt[need[ok]] = m[ok], t[ok]
        need = need[~ok]
    raise EnvError(f"cannot sample {name} tasks inside [{lo}, {hi})")


def sample_tasks(n: int, values: np.ndarray, config: CPUConfig, rng: np.random.Generator,
                 stratified: bool = False) -> TaskSet:
    """``n`` tasks, kinds uniform over the feasible ``config.kinds``, every memory and target
    value in the contiguous part ``values`` (the target always differs from the memory).

    ``stratified=True`` gives every kind the same number of tasks (up to one).
    """
    values = np.asarray(values, dtype=np.int64)
    lo, hi = int(values.min()), int(values.max()) + 1
    if not np.array_equal(values, np.arange(lo, hi)):
        raise EnvError("values must be a contiguous part of the range")
    names = feasible_kinds(values, config)
    if not names:
        raise EnvError(f"no task kind fits inside [{lo}, {hi})")
    kinds = rng.permutation(np.arange(n) % len(names)) if stratified else rng.integers(len(names), size=n)
    mem = np.zeros((n, N_CELLS), np.int64)
    tgt = np.zeros((n, N_CELLS), np.int64)
    for ki, name in enumerate(names):
        _fill_kind(name, np.flatnonzero(kinds == ki), lo, hi, mem, tgt, rng)
    gid = np.array([KINDS.index(k) for k in names])[kinds]
    return TaskSet(mem, tgt, gid)


def potential(memory: np.ndarray, target: np.ndarray, regs: np.ndarray, valid: np.ndarray,
              cell_weight: float, register_weight: float) -> np.ndarray:
    """Generic potential ``Phi``: ``cell_weight`` per cell equal to its target plus
    ``register_weight`` per unmet target cell whose target value a valid register holds.

    A function of (memory, registers) against the target only: it names no kind, unit or order.
    """
    met = memory == target
    held = np.any((regs[:, None, :] == target[:, :, None]) & valid[:, None, :], axis=2)
    return cell_weight * met.sum(1) + register_weight * (held & ~met).sum(1)


class VecCPUEnv:
    """``B`` CPU episodes stepped together (a :class:`~handoffq.core.env.VecHandoffEnv`).

    A restarted slot draws its task uniformly from ``tasks`` (the environment's generator);
    with ``fixed=True`` slot ``i`` always plays task ``i`` (evaluation: ``len(tasks)`` slots) and
    :attr:`solved` records, per slot, whether its last episode ended with memory == target.
    """

    simulated = True
    n_agents = 6
    agent_names = AGENT_NAMES

    def __init__(self, config: CPUConfig, n_envs: int, tasks: TaskSet, seed: int | None = None,
                 fixed: bool = False) -> None:
        if fixed and n_envs != len(tasks):
            raise EnvError(f"fixed tasks need one slot per task: n_envs={n_envs}, tasks={len(tasks)}")
        self.config = config
        self.n_envs = int(n_envs)
        self.gamma = config.gamma
        self.tasks = tasks
        self.fixed = fixed
        self.rng = np.random.default_rng(seed)
        b = self.n_envs
        self.memory = np.zeros((b, N_CELLS), np.int64)
        self.target = np.zeros((b, N_CELLS), np.int64)
        self.kind = np.zeros(b, np.int64)
        self.regs = np.zeros((b, 4), np.int64)
        self.valid = np.zeros((b, 4), bool)
        self.active_ = np.zeros(b, np.int64)
        self.activations = np.zeros(b, np.int64)
        self.solved = np.zeros(b, bool)
        self.block_regs = BLOCK_REGS if config.blocks == "local" else ((RA, RB, ACC, WD),) * 6
        v = config.value_range
        self._nvec = tuple((v,) * (2 * N_CELLS) + (2, v) * len(self.block_regs[i]) for i in range(6))
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Fresh episodes in every slot."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.reset_slots(np.arange(self.n_envs))

    def reset_slots(self, slots: np.ndarray) -> None:
        """Restart ``slots`` (their own task when fixed, else one drawn from the task set)."""
        slots = np.asarray(slots, np.int64)
        idx = slots if self.fixed else self.rng.integers(len(self.tasks), size=len(slots))
        self.memory[slots] = self.tasks.memory[idx]
        self.target[slots] = self.tasks.target[idx]
        self.kind[slots] = self.tasks.kind[idx]
        self.regs[slots] = 0
        self.valid[slots] = False
        self.active_[slots] = STARTER
        self.activations[slots] = 0

    def active(self) -> np.ndarray:
        """Active unit of every slot."""
        return self.active_.copy()

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Observation dimension sizes of ``agent``."""
        return self._nvec[agent]

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Successor candidates of ``agent`` (the starter = halt)."""
        return CANDIDATES[agent]

    def local_actions(self, agent: int) -> int:
        """Number of local actions of ``agent``."""
        return N_LOCAL[agent]

    def observe(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """``agent``'s visible blocks in ``slots``: ``(M, T, (valid, value) per register)``."""
        parts = [self.memory[slots], self.target[slots]]
        for r in self.block_regs[agent]:
            parts += [self.valid[slots, r, None].astype(np.int64), self.regs[slots, r, None]]
        return np.concatenate(parts, axis=1)

    def ready(self, slots: np.ndarray) -> np.ndarray:
        """``(n, 6)`` bool: which units the interface lets be called (column 0: halt; off)."""
        v = self.valid[slots]
        out = np.zeros((len(slots), 6), bool)
        out[:, LOADER_A] = out[:, LOADER_B] = True
        out[:, ALU] = v[:, RA] & v[:, RB]
        out[:, SELECTOR] = v[:, RA] | v[:, RB] | v[:, ACC]
        out[:, WRITER] = v[:, WD]
        return out

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Admissible candidates ``(n, len(candidates(agent)))`` of ``agent`` in ``slots``."""
        r = self.ready(slots)
        r[:, HALT] = agent == WRITER
        return r[:, list(CANDIDATES[agent])]

    def _phi(self, slots: np.ndarray) -> np.ndarray:
        c = self.config
        if not c.shaping:
            return np.zeros(len(slots))
        return potential(self.memory[slots], self.target[slots], self.regs[slots], self.valid[slots],
                         c.cell_weight, c.register_weight)

    def _apply(self, slots: np.ndarray, who: np.ndarray, actions: np.ndarray) -> None:
        """The units' local actions (register transfers)."""
        for unit, reg in ((LOADER_A, RA), (LOADER_B, RB)):
            s = who == unit
            self.regs[slots[s], reg] = self.memory[slots[s], actions[s]]
            self.valid[slots[s], reg] = True
        s = who == ALU
        sl, a = slots[s], actions[s]
        ra, rb = self.regs[sl, RA], self.regs[sl, RB]
        self.regs[sl, ACC] = np.where(a == ALU_ADD, ra + rb, np.where(a == ALU_SUB, ra - rb, rb - ra)) % (
            self.config.value_range)
        self.valid[sl, ACC] = True
        s = who == SELECTOR
        sl, a = slots[s], actions[s]
        ok = self.valid[sl, a]
        self.regs[sl[ok], WD] = self.regs[sl[ok], a[ok]]
        self.valid[sl[ok], WD] = True
        s = who == WRITER
        self.memory[slots[s], actions[s]] = self.regs[slots[s], WD]

    def act(self, slots: np.ndarray, actions: np.ndarray) -> VecLocalStep:
        """Apply the active units' local actions in ``slots`` (one primitive step each)."""
        slots = np.asarray(slots, np.int64)
        actions = np.asarray(actions, np.int64)
        who = self.active_[slots]
        if np.any((actions < 0) | (actions >= np.asarray(N_LOCAL)[who])):
            raise EnvError("local action out of range for its unit")
        phi0 = self._phi(slots)
        self._apply(slots, who, actions)
        self.activations[slots] += 1
        reward = -self.config.step_cost + self.gamma * self._phi(slots) - phi0
        none = np.zeros(len(slots), bool)
        return VecLocalStep(reward, none, none.copy())

    def step(self, successors: np.ndarray, slots: np.ndarray | None = None) -> VecTransition:
        """Hand off in ``slots`` (one primitive step, the bus transfer).

        The episode terminates on a halt or when the cycle budget is spent; then the success
        reward is paid if the memory equals the target, and the potential drops to 0.
        """
        slots = np.arange(self.n_envs) if slots is None else np.asarray(slots, np.int64)
        successors = np.asarray(successors, np.int64)
        who = self.active_[slots]
        r = self.ready(slots)
        r[:, HALT] = who == WRITER
        if np.any(successors == who) or not np.all(r[np.arange(len(slots)), successors]):
            raise EnvError("successor not admissible")
        phi = self._phi(slots)
        end = (successors == HALT) | (self.activations[slots] >= self.config.max_activations)
        ok = np.all(self.memory[slots] == self.target[slots], axis=1)
        reward = -self.config.step_cost + np.where(
            end, -phi + self.config.success_reward * ok, (self.gamma - 1.0) * phi)
        self.solved[slots[end]] = ok[end]
        cont = ~end
        self.active_[slots[cont]] = successors[cont]
        n = len(slots)
        return VecTransition(np.ones(n, np.int64), reward, end, np.zeros(n, bool))

    def success(self, slots: np.ndarray | None = None) -> np.ndarray:
        """Whether the memory equals the target in ``slots`` now."""
        s = np.arange(self.n_envs) if slots is None else slots
        return np.all(self.memory[s] == self.target[s], axis=1)

    def full_state(self, slots: np.ndarray) -> np.ndarray:
        """The whole machine state (centralised baseline only): ``M, T``, the four registers as
        ``(valid, value)`` and the active unit as six 0/1 indicators."""
        parts = [self.memory[slots], self.target[slots]]
        for r in range(4):
            parts += [self.valid[slots, r, None].astype(np.int64), self.regs[slots, r, None]]
        onehot = np.zeros((len(slots), 6), np.int64)
        onehot[np.arange(len(slots)), self.active_[slots]] = 1
        return np.concatenate([*parts, onehot], axis=1)

    def full_state_nvec(self) -> tuple[int, ...]:
        """Sizes of :meth:`full_state` dimensions."""
        v = self.config.value_range
        return (v,) * (2 * N_CELLS) + (2, v) * 4 + (2,) * 6


class CPUEnv:
    """One episode at a time (the :class:`~handoffq.core.env.HandoffEnv` protocol) over a
    one-slot :class:`VecCPUEnv`. :meth:`set_next_task` fixes the next episode's task."""

    simulated = True
    n_agents = 6
    agent_names = AGENT_NAMES

    def __init__(self, config: CPUConfig | None = None, tasks: TaskSet | None = None,
                 seed: int | None = None) -> None:
        self.config = cfg = config or CPUConfig()
        if tasks is None:
            tasks = sample_tasks(1000, np.arange(cfg.value_range), cfg, np.random.default_rng(seed))
        self.vec = VecCPUEnv(cfg, 1, tasks, seed)
        self.gamma = cfg.gamma
        self._next: TaskSet | None = None
        self._acted = False
        self._done = False
        self._s = np.zeros(1, np.int64)

    def set_next_task(self, memory: Sequence[int], target: Sequence[int]) -> None:
        """Use ``(memory, target)`` for the next :meth:`reset` only (values must be in range)."""
        m = np.asarray(memory, np.int64).reshape(1, N_CELLS)
        t = np.asarray(target, np.int64).reshape(1, N_CELLS)
        v = self.config.value_range
        if np.any((m < 0) | (m >= v) | (t < 0) | (t >= v)):
            raise EnvError(f"memory and target values must lie in [0, {v})")
        self._next = TaskSet(m, t, np.full(1, -1))

    def reset(self, seed: int | None = None) -> None:
        """New episode; the starter is active."""
        if seed is not None:
            self.vec.rng = np.random.default_rng(seed)
        self.vec.reset_slots(self._s)
        if self._next is not None:
            self.vec.memory[0], self.vec.target[0] = self._next.memory[0], self._next.target[0]
            self._next = None
        self._acted = self._done = False

    @property
    def active_agent(self) -> int:
        """The unit whose turn it is."""
        return int(self.vec.active_[0])

    @property
    def success(self) -> bool:
        """Memory equals target (meaningful once the episode ended)."""
        return bool(self.vec.success(self._s)[0])

    def observe(self, agent: int) -> tuple[int, ...]:
        """``agent``'s visible block (values included)."""
        return tuple(int(x) for x in self.vec.observe(self._s, agent)[0])

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Observation dimension sizes."""
        return self.vec.obs_nvec(agent)

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Successor candidates (the starter = halt)."""
        return CANDIDATES[agent]

    def admissible(self, agent: int) -> tuple[int, ...]:
        """Candidates the interface allows now."""
        m = self.vec.mask(self._s, agent)[0]
        return tuple(k for k, ok in zip(CANDIDATES[agent], m, strict=True) if ok)

    def local_actions(self, agent: int) -> int:
        """Number of local actions."""
        return N_LOCAL[agent]

    def act(self, local_action: int) -> LocalStep:
        """The active unit's local action (one primitive step)."""
        if self._acted or self._done:
            raise EnvError("act() must alternate with step() within a running episode")
        self._acted = True
        st = self.vec.act(self._s, np.array([int(local_action)]))
        return LocalStep(float(st.reward[0]), False, False)

    def step(self, successor: int) -> Transition:
        """Hand off (one primitive step)."""
        if not self._acted:
            raise EnvError("the active unit must act before handing off")
        self._acted = False
        tr = self.vec.step(np.array([int(successor)]), self._s)
        self._done = bool(tr.terminated[0])
        return Transition(1, float(tr.reward[0]), self._done, False)
