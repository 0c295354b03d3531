"""Multi-agent CPU programming (paper section 5.3): six adaptable agents run one instruction.

**Task family.** A machine has ``n_cells`` memory cells (default 4) holding integers of the
range ``[0, value_range)`` (default 100). A *task* is an initial memory state plus one
instruction ``(op, src1, src2, dst)`` from the available operations

* ``ADD``: ``mem[dst] <- (mem[src1] + mem[src2]) mod value_range``
* ``SUB``: ``mem[dst] <- (mem[src1] - mem[src2]) mod value_range``
* ``MAX`` / ``MIN``: ``mem[dst] <- max / min(mem[src1], mem[src2])``
* ``MOV``: ``mem[dst] <- mem[src1]``

and its *target* memory state is the result of executing it: the target differs from the
initial memory by the result of one operation on memory cells. A task may also be given as a
pair ``(memory, target)`` (:func:`task_from_target`): an instruction that turns one into the
other is then searched for, and a target no single available operation can reach, or any value
outside the range, is an :class:`~handoffq.core.env.EnvError` that names it. Sampled tasks
(:func:`sample_task`) always change the memory and keep every value inside a given part of the
range (the training or the held-out part).

**Agents and what each sees.** The interface state is the machine state: memory, the pending
instruction, the instruction register ``IR = (op, src1, src2, dst)`` (empty until the starter
fetches the instruction), the data registers ``RA``, ``RB``, ``ALU`` (result or comparison flag)
and ``WD`` (write data). Every data register carries a *provenance tag* relative to the IR, the
kind of tag a scoreboard keeps: ``RA``/``RB``: empty / operand 1 (loaded from ``src1``) /
operand 2 (from ``src2``) / other; ``ALU``: empty / sum / difference of the operands / flag
``op1 < op2`` / flag ``op1 >= op2`` / other; ``WD``: empty / the instruction's result / other
(for ``MAX``/``MIN`` the result is known only once the operands were compared). Agent ``i``
observes only its *visible register block*: the opcode of the IR (the decoded control line every
unit receives; ``n_ops`` while the IR is empty), the tags of the registers it reads or writes and
(``scoreboard=True``, the default) the *scoreboard*, the ready bit of each of the six units as one
integer in ``[0, 64)`` - the control-plane state a scoreboarded CPU's issue logic exposes. Never
an address, a register's value or a memory cell's value.

======== ======================================= ==========================================
agent    observation (+ scoreboard)              local actions (an activation is exactly one)
======== ======================================= ==========================================
starter  ``(pending op, IR valid)``              ``FETCH`` (IR <- instruction)
loader_a ``(op, RA tag)``                        ``LOAD f``: ``RA <- mem[IR.f]``, f in src1/src2/dst
loader_b ``(op, RB tag)``                        ``LOAD f``: ``RB <- mem[IR.f]``
alu      ``(op, RA tag, RB tag, ALU)``           ``ADD``, ``SUB`` (``ALU <- RA +/- RB``), ``CMP``
selector ``(op, RA, RB, ALU, WD tags)``          route ``RA`` / ``RB`` / ``ALU`` into ``WD``
writer   ``(op, WD tag)``                        ``WRITE f``: ``mem[IR.f] <- WD`` (commits)
======== ======================================= ==========================================

Local actions address memory through IR fields (addressing modes), so no decision depends on a
particular address either.

**Firing rules and handoffs.** Each unit fires at most once per instruction and only when
*ready*: the starter first; a loader once the instruction is fetched; the ALU when ``RA`` and
``RB`` are valid; the selector when one of its sources is valid; the writer when ``WD`` is
valid. Every agent may hand off to any other agent (all are always admissible, so the
PettingZoo action mask is exact); whom to call, and what each unit does, is learned. Handing
off to a unit that is not ready is a *bus fault* (``fault_on_unready=True``, the default): the
machine halts and the episode fails (with ``False`` the call merely wastes the activation).
When no unit is ready any more the machine stalls and the episode fails too.

**Dynamics, rewards, end.** The starter is active first. An activation is one local action
(:meth:`CPUEnv.act`, one primitive step) followed by a handoff (:meth:`CPUEnv.step`, one
primitive step: the bus transfer), so ``tau = 1`` per handoff and an episode has at most six
activations. Every primitive step costs ``step_cost`` (default 0.01). A ``WRITE`` commits the
result: the episode terminates, and the step earns ``success_reward`` (default 1) on top of
its cost when the memory then equals the target exactly. After ``max_steps`` primitive steps
(default 30) the cycle budget is spent: the machine halts and the episode fails (a termination,
so no value is bootstrapped past it). An episode *succeeds* when it ends with the memory equal
to the target (:attr:`CPUEnv.success`): the exact-match accuracy reported.

**Reward shaping (value-free, potential-based).** With ``shaping = c > 0`` every primitive step
also earns ``F = gamma * Phi(s') - Phi(s)`` with ``Phi(s) = c * stages_done(s)`` and ``Phi = 0``
once the episode has ended (:func:`shaping_term`). :meth:`CPUEnv.stages_done` counts the stages
of the canonical program completed so far, read from provenance tags only: IR fetched; ``RA``
holds operand 1; ``RB`` holds operand 2 and the ALU the opcode's result tag (both skipped for
``MOV``); ``WD`` holds the result. By Ng, Harada & Russell (1999) such shaping leaves every
policy's ranking unchanged: the discounted return of any episode only shifts by ``-Phi(s_0)``
(``= 0`` here), so the optimal team is the same; the reward ``R`` in each message is still one
scalar. It turns the single end-of-episode reward into a signal at each stage, which is what
lets tabular IC-Q find the six-unit programs within a few thousand handoffs (without it, the
same learners reach 0 accuracy on the same budget: see the experiment's notes).

**Why learned workflows generalise to unseen integers.** What an agent must decide - which
cell to load, which ALU operation to run, which register to route, where to write, whom to hand
off to - depends on the instruction's structure (opcode, IR fields) and on provenance tags, the
comparison flag and the scoreboard, none of which is a value: every observation is a function
of the opcode, the tags, the flag and the ready bits only (no observation dimension has more
than ``max(n_ops + 1, 64)`` symbols, whatever ``value_range`` is). A greedy team is therefore a
fixed program over these symbols; on a task from the unseen part of the range it visits exactly
the observations it visits on a training task of the same opcode and flag, takes the same
actions, and the integers flow through the data path where the ALU computes them exactly. So
a team that is correct on every opcode and flag in training is correct on unseen values, and 20%
(even 10%) of the range suffices. The learners still earn this: they must discover, from
rewards alone, the per-opcode workflow (whom to hand to) and the right local action in each
block. (Values matter only through coincidences - e.g. a wrong register that happens to hold
the right number - which are more frequent in a small training range and can only mislead,
never help, the learner.) A learner that sees the raw integers (the centralised full-state
baseline, :meth:`CPUEnv.full_state`) has no such guarantee: its inputs on unseen values are new
to it.

This is a software model of a toy CPU (no hardware is involved): outputs say ``simulated``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from handoffq.core.env import EnvError, LocalStep, Transition, check_successor

__all__ = [
    "AGENT_NAMES",
    "ALU",
    "LOADER_A",
    "LOADER_B",
    "OPS",
    "SELECTOR",
    "STARTER",
    "WRITER",
    "CPUConfig",
    "CPUEnv",
    "CPUTask",
    "apply_op",
    "make_task",
    "sample_task",
    "sample_tasks",
    "shaping_term",
    "split_range",
    "task_from_target",
    "validate_task",
]

OPS: tuple[str, ...] = ("ADD", "SUB", "MAX", "MIN", "MOV")
AGENT_NAMES: tuple[str, ...] = ("starter", "loader_a", "loader_b", "alu", "selector", "writer")
STARTER, LOADER_A, LOADER_B, ALU, SELECTOR, WRITER = range(6)

# local action ids (loaders: LOAD [IR field]; writer: WRITE [IR field])
FETCH = 0
FIELDS: tuple[str, ...] = ("src1", "src2", "dst")
ALU_ADD, ALU_SUB, ALU_CMP = 0, 1, 2
SEL_RA, SEL_RB, SEL_ALU = 0, 1, 2
# provenance tags (relative to the instruction in the IR)
T_NONE, T_OP1, T_OP2, T_OTHER = 0, 1, 2, 3  # RA, RB
# ALU output: result tag, or comparison flag (op1 < op2 / op1 >= op2)
A_NONE, A_SUM, A_DIFF, A_LT, A_GE, A_OTHER = 0, 1, 2, 3, 4, 5
W_NONE, W_RESULT, W_OTHER = 0, 1, 2  # write data
# the ALU output that completes the ALU stage of each opcode (shaping potential)
_ALU_STAGE: dict[str, tuple[int, ...]] = {
    "ADD": (A_SUM,), "SUB": (A_DIFF,), "MAX": (A_LT, A_GE), "MIN": (A_LT, A_GE), "MOV": (),
}


def shaping_term(phi_next: float, phi: float, gamma: float) -> float:
    """Potential-based shaping ``F = gamma * Phi(s') - Phi(s)`` of one primitive step.

    Summed with discount over an episode it telescopes to ``gamma**T Phi(s_T) - Phi(s_0)``
    (``Phi = 0`` at termination), so it changes no policy's ranking (Ng et al., 1999).
    """
    return gamma * phi_next - phi


@dataclass(frozen=True)
class CPUConfig:
    """Machine and reward parameters (see the module docstring)."""

    n_cells: int = 4
    value_range: int = 100
    ops: tuple[str, ...] = OPS
    gamma: float = 0.95
    step_cost: float = 0.01
    success_reward: float = 1.0
    max_steps: int = 30
    shaping: float = 0.0
    fault_on_unready: bool = True
    scoreboard: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.n_cells, int) or self.n_cells < 2:
            raise EnvError(f"n_cells must be an integer >= 2, got {self.n_cells!r}")
        if not isinstance(self.value_range, int) or self.value_range < 2:
            raise EnvError(f"value_range must be an integer >= 2, got {self.value_range!r}")
        ops = tuple(self.ops)
        if not ops:
            raise EnvError("ops must name at least one operation")
        for op in ops:
            if op not in OPS:
                raise EnvError(f"unknown operation {op!r} in ops (known: {', '.join(OPS)})")
        if len(set(ops)) != len(ops):
            raise EnvError(f"ops lists an operation twice: {ops}")
        object.__setattr__(self, "ops", ops)
        if not 0.0 < self.gamma <= 1.0:
            raise EnvError(f"gamma must be in (0, 1], got {self.gamma}")
        if self.step_cost < 0 or not math.isfinite(self.step_cost):
            raise EnvError(f"step_cost must be a finite number >= 0, got {self.step_cost}")
        if self.max_steps < 2:
            raise EnvError(f"max_steps must be >= 2, got {self.max_steps}")
        if self.shaping < 0 or not math.isfinite(self.shaping):
            raise EnvError(f"shaping must be a finite number >= 0, got {self.shaping}")

    def as_dict(self) -> dict[str, object]:
        """Plain-dict view (for config.json)."""
        return asdict(self)


@dataclass(frozen=True)
class CPUTask:
    """One task: initial memory, the instruction ``(op, src1, src2, dst)`` and the target.

    ``op`` is an operation name from :data:`OPS`. Build tasks with :func:`make_task` or
    :func:`task_from_target` (both validate); :class:`CPUEnv` validates every task it is given.
    """

    memory: tuple[int, ...]
    op: str
    src1: int
    src2: int
    dst: int
    target: tuple[int, ...]


def apply_op(op: str, a: int, b: int, value_range: int) -> int:
    """The result of operation ``op`` on operands ``a`` (``src1``) and ``b`` (``src2``)."""
    if op == "ADD":
        return (a + b) % value_range
    if op == "SUB":
        return (a - b) % value_range
    if op == "MAX":
        return max(a, b)
    if op == "MIN":
        return min(a, b)
    if op == "MOV":
        return a
    raise EnvError(f"unknown operation {op!r} (known: {', '.join(OPS)})")


def _check_values(name: str, values: Sequence[int], cfg: CPUConfig) -> tuple[int, ...]:
    vals = tuple(values)
    if len(vals) != cfg.n_cells:
        raise EnvError(f"{name} has {len(vals)} cells, the machine has n_cells={cfg.n_cells}")
    out = []
    for c, v in enumerate(vals):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise EnvError(f"{name} cell {c} holds {v!r}, not an integer")
        if not 0 <= int(v) < cfg.value_range:
            raise EnvError(
                f"value {int(v)} in {name} cell {c} is outside the integer range "
                f"[0, {cfg.value_range})"
            )
        out.append(int(v))
    return tuple(out)


def _check_address(name: str, addr: int, cfg: CPUConfig) -> int:
    if isinstance(addr, bool) or not isinstance(addr, (int, np.integer)):
        raise EnvError(f"address {name}={addr!r} is not an integer")
    if not 0 <= int(addr) < cfg.n_cells:
        raise EnvError(f"address {name}={int(addr)} is outside memory [0, {cfg.n_cells})")
    return int(addr)


def make_task(
    memory: Sequence[int], op: str, src1: int, src2: int, dst: int, cfg: CPUConfig
) -> CPUTask:
    """A validated task whose target is the result of executing the instruction."""
    mem = _check_values("memory", memory, cfg)
    if op not in cfg.ops:
        raise EnvError(f"operation {op!r} is not available (available: {', '.join(cfg.ops)})")
    s1 = _check_address("src1", src1, cfg)
    s2 = _check_address("src2", src2, cfg)
    d = _check_address("dst", dst, cfg)
    target = list(mem)
    target[d] = apply_op(op, mem[s1], mem[s2], cfg.value_range)
    return CPUTask(mem, op, s1, s2, d, tuple(target))


def validate_task(task: CPUTask, cfg: CPUConfig) -> CPUTask:
    """Raise :class:`EnvError` unless ``task`` is well formed and reaches its target."""
    if not isinstance(task, CPUTask):
        raise EnvError(f"a task must be a CPUTask, got {type(task).__name__}")
    _check_values("target", task.target, cfg)
    built = make_task(task.memory, task.op, task.src1, task.src2, task.dst, cfg)
    if built.target != tuple(task.target):
        raise EnvError(
            f"target {tuple(task.target)} is unreachable: instruction {task.op} "
            f"{task.src1},{task.src2}->{task.dst} on memory {built.memory} gives {built.target}"
        )
    return built


def task_from_target(memory: Sequence[int], target: Sequence[int], cfg: CPUConfig) -> CPUTask:
    """Find an instruction turning ``memory`` into ``target`` (first in a fixed search order).

    Raises :class:`EnvError` if a value lies outside the range or if no single available
    operation reaches the target.
    """
    mem = _check_values("memory", memory, cfg)
    tgt = _check_values("target", target, cfg)
    cells = range(cfg.n_cells)
    for op, d, s1, s2 in itertools.product(cfg.ops, cells, cells, cells):
        if op == "MOV" and s2 != s1:
            continue
        task = make_task(mem, op, s1, s2, d, cfg)
        if task.target == tgt:
            return task
    raise EnvError(
        f"target {tgt} is unreachable from memory {mem} with the available operations "
        f"({', '.join(cfg.ops)}): no single instruction produces it"
    )


def split_range(value_range: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Split ``[0, value_range)`` into a training part ``[0, ceil(f * V))`` and the rest.

    With ``fraction == 1`` nothing is held out: the second part is the whole range (the
    evaluation is then in-distribution, on fresh tasks).
    """
    if not 0.0 < fraction <= 1.0:
        raise EnvError(f"training fraction must be in (0, 1], got {fraction}")
    n_train = max(1, math.ceil(fraction * value_range - 1e-9))
    train = np.arange(n_train)
    test = np.arange(n_train, value_range) if n_train < value_range else np.arange(value_range)
    return train, test


def sample_task(
    rng: np.random.Generator, values: np.ndarray, cfg: CPUConfig, max_tries: int = 10_000
) -> CPUTask:
    """A uniform instruction on memory drawn from ``values`` whose target stays in ``values``.

    Every value of the initial memory and of the target lies in ``values`` (rejection
    sampling), so a task drawn from a held-out part of the range is unseen in training.
    Instructions that leave the memory unchanged are rejected too (a task must change it).
    """
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:
        raise EnvError("cannot sample tasks from an empty set of values")
    allowed = set(int(v) for v in values)
    for v in allowed:
        if not 0 <= v < cfg.value_range:
            raise EnvError(
                f"sampling value {v} is outside the integer range [0, {cfg.value_range})"
            )
    for _ in range(max_tries):
        mem = rng.choice(values, size=cfg.n_cells)
        op = cfg.ops[int(rng.integers(len(cfg.ops)))]
        s1, s2, d = (int(x) for x in rng.integers(cfg.n_cells, size=3))
        if op == "MOV":
            s2 = s1
        task = make_task([int(m) for m in mem], op, s1, s2, d, cfg)
        if task.target[d] in allowed and task.target != task.memory:
            return task
    raise EnvError(f"no task with all values in the given set found in {max_tries} tries")


def sample_tasks(
    n: int, values: np.ndarray, cfg: CPUConfig, seed: int
) -> list[CPUTask]:
    """``n`` tasks from :func:`sample_task` with a generator seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    return [sample_task(rng, values, cfg) for _ in range(n)]


class CPUEnv:
    """The six-agent CPU environment implementing :class:`~handoffq.core.env.HandoffEnv`.

    Args:
        config: machine and reward parameters.
        values: the part of the integer range tasks are sampled from at :meth:`reset`
            (default: the whole range).
        tasks: alternatively, a fixed list of tasks drawn uniformly at each reset.
        seed: seeds the environment's generator.

    :meth:`set_next_task` fixes the task of the next episode (for evaluation on a test set).
    """

    simulated = True
    n_agents = 6
    agent_names = AGENT_NAMES

    def __init__(
        self,
        config: CPUConfig | None = None,
        values: Sequence[int] | np.ndarray | None = None,
        tasks: Sequence[CPUTask] | None = None,
        seed: int | None = None,
    ) -> None:
        self.config = cfg = config or CPUConfig()
        if values is not None and tasks is not None:
            raise EnvError("give either values (to sample tasks from) or a task list, not both")
        self.tasks = [validate_task(t, cfg) for t in tasks] if tasks is not None else None
        if self.tasks is not None and not self.tasks:
            raise EnvError("the task list is empty")
        vals = np.arange(cfg.value_range) if values is None else np.asarray(values, dtype=np.int64)
        if values is not None:
            sample_task(np.random.default_rng(0), vals, cfg)  # validates the value set
        self.values = vals
        self.gamma = cfg.gamma
        self.n_ops = len(cfg.ops)
        o = self.n_ops + 1
        self._nvec: tuple[tuple[int, ...], ...] = ((self.n_ops, 2), (o, 4), (o, 4), (o, 4, 4, 6), (o, 4, 4, 6, 3),
                                                  (o, 3))
        if cfg.scoreboard:
            self._nvec = tuple((*nv, 1 << self.n_agents) for nv in self._nvec)
        self._n_local = (1, 3, 3, 3, 3, 3)
        self._candidates = tuple(
            tuple(k for k in range(self.n_agents) if k != i) for i in range(self.n_agents)
        )
        self._rng = np.random.default_rng(seed)
        self._next_task: CPUTask | None = None
        self.reset(seed)

    # ------------------------------------------------------------------ tasks
    def set_next_task(self, task: CPUTask) -> None:
        """Use ``task`` (validated) for the next :meth:`reset` only."""
        self._next_task = validate_task(task, self.config)

    def _draw_task(self) -> CPUTask:
        if self._next_task is not None:
            task, self._next_task = self._next_task, None
            return task
        if self.tasks is not None:
            return self.tasks[int(self._rng.integers(len(self.tasks)))]
        return sample_task(self._rng, self.values, self.config)

    # ------------------------------------------------------------- HandoffEnv
    def reset(self, seed: int | None = None) -> None:
        """New episode: draw a task, clear the registers; the starter is active."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self.task = self._draw_task()
        self.memory = list(self.task.memory)
        self.op_index = self.config.ops.index(self.task.op)
        self.fetched = False
        self.ra: int | None = None
        self.rb: int | None = None
        self.alu: int | None = None
        self.wd: int | None = None
        self.ra_tag = self.rb_tag = T_NONE
        self.alu_out, self.wd_tag = A_NONE, W_NONE
        self.flag: bool | None = None  # op1 >= op2, once compared
        self.fired = [False] * self.n_agents
        self.committed = False
        self.fault = False
        self.steps = 0
        self._active = STARTER
        self._acted = False
        self._done = False

    @property
    def active_agent(self) -> int:
        """The agent whose turn it is."""
        return self._active

    @property
    def success(self) -> bool:
        """True when the episode committed a write leaving the memory equal to the target."""
        return self.committed and tuple(self.memory) == self.task.target

    def observe(self, agent: int) -> tuple[int, ...]:
        """Agent ``agent``'s visible register block (IR fields and tags, never values).

        With ``config.scoreboard`` the block ends with the scoreboard: the ready bits of the
        six units as one integer (bit ``k``: unit ``k`` is ready).
        """
        block = self._block(agent)
        return (*block, self.scoreboard()) if self.config.scoreboard else block

    def scoreboard(self) -> int:
        """Ready bits of the six units as an integer (bit ``k`` set: unit ``k`` is ready)."""
        return sum(1 << k for k in range(self.n_agents) if self._ready(k))

    def _block(self, agent: int) -> tuple[int, ...]:
        if agent == STARTER:
            return (self.op_index, int(self.fetched))
        # an empty IR (before the fetch) reads as opcode n_ops
        op = self.op_index if self.fetched else self.n_ops
        if agent == LOADER_A:
            return (op, self.ra_tag)
        if agent == LOADER_B:
            return (op, self.rb_tag)
        if agent == ALU:
            return (op, self.ra_tag, self.rb_tag, self.alu_out)
        if agent == SELECTOR:
            return (op, self.ra_tag, self.rb_tag, self.alu_out, self.wd_tag)
        if agent == WRITER:
            return (op, self.wd_tag)
        raise EnvError(f"no agent {agent!r} (agents are 0..{self.n_agents - 1})")

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Sizes of ``agent``'s observation dimensions."""
        return self._nvec[self._agent(agent)]

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Every other agent."""
        return self._candidates[self._agent(agent)]

    def admissible(self, agent: int) -> tuple[int, ...]:
        """Every other agent (calling a unit that is not ready wastes its activation)."""
        return self.candidates(agent)

    def local_actions(self, agent: int) -> int:
        """Number of local actions of ``agent`` (every agent is adaptable)."""
        return self._n_local[self._agent(agent)]

    def act(self, local_action: int) -> LocalStep:
        """Apply the active agent's local action (one primitive step)."""
        if self._done:
            raise EnvError("act() called on a finished episode; call reset()")
        if self._acted:
            raise EnvError("act() called twice in one activation; call step(successor) next")
        i = self._active
        n = self._n_local[i]
        if isinstance(local_action, bool) or not isinstance(local_action, (int, np.integer)):
            raise EnvError(f"local action {local_action!r} is not an integer")
        a = int(local_action)
        if not 0 <= a < n:
            raise EnvError(f"local action {a} is out of range for {AGENT_NAMES[i]} (0..{n - 1})")
        self._acted = True
        self.steps += 1
        phi0 = self.potential()
        reward = -self.config.step_cost
        if not self._ready(i):  # not ready: the activation does nothing
            pass
        elif i == STARTER:
            self.fetched = self.fired[i] = True
        elif i in (LOADER_A, LOADER_B):
            self._load(i, self._field(a))
            self.fired[i] = True
        elif i == ALU:
            self._alu(a)
            self.fired[i] = True
        elif i == SELECTOR:
            self._route(a)
            self.fired[i] = True
        else:
            self.memory[self._field(a)] = -1 if self.wd is None else self.wd
            self.committed = True
            self._done = True
            ok = tuple(self.memory) == self.task.target
            reward += self.config.success_reward if ok else 0.0
            return LocalStep(reward + shaping_term(0.0, phi0, self.gamma), True, False)
        if not any(self._ready(k) for k in range(self.n_agents)):  # stall: a failure
            self._done = True
            return LocalStep(reward + shaping_term(0.0, phi0, self.gamma), True, False)
        if self._timeout():  # the cycle budget is spent: the machine halts, a failure
            return LocalStep(reward + shaping_term(0.0, phi0, self.gamma), True, False)
        reward += shaping_term(self.potential(), phi0, self.gamma)
        return LocalStep(reward, False, False)

    def step(self, successor: int) -> Transition:
        """Hand control to ``successor`` (one primitive step: the bus transfer)."""
        if self._done:
            raise EnvError("step() called on a finished episode; call reset()")
        if not self._acted:
            raise EnvError(
                f"{AGENT_NAMES[self._active]} must take its local action (act) before handing off"
            )
        check_successor(self, successor)
        self.steps += 1
        self._acted = False
        self._active = int(successor)
        phi = self.potential()  # the bus transfer changes no register: F = (gamma - 1) * phi
        if self.config.fault_on_unready and not self._ready(self._active):
            self._done = True  # a bus fault: the called unit cannot fire; the machine halts
            self.fault = True
            return Transition(1, -self.config.step_cost + shaping_term(0.0, phi, self.gamma),
                              True, False)
        if self._timeout():  # the cycle budget is spent: the machine halts, a failure
            return Transition(1, -self.config.step_cost + shaping_term(0.0, phi, self.gamma),
                              True, False)
        reward = -self.config.step_cost + shaping_term(phi, phi, self.gamma)
        return Transition(1, reward, False, False)

    # ------------------------------------------------------------- shaping
    def stages_done(self) -> int:
        """Pipeline stages completed so far, read from provenance tags only (no values).

        The stages of the canonical program for the instruction's opcode: fetched; ``RA``
        holds operand 1; ``RB`` holds operand 2 and the ALU holds the opcode's result tag
        (sum / difference / a comparison flag; both skipped for ``MOV``); ``WD`` holds the
        instruction's result. A register holding something else completes nothing.
        """
        op = self.task.op
        n = int(self.fetched) + int(self.ra_tag == T_OP1) + int(self.wd_tag == W_RESULT)
        if op != "MOV":
            n += int(self.rb_tag == T_OP2)
            n += int(self.alu_out in _ALU_STAGE[op])
        return n

    def potential(self) -> float:
        """Shaping potential ``Phi = shaping * stages_done`` (0 once the episode ended)."""
        if self._done or not self.config.shaping:
            return 0.0
        return self.config.shaping * self.stages_done()

    # ------------------------------------------------------------- datapath
    def _field(self, a: int) -> int:
        """The address held by IR field ``FIELDS[a]``."""
        return int(getattr(self.task, FIELDS[a]))

    def _load(self, unit: int, cell: int) -> None:
        t = self.task
        first, second = (t.src1, t.src2) if unit == LOADER_A else (t.src2, t.src1)
        mine, other = (T_OP1, T_OP2) if unit == LOADER_A else (T_OP2, T_OP1)
        tag = mine if cell == first else other if cell == second else T_OTHER
        if unit == LOADER_A:
            self.ra, self.ra_tag = self.memory[cell], tag
        else:
            self.rb, self.rb_tag = self.memory[cell], tag

    def _alu(self, a: int) -> None:
        assert self.ra is not None and self.rb is not None
        pair = (self.ra_tag, self.rb_tag)
        straight, swapped = pair == (T_OP1, T_OP2), pair == (T_OP2, T_OP1)
        v = self.config.value_range
        if a == ALU_ADD:
            self.alu = apply_op("ADD", self.ra, self.rb, v)
            self.alu_out = A_SUM if straight or swapped else A_OTHER
        elif a == ALU_SUB:
            self.alu = apply_op("SUB", self.ra, self.rb, v)
            self.alu_out = A_DIFF if straight else A_OTHER
        elif straight or swapped:
            op1, op2 = (self.ra, self.rb) if straight else (self.rb, self.ra)
            self.flag = op1 >= op2
            self.alu_out = A_GE if self.flag else A_LT
        else:
            self.alu_out = A_OTHER

    def _route(self, a: int) -> None:
        if a == SEL_ALU:
            src, expr = self.alu, {A_SUM: "sum", A_DIFF: "diff"}.get(self.alu_out, "other")
        else:
            src = self.ra if a == SEL_RA else self.rb
            tag = self.ra_tag if a == SEL_RA else self.rb_tag
            expr = {T_OP1: "op1", T_OP2: "op2"}.get(tag, "other")
        if src is None:  # an empty register: the write data stays empty
            return
        self.wd = src
        self.wd_tag = W_RESULT if expr == self._result_expr() else W_OTHER

    def _result_expr(self) -> str:
        """The symbolic result of the instruction given the flag (``"?"``: not yet known)."""
        op = self.task.op
        if op in ("MAX", "MIN"):
            if self.flag is None:
                return "?"
            return "op1" if self.flag == (op == "MAX") else "op2"
        return {"MOV": "op1", "ADD": "sum", "SUB": "diff"}[op]

    # --------------------------------------------------- privileged (baselines)
    def full_state(self) -> tuple[int, ...]:
        """The whole machine state with raw values (centralised baseline only).

        ``(memory..., op, src1, src2, dst, RA, RB, ALU, WD, tags..., fetched, active)``: the
        pending instruction whether fetched or not, register values (``value_range`` when
        empty), the four tags of the register blocks, the fetch bit and the active unit.
        """
        v = self.config.value_range
        t = self.task
        regs = tuple(v if r is None else r for r in (self.ra, self.rb, self.alu, self.wd))
        tags = (self.ra_tag, self.rb_tag, self.alu_out, self.wd_tag)
        return (
            (*tuple(self.memory), self.op_index, t.src1, t.src2, t.dst, *regs, *tags, int(self.fetched), self._active)
        )

    def full_state_nvec(self) -> tuple[int, ...]:
        """Sizes of the :meth:`full_state` dimensions."""
        m, v = self.config.n_cells, self.config.value_range
        return (v,) * m + (self.n_ops, m, m, m) + (v + 1,) * 4 + (4, 4, 6, 3, 2, self.n_agents)

    # ---------------------------------------------------------------- helpers
    def _agent(self, agent: int) -> int:
        if isinstance(agent, bool) or not isinstance(agent, (int, np.integer)):
            raise EnvError(f"no agent {agent!r} (agents are 0..{self.n_agents - 1})")
        if not 0 <= int(agent) < self.n_agents:
            raise EnvError(f"no agent {agent} (agents are 0..{self.n_agents - 1})")
        return int(agent)

    def _ready(self, unit: int) -> bool:
        if self.fired[unit]:
            return False
        if unit == STARTER:
            return True
        if unit in (LOADER_A, LOADER_B):
            return self.fetched
        if unit == ALU:
            return self.ra is not None and self.rb is not None
        if unit == SELECTOR:
            return self.ra is not None or self.rb is not None or self.alu is not None
        return self.wd is not None

    def _timeout(self) -> bool:
        if self.steps >= self.config.max_steps:
            self._done = True
            return True
        return False
