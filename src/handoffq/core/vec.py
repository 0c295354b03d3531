"""Any :class:`~handoffq.core.env.HandoffEnv` as a :class:`~handoffq.core.env.VecHandoffEnv`.

:class:`SyncVecEnv` holds ``n_envs`` copies of a scalar environment and steps them one after
the other (or in a thread pool, so that latency-bound environments such as LLM calls overlap).
It lets the one episode loop of :mod:`handoffq.runtime.loop` run every environment; a
hand-written vectorised environment is only an optimisation.

Episodes are seeded in the order they start: the ``e``-th episode started by this object is
reset with ``seed + e`` (so one copy reproduces ``env.reset(seed + e)`` episode by episode).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from handoffq.core.env import HandoffEnv, VecLocalStep, VecTransition

__all__ = ["SyncVecEnv"]


class SyncVecEnv:
    """``n_envs`` copies of a scalar environment behind the vectorised protocol.

    Args:
        env: the environment to copy, or a factory ``() -> env`` (called ``n_envs`` times).
        n_envs: number of slots.
        seed: first episode seed (``None``: episodes are not reseeded).
        threads: run ``step``/``act`` of the slots in a pool of this many threads (0: in turn).
    """

    def __init__(
        self,
        env: HandoffEnv | Callable[[], HandoffEnv],
        n_envs: int = 1,
        seed: int | None = 0,
        threads: int = 0,
    ) -> None:
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        if callable(env) and not hasattr(env, "step"):
            self.envs: list[Any] = [env() for _ in range(n_envs)]
        else:
            self.envs = [env] + [copy.deepcopy(env) for _ in range(n_envs - 1)]
        first: Any = self.envs[0]
        self.n_envs = int(n_envs)
        self.n_agents = int(first.n_agents)
        self.gamma = float(first.gamma)
        self.agent_names = tuple(getattr(first, "agent_names", tuple(f"agent_{i}" for i in range(self.n_agents))))
        self._seed = seed
        self._started = 0
        self._pool = ThreadPoolExecutor(max_workers=threads) if threads > 0 else None
        self._episode_seeds = np.zeros(self.n_envs, dtype=np.int64)
        self.reset(seed)

    @property
    def simulated(self) -> bool:
        """Whether the wrapped environment is a simulation."""
        return bool(getattr(self.envs[0], "simulated", False))

    def _next_seed(self) -> int | None:
        if self._seed is None:
            return None
        s = self._seed + self._started
        self._started += 1
        return s

    def reset(self, seed: int | None = None) -> None:
        """Start fresh episodes in every slot (episode seeds restart at ``seed``)."""
        if seed is not None:
            self._seed = int(seed)
        self._started = 0
        self.reset_slots(np.arange(self.n_envs))

    def reset_slots(self, slots: np.ndarray) -> None:
        """Restart the episodes of ``slots`` (each with the next episode seed)."""
        for s in np.asarray(slots, dtype=np.int64):
            sd = self._next_seed()
            self._episode_seeds[s] = -1 if sd is None else sd
            self.envs[s].reset(sd)

    def episode_seed(self, slot: int) -> int | None:
        """The seed of the episode now playing in ``slot``."""
        sd = int(self._episode_seeds[slot])
        return None if sd < 0 else sd

    def active(self) -> np.ndarray:
        """Active agent of every slot."""
        return np.fromiter((e.active_agent for e in self.envs), dtype=np.int64, count=self.n_envs)

    def observe(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Observations ``(len(slots), d)`` of ``agent``."""
        d = len(self.envs[0].obs_nvec(agent))
        out = np.zeros((len(slots), d), dtype=np.int64)
        for r, s in enumerate(np.asarray(slots, dtype=np.int64)):
            out[r] = self.envs[s].observe(agent)
        return out

    def mask(self, slots: np.ndarray, agent: int) -> np.ndarray:
        """Admissible candidates ``(len(slots), n_candidates)`` of ``agent``."""
        cands = self.envs[0].candidates(agent)
        col = {c: i for i, c in enumerate(cands)}
        out = np.zeros((len(slots), len(cands)), dtype=bool)
        for r, s in enumerate(np.asarray(slots, dtype=np.int64)):
            out[r, [col[k] for k in self.envs[s].admissible(agent)]] = True
        return out

    def candidates(self, agent: int) -> tuple[int, ...]:
        """Candidate successors of ``agent``."""
        return tuple(self.envs[0].candidates(agent))

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        """Observation dimension sizes of ``agent``."""
        return tuple(self.envs[0].obs_nvec(agent))

    def local_actions(self, agent: int) -> int:
        """Local actions of ``agent`` (0 when the environment has none)."""
        fn = getattr(self.envs[0], "local_actions", None)
        return int(fn(agent)) if fn is not None else 0

    def _map(self, fn: Callable[[int, Any], Any], slots: Sequence[int], args: Sequence[Any]) -> list[Any]:
        if self._pool is None or len(slots) < 2:
            return [fn(int(s), a) for s, a in zip(slots, args)]
        return list(self._pool.map(lambda sa: fn(int(sa[0]), sa[1]), zip(slots, args)))

    def act(self, slots: np.ndarray, actions: np.ndarray) -> VecLocalStep:
        """Apply one local action in each of ``slots``."""
        res = self._map(lambda s, a: self.envs[s].act(int(a)), list(slots), list(actions))
        return VecLocalStep(
            np.fromiter((r.reward for r in res), dtype=float, count=len(res)),
            np.fromiter((r.terminated for r in res), dtype=bool, count=len(res)),
            np.fromiter((r.truncated for r in res), dtype=bool, count=len(res)),
        )

    def step(self, successors: np.ndarray, slots: np.ndarray | None = None) -> VecTransition:
        """Play one invocation in every slot, or in ``slots`` only."""
        idx = np.arange(self.n_envs) if slots is None else np.asarray(slots, dtype=np.int64)
        res = self._map(lambda s, k: self.envs[s].step(int(k)), list(idx), list(successors))
        return VecTransition(
            np.fromiter((r.duration for r in res), dtype=np.int64, count=len(res)),
            np.fromiter((r.reward for r in res), dtype=float, count=len(res)),
            np.fromiter((r.terminated for r in res), dtype=bool, count=len(res)),
            np.fromiter((r.truncated for r in res), dtype=bool, count=len(res)),
        )

    def close(self) -> None:
        """Shut the thread pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_threads"] = self._pool._max_workers if self._pool is not None else 0
        state["_pool"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        threads = state.pop("_threads", 0)
        self.__dict__.update(state)
        self._pool = ThreadPoolExecutor(max_workers=threads) if threads else None
