"""Distributed runner on Ray: every agent is an actor; only handoff messages pass between them.

Layout (all actors are *async* Ray actors: synchronous actors that wait on each other deadlock):

* :class:`AgentActor` - one per agent. It owns its agent object (estimator, random generator,
  counters) and its own checkpoint file. Pending decisions are keyed by ``(environment actor,
  generation, episode, handoff index)``, so one agent serves many concurrent episodes. The
  only methods another agent actor ever calls are :meth:`AgentActor.receive` /
  :meth:`AgentActor.receive_batch`, with envelopes ``(decision key, sender id, message)``
  whose payload is a :class:`~handoffq.core.messages.HandoffMessage` - three numbers.
* :class:`EpisodeActor` - an environment actor. It holds ``episodes_per_actor`` copies of the
  environment and drives that many episodes concurrently (one asyncio task each; blocking
  ``reset``/``step`` run in a thread pool, so latency-bound environments overlap). It gives
  each agent actor only that agent's own observation and admissible set, plus - when the
  agent becomes active - the duration and reward of its predecessor's invocation; the agent
  computes its value and sends ``(v, tau, R)`` *directly* to the predecessor's actor.

The semantics are those of :func:`handoffq.runtime.inprocess.play_episode`: the active agent
chooses a successor from its own observation; the environment plays the invocation; the
successor computes its value at its own observation and the message ``(v, tau, R)`` goes to
the predecessor, which updates ``Q(o, k)`` of that very decision. What differs is timing:
episodes interleave, and a reply is sent without waiting for its delivery (with
``message_batch > 1``, several replies travel together), so an update may land a little later
than in-process - never on the wrong decision.

Budget: ``train(budget)`` plays exactly ``budget`` handoffs (a handoff counts once its reply
is sent). The driver hands out handoff *tokens* in chunks; episodes in progress when a chunk
(or ``train``) ends pause and resume with the next tokens. After each chunk every reply is
delivered, every agent actor writes its own checkpoint, the driver reports progress, and
(when an auditor is given) the agents' receive logs are replayed to it.

Faults: agent actors are restarted by Ray (``max_restarts``) and reload their latest
checkpoint; episodes that were using a dying actor are abandoned (lost) and training goes on.
An environment actor that dies loses only the episodes it was playing; the driver re-issues
its share of the chunk to the restarted actor (handoffs of lost episodes were learned from
but are not counted in the budget).

``ray.init`` settings come from the user: ``address`` (or the ``RAY_ADDRESS`` environment
variable) connects to an existing cluster; by default a local Ray is started. On a cluster,
``checkpoint_dir`` must be on storage shared by the nodes.
"""
from __future__ import annotations

import asyncio
import copy
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayActorError, RayTaskError

from handoffq.core.channel import Auditor
from handoffq.core.messages import HandoffMessage
from handoffq.runtime.base import Progress, TrainStats
from handoffq.runtime.checkpoint import agent_checkpoint_path, load_agent, save_agent

__all__ = ["RayRunner", "AgentActor", "EpisodeActor", "ensure_ray", "actor_died"]

MIN_CHUNK = 256
"""Smallest default chunk (handoffs between checkpoints) - each chunk costs a few RPCs."""

Obs = tuple[int, ...]
DecisionKey = tuple[int, ...]
"""``(environment actor, its generation, episode counter, handoff index)``."""
Envelope = tuple[DecisionKey, int, HandoffMessage]
"""What travels from a successor's actor to its predecessor's: ``(key, sender id, message)``."""
Reply = tuple[int, DecisionKey, int, float]
"""``(predecessor id, predecessor's decision key, tau, R)``."""


def ensure_ray(address: str | None = None, init_kwargs: dict[str, Any] | None = None) -> None:
    """Start or connect to Ray unless it is already initialised in this process.

    ``address`` (or ``RAY_ADDRESS``) names an existing cluster; without one a local Ray is
    started with ``init_kwargs`` (e.g. ``{"num_cpus": 2}``).
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
    kwargs.update(init_kwargs or {})
    if address is not None:
        kwargs["address"] = address
    ray.init(**kwargs)


def actor_died(exc: BaseException) -> bool:
    """True when ``exc`` means a remote actor died or is unreachable (not a bug in its code)."""
    if isinstance(exc, RayActorError):
        return True
    return isinstance(exc, RayTaskError) and isinstance(getattr(exc, "cause", None), RayActorError)


def _arg(obj: Any, what: str, inline_limit: int = 64 * 1024) -> Any:
    """``obj`` itself when small (inlined in the actor spec), else a driver-held object ref.

    Raises ``ValueError`` naming ``what`` when ``obj`` cannot be sent to another process.
    """
    try:
        size = len(ray.cloudpickle.dumps(obj))
    except Exception as exc:  # noqa: BLE001 - any serialisation failure
        raise ValueError(
            f"the {what} must be picklable to run on Ray (it is copied into its own actor): {exc}"
        ) from exc
    return obj if size <= inline_limit else ray.put(obj)


def _limit_threads() -> None:
    """One math thread per actor process (many actors share few cores)."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


# ===================================================================== agent actor
@ray.remote
class AgentActor:
    """An agent living in its own process, with its own state and checkpoint file.

    Pending decisions are keyed by ``(env actor, generation, episode, handoff index)``, so
    an agent serves many concurrent episodes and a reply that arrives late (or after the
    agent already decided again in the same episode) still updates the right ``Q(o, k)``.

    Args:
        agent: the agent object (e.g. :class:`~handoffq.learn.agent.ICQAgent`); this actor
            owns a private copy of it from now on.
        peer_names: the Ray names of all agent actors (index = agent id): where replies go.
        checkpoint_path: the agent's own checkpoint file (loaded at start if present, so a
            restarted actor resumes from its latest checkpoint).
        audit: keep a log of every ``(src, dst, payload)`` delivered to :meth:`receive`.
        message_batch: replies to one predecessor are sent in batches of this many
            (1: each reply is sent at once). :meth:`flush` sends what is left.
    """

    def __init__(
        self,
        agent: Any,
        peer_names: Sequence[str],
        checkpoint_path: str | None,
        audit: bool = False,
        message_batch: int = 1,
    ) -> None:
        _limit_threads()
        self.agent = copy.deepcopy(agent)  # arguments arrive as read-only zero-copy arrays
        self.id = int(agent.agent_id)
        self.path = checkpoint_path
        self.audit = bool(audit)
        self.batch = max(1, int(message_batch))
        self.peer_names = list(peer_names)
        self.peers: dict[int, Any] = {}
        self.log: list[tuple[int, int, Any]] = []
        self.pending: dict[DecisionKey, Any] = {}
        self.pending_local: dict[DecisionKey, Any] = {}
        self.outbox: dict[int, tuple[Any, list[Envelope]]] = {}
        self.inflight: set[asyncio.Future[Any]] = set()
        self.messages = 0
        self.dropped = 0
        self.send_failures = 0
        self.restored_meta = load_agent(self.agent, checkpoint_path) if checkpoint_path else None

    # -------------------------------------------------------------- decisions
    def _decide(self, key: DecisionKey, obs: Obs, adm: Sequence[int], learn: bool) -> int:
        if not learn:
            return int(self.agent.greedy_successor(obs, adm))
        k = self.agent.decide(obs, adm)
        self.pending[key] = self.agent._pending
        self.agent._pending = None
        return int(k)

    def _deliver(self, key: DecisionKey, src: int, message: Any) -> None:
        if self.audit:
            self.log.append((int(src), self.id, message))
        if not isinstance(message, HandoffMessage):
            raise TypeError(f"only HandoffMessage may cross an agent boundary, got {type(message)}")
        self.messages += 1
        pending = self.pending.pop(key, None)
        if pending is None:  # the decision was lost with a crashed actor: drop the reply
            self.dropped += 1
            return
        self.agent._pending = pending
        self.agent.receive(message)

    def _track(self, ref: Any) -> None:
        fut = asyncio.ensure_future(ref)
        self.inflight.add(fut)
        fut.add_done_callback(self._sent)

    def _sent(self, fut: asyncio.Future[Any]) -> None:
        self.inflight.discard(fut)
        if not fut.cancelled() and fut.exception() is not None:
            self.send_failures += 1  # the predecessor died: its decision is lost anyway

    def _peer(self, j: int) -> Any:
        """Agent ``j``'s actor (looked up by name once; valid across its restarts)."""
        handle = self.peers.get(j)
        if handle is None:
            handle = self.peers[j] = ray.get_actor(self.peer_names[j])
        return handle

    def _send(self, pred_id: int, key: DecisionKey, message: HandoffMessage) -> None:
        if pred_id == self.id:
            self._deliver(key, self.id, message)  # "continue": a message to itself
            return
        pred = self._peer(pred_id)
        if self.batch == 1:
            self._track(pred.receive.remote(key, self.id, message))
            return
        _, box = self.outbox.setdefault(pred_id, (pred, []))
        box.append((key, self.id, message))
        if len(box) >= self.batch:
            self._track(pred.receive_batch.remote(list(box)))
            box.clear()

    async def activate(
        self,
        key: DecisionKey,
        obs: Obs,
        adm: Sequence[int],
        learn: bool,
        reply: Reply | None,
        decide: bool,
    ) -> int | None:
        """Become active at ``obs``: send ``(v, tau, R)`` to the predecessor, then decide.

        ``reply`` is ``(predecessor id, its decision key, tau, R)`` for the
        invocation that just ended (``None`` at the start of an episode or when already
        sent). Returns the chosen successor when ``decide`` (greedy when not ``learn``).
        """
        if reply is not None and learn:
            pred_id, pred_key, tau, reward = reply
            message = HandoffMessage(self.agent.value(obs, adm), tau, reward)
            self._send(pred_id, pred_key, message)
        if decide:
            return self._decide(key, obs, adm, learn)
        return None

    async def receive(self, key: DecisionKey, src: int, message: HandoffMessage) -> None:
        """Agent ``src``'s reply to this agent's decision ``key``.

        With :meth:`receive_batch`, the only method other agent actors call (an environment
        actor also calls it with the terminal message ``(0, tau, R)`` from the agent to itself).
        """
        self._deliver(key, src, message)

    async def receive_batch(self, envelopes: list[Envelope]) -> None:
        """Several replies ``(key, src, message)`` at once."""
        for key, src, message in envelopes:
            self._deliver(key, src, message)

    async def flush(self) -> int:
        """Send every batched reply and wait until all sent replies are delivered."""
        for pred, box in self.outbox.values():
            if box:
                self._track(pred.receive_batch.remote(list(box)))
                box.clear()
        n = len(self.inflight)
        if self.inflight:
            await asyncio.gather(*list(self.inflight), return_exceptions=True)
        return n

    async def receive_own(
        self, key: DecisionKey, tau: int, reward: float, obs: Obs, adm: Sequence[int]
    ) -> None:
        """Naive baseline (``bootstrap == "own"``): bootstrap from its own view of the artifact."""
        pending = self.pending.pop(key, None)
        if pending is None:
            self.dropped += 1
            return
        self.agent._pending = pending
        self.agent.receive_own(tau, reward, obs, adm)

    async def decide_local(self, key: DecisionKey, obs: Obs, learn: bool) -> int:
        """A local action of an adaptable agent (greedy when not ``learn``)."""
        if not learn:
            return int(self.agent.greedy_local(obs))
        a = self.agent.decide_local(obs)
        self.pending_local[key] = self.agent._pending_local
        self.agent._pending_local = None
        return int(a)

    async def after_local(
        self, key: DecisionKey, reward: float, post: Obs | None, adm: Sequence[int]
    ) -> None:
        """The outcome of the local action taken at decision ``key``."""
        pending = self.pending_local.pop(key, None)
        if pending is None:
            self.dropped += 1
            return
        self.agent._pending_local = pending
        self.agent.after_local(reward, post, adm)

    async def forget(self, prefix: tuple[int, ...]) -> int:
        """Drop pending decisions whose key starts with ``prefix`` (lost episodes)."""
        n = len(prefix)
        dropped = 0
        for table in (self.pending, self.pending_local):
            stale = [k for k in table if k[:n] == prefix]
            for k in stale:
                del table[k]
            dropped += len(stale)
        return dropped

    # -------------------------------------------------------------- control
    async def checkpoint(self, meta: dict[str, Any] | None = None) -> str | None:
        """Write this agent's own checkpoint file; return its path."""
        if not self.path:
            return None
        return str(save_agent(self.agent, self.path, meta))

    async def state(self) -> dict[str, Any]:
        """This agent's ``state_dict`` (copied back to the driver's agent after training)."""
        return self.agent.state_dict()

    async def audit_log(self, clear: bool = True) -> list[tuple[int, int, Any]]:
        """Every ``(src, dst, payload)`` delivered to :meth:`receive` since the last call."""
        out = list(self.log)
        if clear:
            self.log.clear()
        return out

    async def info(self) -> dict[str, Any]:
        """Counters and restart facts (for tests and reports)."""
        return {
            "agent_id": self.id,
            "pid": os.getpid(),
            "messages": self.messages,
            "dropped": self.dropped,
            "send_failures": self.send_failures,
            "pending": len(self.pending) + len(self.pending_local),
            "updates": int(getattr(self.agent, "t", 0)),
            "restored": self.restored_meta is not None,
            "restored_meta": self.restored_meta,
        }


# ===================================================================== environment actor
class _Stop(Exception):
    """Raised inside a slot task when the actor shuts its slots down."""


@ray.remote
class EpisodeActor:
    """Drives ``n_slots`` concurrent episodes on its own copies of the environment.

    Args:
        env: the environment (copied ``n_slots`` times; it must be picklable).
        agents: the agent actors (index = agent id).
        bootstrap: each agent's ``bootstrap`` mode (``"message"`` or ``"own"``).
        index: this actor's index among the environment actors.
        n_env: number of environment actors (for episode seeds).
        n_slots: concurrent episodes.
        seed: base seed; episode ``c`` of this actor resets with ``seed + c * n_env + index``
            (first generation).
        threaded: run ``reset``/``step``/``act`` in a thread pool (lets latency-bound
            environments, e.g. LLM calls, overlap across slots).
        max_abandoned: consecutive lost episodes (dead agent actors) before giving up.
    """

    def __init__(
        self,
        env: Any,
        agents: Sequence[Any],
        bootstrap: Sequence[str],
        index: int,
        n_env: int,
        n_slots: int,
        seed: int,
        threaded: bool = True,
        max_abandoned: int = 200,
    ) -> None:
        _limit_threads()
        self.proto = env
        self.envs = [copy.deepcopy(env) for _ in range(n_slots)]
        self.agents = list(agents)
        self.bootstrap = list(bootstrap)
        self.index, self.n_env, self.n_slots = int(index), int(n_env), int(n_slots)
        self.seed = int(seed)
        self.max_abandoned = int(max_abandoned)
        self.pool = ThreadPoolExecutor(max_workers=max(1, n_slots)) if threaded else None
        self.generation = 0
        self.counter = 0
        self.tokens = 0
        self.busy = 0  # handoffs begun (token taken) whose reply is not sent yet
        self.cond: asyncio.Condition | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.error: BaseException | None = None
        self.abandoned_in_row = 0
        self._reset_tally()

    def _reset_tally(self) -> None:
        self.t_handoffs = 0
        self.t_steps = 0
        self.t_episodes: list[tuple[float, int, int]] = []
        self.t_abandoned = 0

    # ------------------------------------------------------------- tokens
    async def _take(self) -> None:
        assert self.cond is not None
        async with self.cond:
            await self.cond.wait_for(lambda: self.tokens > 0 or self.error is not None)
            if self.error is not None:
                raise _Stop
            self.tokens -= 1
            self.busy += 1

    def _try_take(self) -> bool:
        if self.tokens > 0 and self.error is None:
            self.tokens -= 1
            self.busy += 1
            return True
        return False

    async def _done(self, n: int = 1, count: bool = True) -> None:
        """``n`` handoffs have sent their replies (``count=False``: a token given back)."""
        assert self.cond is not None
        async with self.cond:
            self.busy -= n
            if count:
                self.t_handoffs += n
            else:
                self.tokens += n
            self.cond.notify_all()

    # ------------------------------------------------------------- episodes
    def _episode_seed(self, counter: int) -> int:
        return self.seed + (self.generation * 1_000_003 + counter) * self.n_env + self.index

    async def _call(self, fn: Any, *args: Any) -> Any:
        if self.pool is None:
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def _play(
        self, env: Any, eid: tuple[int, int, int], seed: int, learn: bool
    ) -> tuple[float, int, int]:
        """One episode (``learn=True``: budgeted by tokens; else greedy and unbudgeted).

        Mirrors :func:`handoffq.runtime.inprocess.play_episode`.
        """
        agents = self.agents
        await self._call(env.reset, seed)
        gamma = env.gamma
        i = env.active_agent
        obs = env.observe(i)
        ret, disc, handoffs, steps = 0.0, 1.0, 0, 0
        reply: Reply | None = None  # unsent reply owed to i's predecessor
        owed = 0  # this episode's handoffs with a token taken whose reply is not sent yet
        try:
            while True:
                key = (*eid, handoffs)
                if learn and not self._try_take():
                    if reply is not None:  # send the reply before pausing: handoff complete
                        adm = env.admissible(i)
                        await agents[i].activate.remote(key, obs, adm, True, reply, False)
                        reply, owed = None, owed - 1
                        await self._done()
                    await self._take()
                if learn:
                    owed += 1
                adm = env.admissible(i)
                if env.local_actions(i):
                    if reply is not None:
                        await agents[i].activate.remote(key, obs, adm, True, reply, False)
                        reply, owed = None, owed - 1
                        await self._done()
                    a = await agents[i].decide_local.remote(key, obs, learn)
                    ls = await self._call(env.act, a)
                    ret += disc * ls.reward
                    disc *= gamma
                    steps += 1
                    post = None if ls.terminated else env.observe(i)
                    if learn:
                        self.t_steps += 1
                        post_adm = env.admissible(i) if post is not None else ()
                        await agents[i].after_local.remote(key, ls.reward, post, post_adm)
                    if ls.terminated or ls.truncated:
                        if learn:  # the token taken for this decision was not used
                            owed -= 1
                            await self._done(count=False)
                        break
                    obs = post
                    adm = env.admissible(i)
                k = await agents[i].activate.remote(key, obs, adm, learn, reply, True)
                if reply is not None:
                    reply, owed = None, owed - 1
                    await self._done()
                tr = await self._call(env.step, k)
                ret += disc * tr.reward
                disc *= gamma**tr.duration
                steps += tr.duration
                handoffs += 1
                if learn:
                    self.t_steps += tr.duration
                if tr.terminated:
                    if learn:
                        terminal = HandoffMessage(0.0, tr.duration, tr.reward)
                        await agents[i].receive.remote(key, i, terminal)
                        owed -= 1
                        await self._done()
                    break
                j = env.active_agent
                obs_j = env.observe(j)
                if learn:
                    if self.bootstrap[i] == "own":
                        await agents[i].receive_own.remote(
                            key, tr.duration, tr.reward, env.observe(i), env.admissible(i)
                        )
                        owed -= 1
                        await self._done()
                    else:
                        reply = (i, key, tr.duration, tr.reward)
                if tr.truncated:
                    if reply is not None:
                        nxt = (*eid, handoffs)
                        adm_j = env.admissible(j)
                        await agents[j].activate.remote(nxt, obs_j, adm_j, True, reply, False)
                        reply, owed = None, owed - 1
                        await self._done()
                    break
                i, obs = j, obs_j
        except BaseException:
            if owed:  # handoffs begun in a lost episode happened: count them
                await self._done(owed)
            raise
        return ret, handoffs, steps

    async def _slot(self, s: int) -> None:
        env = self.envs[s]
        while True:
            eid = (self.index, self.generation, self.counter)
            seed = self._episode_seed(self.counter)
            self.counter += 1
            try:
                ret, h, steps = await self._play(env, eid, seed, learn=True)
            except _Stop:
                return
            except Exception as exc:  # noqa: BLE001 - sorted below
                if actor_died(exc):
                    self.t_abandoned += 1
                    self.abandoned_in_row += 1
                    if self.abandoned_in_row <= self.max_abandoned:
                        await self._forget(eid)
                        continue
                    exc = RuntimeError(
                        f"{self.abandoned_in_row} episodes in a row lost to dead agent actors"
                        f" ({exc})"
                    )
                assert self.cond is not None
                async with self.cond:
                    self.error = exc
                    self.cond.notify_all()
                return
            self.abandoned_in_row = 0
            self.t_episodes.append((ret, h, steps))

    async def _forget(self, eid: tuple[int, int, int]) -> None:
        for agent in self.agents:
            try:
                await agent.forget.remote(eid)
            except Exception:  # noqa: BLE001 - best effort on a possibly dead actor
                pass

    # ------------------------------------------------------------- API
    async def run(self, n_tokens: int, generation: int) -> dict[str, Any]:
        """Play exactly ``n_tokens`` more handoffs across the slots; return the tally.

        ``generation`` counts restarts of this actor (keeps episode ids unique).
        """
        if self.cond is None:
            self.cond = asyncio.Condition()
            self.generation = int(generation)
            self.tasks = [asyncio.create_task(self._slot(s)) for s in range(self.n_slots)]
        self._reset_tally()
        async with self.cond:
            self.tokens += int(n_tokens)
            self.cond.notify_all()
            await self.cond.wait_for(
                lambda: (self.tokens == 0 and self.busy == 0) or self.error is not None
            )
        if self.error is not None:
            raise self.error
        return {
            "handoffs": self.t_handoffs,
            "steps": self.t_steps,
            "episodes": list(self.t_episodes),
            "abandoned": self.t_abandoned,
        }

    async def evaluate(self, seeds: Sequence[int]) -> list[float]:
        """Greedy returns of episodes reset with ``seeds`` (on separate environment copies)."""
        envs = [copy.deepcopy(self.proto) for _ in range(min(self.n_slots, len(seeds)))]
        queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
        for n, sd in enumerate(seeds):
            queue.put_nowait((n, int(sd)))
        out = [0.0] * len(seeds)

        async def worker(env: Any) -> None:
            while not queue.empty():
                n, sd = queue.get_nowait()
                out[n] = (await self._play(env, (self.index, -1, n), sd, learn=False))[0]

        await asyncio.gather(*(worker(e) for e in envs))
        return out


# ===================================================================== driver
class RayRunner:
    """Trains a team of agents with each agent in its own Ray actor.

    Same interface as :class:`~handoffq.runtime.inprocess.InProcessRunner`. After
    :meth:`train` the driver's ``agents`` hold each actor's trained state.

    Args:
        env: the environment (picklable; each environment actor gets copies).
        agents: one agent per environment agent (index = agent id).
        auditor: optional ``(src, dst, payload)`` callable; sees every payload delivered to an
            agent actor's ``receive`` (replayed on the driver after each chunk).
        seed: base seed for episode resets.
        num_env_actors: environment actors.
        episodes_per_actor: concurrent episodes per environment actor.
        checkpoint_dir: where each agent writes its own checkpoint (default: a temporary
            directory, removed by :meth:`close`). Must be shared storage on a cluster.
        resume: load existing checkpoints from ``checkpoint_dir`` at start (default True).
        chunk: handoffs per chunk (checkpoint/progress interval; default ``budget / 20``,
            at least :data:`MIN_CHUNK`).
        message_batch: replies to one predecessor travel in batches of this many (default
            1: at once). Larger batches raise throughput but delay updates a little.
        threaded_env: run environment ``reset``/``step`` in a thread pool inside each env
            actor (default True: latency-bound environments overlap across episodes).
        max_restarts: restarts Ray grants each actor (``-1``: unlimited).
        address: Ray cluster address (default: ``RAY_ADDRESS`` or a local Ray).
        ray_init: extra ``ray.init`` keyword arguments (local Ray only).
        actor_options: extra ``.options(...)`` for every actor (e.g. ``{"num_cpus": 0.5}``).
    """

    def __init__(
        self,
        env: Any,
        agents: Sequence[Any],
        auditor: Auditor | None = None,
        seed: int = 0,
        num_env_actors: int = 2,
        episodes_per_actor: int = 4,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = True,
        chunk: int | None = None,
        message_batch: int = 1,
        threaded_env: bool = True,
        max_restarts: int = -1,
        address: str | None = None,
        ray_init: dict[str, Any] | None = None,
        actor_options: dict[str, Any] | None = None,
    ) -> None:
        if len(agents) != env.n_agents:
            raise ValueError(f"{len(agents)} agents given for an environment of {env.n_agents}")
        if [int(a.agent_id) for a in agents] != list(range(len(agents))):
            raise ValueError("agents must be ordered by agent_id 0 .. n-1")
        if num_env_actors < 1 or episodes_per_actor < 1:
            raise ValueError("num_env_actors and episodes_per_actor must be >= 1")
        ensure_ray(address, ray_init)
        self.env = env
        self.agents = list(agents)
        self.auditor = auditor
        self.seed = int(seed)
        self.chunk = chunk
        self.stats = TrainStats()
        self.abandoned = 0  # episodes lost to dead agent actors
        self.orphaned = 0  # pending decisions dropped because their episode was lost
        self.env_restarts = 0
        self._tmpdir: str | None = None
        if checkpoint_dir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="handoffq-ckpt-")
            checkpoint_dir = self._tmpdir
        self.checkpoint_dir = Path(checkpoint_dir)
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            for a in self.agents:
                agent_checkpoint_path(self.checkpoint_dir, a.agent_id).unlink(missing_ok=True)
        opts = {"num_cpus": 0, "max_restarts": max_restarts, "max_task_retries": 0}
        opts.update(actor_options or {})
        tag = uuid.uuid4().hex[:8]
        # large constructor arguments go to the object store, referenced by the driver for as
        # long as the runner lives, so Ray can restart the actors; small ones travel inline
        self._agent_refs = [_arg(a, f"agent {a.agent_id}") for a in self.agents]
        self._env_ref = _arg(env, "environment")
        names = [f"handoffq-{tag}-agent-{i}" for i in range(len(self.agents))]
        self.actors = [
            AgentActor.options(name=names[a.agent_id], **opts).remote(
                ref,
                names,
                str(agent_checkpoint_path(self.checkpoint_dir, a.agent_id)),
                auditor is not None,
                message_batch,
            )
            for a, ref in zip(self.agents, self._agent_refs, strict=True)
        ]
        bootstrap = [getattr(a, "bootstrap", "message") for a in self.agents]
        self.env_actors = [
            EpisodeActor.options(name=f"handoffq-{tag}-env-{e}", **opts).remote(
                self._env_ref,
                self.actors,
                bootstrap,
                e,
                num_env_actors,
                episodes_per_actor,
                self.seed,
                threaded_env,
            )
            for e in range(num_env_actors)
        ]
        self.generations = [0] * num_env_actors
        self._closed = False
        infos = self.agent_info()
        self.resumed = [bool(i["restored"]) for i in infos]
        # handoffs already played according to the loaded checkpoints (0 on a fresh start)
        metas = [i["restored_meta"] or {} for i in infos]
        self.resumed_handoffs = (
            min(int(m.get("handoffs", 0)) for m in metas) if all(self.resumed) else 0
        )

    # ----------------------------------------------------------------- training
    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Play exactly ``budget`` more handoffs (concurrent episodes on all env actors)."""
        budget = int(budget)
        chunk = int(self.chunk or max(MIN_CHUNK, math.ceil(budget / 20)))
        done = 0
        while done < budget:
            n = min(chunk, budget - done)
            self._run_chunk(n)
            self._on_agents("flush")  # every reply delivered: a consistent cut
            # all live episodes are paused between decisions now, so any pending decision
            # left belongs to an episode lost with a dead actor
            self.orphaned += sum(self._on_agents("forget", ()))
            done += n
            self._checkpoint()
            self._replay_audit()
            if progress is not None:
                progress(n)
        self.stats.messages = sum(i["messages"] for i in self.agent_info())
        self.sync_agents()
        return self.stats

    def _run_chunk(self, n: int) -> None:
        """Spread ``n`` tokens over the env actors; re-issue those of an actor that died."""
        m = len(self.env_actors)
        shares = [n // m + (1 if e < n % m else 0) for e in range(m)]
        refs = {
            self.env_actors[e].run.remote(shares[e], self.generations[e]): e
            for e in range(m)
            if shares[e]
        }
        retries = 0
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            e = refs.pop(ready[0])
            try:
                res = ray.get(ready[0])
            except Exception as exc:
                if not actor_died(exc) or retries > 10 * m:
                    raise
                retries += 1
                self.env_restarts += 1
                old = self.generations[e]
                self.generations[e] += 1
                self._on_agents("forget", (e, old))
                refs[self.env_actors[e].run.remote(shares[e], self.generations[e])] = e
                continue
            self.stats.handoffs += res["handoffs"]
            self.stats.primitive_steps += res["steps"]
            self.stats.episodes += len(res["episodes"])
            self.stats.returns.extend(r for r, _, _ in res["episodes"])
            self.abandoned += res["abandoned"]

    def _on_agents(self, method: str, *args: Any, attempts: int = 20) -> list[Any]:
        """Call ``method`` on every agent actor at once; retry an actor that is restarting."""
        refs = [getattr(a, method).remote(*args) for a in self.actors]
        out: list[Any] = []
        for actor, ref in zip(self.actors, refs, strict=True):
            for attempt in range(attempts):
                try:
                    out.append(ray.get(ref))
                    break
                except Exception as exc:
                    if not actor_died(exc) or attempt == attempts - 1:
                        raise
                    time.sleep(0.1 * (attempt + 1))
                    ref = getattr(actor, method).remote(*args)
        return out

    def _checkpoint(self) -> None:
        base = self.resumed_handoffs
        meta = {"handoffs": base + self.stats.handoffs, "episodes": self.stats.episodes}
        self._on_agents("checkpoint", meta)

    def _replay_audit(self) -> None:
        if self.auditor is None:
            return
        for log in self._on_agents("audit_log"):
            for src, dst, payload in log:
                self.auditor(src, dst, payload)

    # ----------------------------------------------------------------- queries
    def sync_agents(self) -> None:
        """Copy each actor's state into the driver's agent object."""
        states = self._on_agents("state")
        for agent, state in zip(self.agents, states, strict=True):
            agent.load_state_dict(state)

    def agent_info(self) -> list[dict[str, Any]]:
        """Each agent actor's counters and restart facts."""
        return self._on_agents("info")

    def evaluate(self, episodes: int, seed: int = 10**6) -> float:
        """Mean discounted return of the greedy policies, episodes spread over env actors."""
        m = len(self.env_actors)
        seeds = [seed + e for e in range(episodes)]
        parts = ray.get([self.env_actors[e].evaluate.remote(seeds[e::m]) for e in range(m)])
        total = sum(sum(p) for p in parts)
        return total / max(episodes, 1)

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Kill the actors (and remove a temporary checkpoint directory)."""
        if self._closed:
            return
        self._closed = True
        if ray.is_initialized():
            for actor in self.env_actors + self.actors:
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001 - already gone
                    pass
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
