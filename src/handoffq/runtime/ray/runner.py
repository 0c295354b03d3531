"""The driver of the distributed runner: agents and environments as Ray actors."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import ray

from handoffq.core.channel import Auditor
from handoffq.runtime.base import DEFAULT_EVAL_CAP, Progress, TrainStats, check_team
from handoffq.runtime.checkpoint import agent_checkpoint_path
from handoffq.runtime.ray.agent_actor import AgentActor
from handoffq.runtime.ray.budget import chunk_size, slot_range, split_budget
from handoffq.runtime.ray.env_actor import EpisodeActor
from handoffq.runtime.ray.util import actor_died, ensure_ray, to_ray_arg

__all__ = ["RayRunner"]


class RayRunner:
    """Trains a team of agents with each agent in its own Ray actor.

    Same interface as :class:`~handoffq.runtime.inprocess.InProcessRunner`. After
    :meth:`train` the driver's ``agents`` hold each actor's trained state.

    Args:
        env: the environment (picklable; each environment actor gets copies).
        agents: one agent per environment agent (index = agent id).
        auditor: optional ``(src, dst, payload)`` callable; sees every payload that crossed an
            environment actor's channel (replayed on the driver after each chunk).
        seed: base seed for episode resets.
        num_env_actors: environment actors.
        episodes_per_actor: concurrent episodes per environment actor.
        checkpoint_dir: where each agent writes its own checkpoint (default: a temporary
            directory, removed by :meth:`close`). Must be shared storage on a cluster.
        resume: load existing checkpoints from ``checkpoint_dir`` at start (default True).
        chunk: handoffs per chunk (checkpoint/progress interval; default ``budget / 20``,
            at least :data:`~handoffq.runtime.ray.budget.MIN_CHUNK`).
        threaded_env: run environment ``step``/``act`` in a thread pool inside each env actor
            (default True: latency-bound environments overlap across episodes).
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
        threaded_env: bool = True,
        max_restarts: int = -1,
        address: str | None = None,
        ray_init: dict[str, Any] | None = None,
        actor_options: dict[str, Any] | None = None,
    ) -> None:
        self.agents: list[Any] = check_team(agents, env.n_agents)
        if num_env_actors < 1 or episodes_per_actor < 1:
            raise ValueError("num_env_actors and episodes_per_actor must be >= 1")
        ensure_ray(address, ray_init)
        self.env, self.auditor, self.seed, self.chunk = env, auditor, int(seed), chunk
        self.n_slots = int(episodes_per_actor)
        self.stats = TrainStats()
        self.abandoned = 0  # episodes lost to dead agent actors
        self.env_restarts = 0
        self._tmpdir = tempfile.mkdtemp(prefix="handoffq-ckpt-") if checkpoint_dir is None else None
        self.checkpoint_dir = Path(checkpoint_dir if checkpoint_dir is not None else self._tmpdir)  # type: ignore[arg-type]
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        if not resume:
            for a in self.agents:
                agent_checkpoint_path(self.checkpoint_dir, a.agent_id).unlink(missing_ok=True)
        opts: dict[str, Any] = {"num_cpus": 0, "max_restarts": max_restarts, "max_task_retries": 0}
        opts.update(actor_options or {})
        tag = uuid.uuid4().hex[:8]
        # large constructor arguments go to the object store, referenced by the driver for as
        # long as the runner lives, so Ray can restart the actors; small ones travel inline
        self._refs = [to_ray_arg(a, f"agent {a.agent_id}") for a in self.agents]
        self._env_ref = to_ray_arg(env, "environment")
        total = num_env_actors * self.n_slots
        self.actors = [
            AgentActor.options(  # type: ignore[attr-defined]
                name=f"handoffq-{tag}-agent-{a.agent_id}", **opts).remote(
                ref, total, str(agent_checkpoint_path(self.checkpoint_dir, a.agent_id))
            )
            for a, ref in zip(self.agents, self._refs, strict=True)
        ]
        own = [bool(getattr(a, "wants_own_view", False)) for a in self.agents]
        self.env_actors = [
            EpisodeActor.options(  # type: ignore[attr-defined]
                name=f"handoffq-{tag}-env-{e}", **opts).remote(
                self._env_ref, self.actors, own, e, self.n_slots, self.seed, threaded_env, auditor is not None
            )
            for e in range(num_env_actors)
        ]
        self.generations = [0] * num_env_actors
        self._closed = False
        infos = self.agent_info()
        self.resumed = [bool(i["restored"]) for i in infos]
        metas = [i["restored_meta"] or {} for i in infos]
        # handoffs already played according to the loaded checkpoints (0 on a fresh start)
        self.resumed_handoffs = min(int(m.get("handoffs", 0)) for m in metas) if all(self.resumed) else 0

    # ----------------------------------------------------------------- training
    def train(self, budget: int, progress: Progress | None = None) -> TrainStats:
        """Play exactly ``budget`` more handoffs (concurrent episodes on all env actors).

        After every chunk all replies of the chunk have been applied (rounds end with their
        replies delivered), every agent actor writes its own checkpoint, and the audit log
        is replayed to the auditor.
        """
        budget = int(budget)
        chunk = chunk_size(budget, self.chunk)
        done = 0
        while done < budget:
            n = min(chunk, budget - done)
            self._run_chunk(n)
            done += n
            self._checkpoint()
            self._replay_audit()
            if progress is not None:
                progress(n)
        self.stats.messages = self.stats.handoffs
        self.sync_agents()
        return self.stats

    def _run_chunk(self, n: int) -> None:
        """Spread ``n`` tokens over the env actors; re-issue those of an actor that died."""
        shares = split_budget(n, len(self.env_actors))
        refs = {self.env_actors[e].run.remote(s, self.generations[e]): e for e, s in enumerate(shares) if s}
        retries = 0
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            e = refs.pop(ready[0])
            try:
                res = ray.get(ready[0])
            except Exception as exc:
                if not actor_died(exc) or retries > 10 * len(self.env_actors):
                    raise
                retries += 1
                self.env_restarts += 1
                self.generations[e] += 1
                self._on_agents("forget_slots", np.asarray(slot_range(e, self.n_slots), dtype=np.int64))
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
        meta = {"handoffs": self.resumed_handoffs + self.stats.handoffs, "episodes": self.stats.episodes}
        self._on_agents("checkpoint", meta)

    def _replay_audit(self) -> None:
        if self.auditor is None:
            return
        for log in ray.get([e.audit_log.remote() for e in self.env_actors]):
            for src, dst, payload in log:
                self.auditor(src, dst, payload)

    # ----------------------------------------------------------------- queries
    def sync_agents(self) -> None:
        """Copy each actor's state into the driver's agent object."""
        for agent, state in zip(self.agents, self._on_agents("state"), strict=True):
            agent.load_state_dict(state)

    def agent_info(self) -> list[dict[str, Any]]:
        """Each agent actor's counters and restart facts."""
        return self._on_agents("info")

    def evaluate(self, episodes: int, seed: int = 10**6, max_handoffs: int = DEFAULT_EVAL_CAP) -> float:
        """Mean discounted return of the greedy policies (episodes ``seed ..`` spread over
        the env actors, each cut after ``max_handoffs`` handoffs)."""
        shares = split_budget(int(episodes), len(self.env_actors))
        starts = np.cumsum([0, *shares[:-1]])
        refs = [
            e.evaluate.remote(seed + int(s0), n, max_handoffs)
            for e, s0, n in zip(self.env_actors, starts, shares)
            if n
        ]
        results = [r for part in ray.get(refs) for r, _ in part]
        return sum(results) / max(len(results), 1)

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Kill the actors (and remove a temporary checkpoint directory)."""
        if self._closed:
            return
        self._closed = True
        if ray.is_initialized():
            for actor in self.env_actors + self.actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> RayRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
