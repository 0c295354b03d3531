"""The simulated worlds of the llm-math experiment, and IC-Q (ICQ+) training on them.

A :class:`World` is one dataset under one backend seed: the calibrated role model, the
exact hidden-configuration table, a training pool and a test split (the file's real
questions when ``--data`` is given, generated carriers otherwise), each question's hidden
configuration looked up by its id exactly as the text backend does
(:func:`handoffq.llm.simulated.draw_hidden`).

Training runs on :class:`~handoffq.envs.llm_math.batched.SimVecEnv` (many cheap simulated
episodes), which a test checks against the text environment configuration by
configuration; every LLM call the roles make is counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from handoffq.envs.llm_math.batched import SimVecEnv
from handoffq.envs.llm_math.data import Question, generate_arith, load_dataset, split_questions
from handoffq.envs.llm_math.dynamics import n_obs
from handoffq.envs.llm_math.exact import HiddenTable, config_indices, hidden_table
from handoffq.learn.replay import PlusConfig
from handoffq.learn.replay_runner import ReplayRunner, make_plus_team
from handoffq.llm.simulated import HIDDEN_NAMES, SimParams, calibration, draw_hidden

__all__ = [
    "MLPQ",
    "N_OPTIONS",
    "World",
    "build_world",
    "greedy_of",
    "hidden_rows",
    "n_obs_of",
    "pool_rows",
    "train_icq_plus",
]

N_OPTIONS = {"mathqa": 5, "mmlu-hs": 4, "mmlu-elem": 4}


@dataclass
class World:
    """One dataset under one backend seed (see the module docstring)."""

    dataset: str
    seed: int
    params: SimParams
    hid: HiddenTable
    cap: int
    pool: np.ndarray  # hidden-configuration row of every training question
    test: list[Question]
    test_rows: np.ndarray
    source: str

    @property
    def n_options(self) -> int:
        """Options per question (5 for MathQA, 4 for MMLU)."""
        return N_OPTIONS.get(self.dataset, 4)


def hidden_rows(params: SimParams, qids: list[str], seed: int) -> np.ndarray:
    """Hidden-configuration row of each question id (as the simulated backend draws it)."""
    if not qids:
        return np.zeros(0, dtype=np.int64)
    get = [draw_hidden(params, q, seed) for q in qids]
    vals = np.array([[getattr(h, n) for n in HIDDEN_NAMES] for h in get], dtype=bool)
    return config_indices(vals)


def pool_rows(params: SimParams, n: int, dataset: str, seed: int) -> np.ndarray:
    """Hidden-configuration rows of ``n`` generated training questions, drawn i.i.d. from the
    calibration in one vectorised draw (the same distribution as :func:`hidden_rows`; these
    questions are never played as text, so they need no id)."""
    tag = int.from_bytes(hashlib.sha256(f"pool:{dataset}".encode()).digest()[:8], "little")
    u = np.random.default_rng([int(seed), tag]).random((n, len(HIDDEN_NAMES)))
    return config_indices(u < params.as_array()[None, :])


def build_world(
    dataset: str,
    seed: int,
    copy: float | None,
    cap: int,
    data: str | Path | None,
    n_train: int,
    n_test: int,
) -> World:
    """The world of ``dataset`` for backend seed ``seed`` (file questions when ``data``)."""
    params = calibration(dataset, copy)
    hid = hidden_table(params)
    if data is not None:
        qs = load_dataset(dataset, data)
        train, test = split_questions(qs, 0.5, seed=seed)
        pool = hidden_rows(params, [q.qid for q in train], seed)
        source = f"file {Path(data)} ({len(qs)} questions, split 50/50)"
    else:
        pool = pool_rows(params, n_train, dataset, seed)
        test = generate_arith(n_test, seed=10_000 + seed, n_options=N_OPTIONS[dataset])
        source = f"generated carrier questions ({n_train} train, {n_test} test)"
    test_rows = hidden_rows(params, [q.qid for q in test], seed)
    return World(dataset, seed, params, hid, cap, pool, test, test_rows, source)


class MLPQ:
    """A per-agent MLP ``Q(o, .)`` (the paper's 3 layers, width 512) fitted by Adam.

    Used by :class:`~handoffq.learn.replay.ReplayICQAgent` for its exploit values: each replay
    refit takes ``steps`` Adam steps on the agent's own mean targets (weighted by counts).
    """

    def __init__(self, obs_nvec: tuple[int, ...], n_actions: int, width: int = 512,
                 depth: int = 2, lr: float = 1e-3, seed: int = 0) -> None:
        import torch

        self.torch = torch
        self.obs_nvec = tuple(obs_nvec)
        gen = torch.Generator().manual_seed(int(seed) % (2**31))
        self.in_dim = int(sum(self.obs_nvec))
        self.offsets = np.concatenate([[0], np.cumsum(self.obs_nvec)[:-1]]).astype(np.int64)
        layers: list[Any] = []
        d = self.in_dim
        for _ in range(depth):
            lin = torch.nn.Linear(d, width)
            _init(lin, gen)
            layers += [lin, torch.nn.ReLU()]
            d = width
        out = torch.nn.Linear(d, n_actions)
        _init(out, gen)
        layers.append(out)
        self.net = torch.nn.Sequential(*layers)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)

    def _x(self, rows: np.ndarray) -> Any:
        rows = np.asarray(rows, dtype=np.int64)
        x = self.torch.zeros((len(rows), self.in_dim))
        cols = rows + self.offsets[None, :]
        x[np.repeat(np.arange(len(rows)), rows.shape[1]), cols.reshape(-1)] = 1.0
        return x

    def values_batch(self, rows: np.ndarray) -> np.ndarray:
        """Q-values of observation rows ``(B, d)``."""
        with self.torch.no_grad():
            return self.net(self._x(rows)).numpy().astype(float)

    def fit_weighted(self, rows: np.ndarray, actions: np.ndarray, targets: np.ndarray,
                     weights: np.ndarray) -> None:
        """One Adam step on the weighted squared error."""
        torch = self.torch
        q = self.net(self._x(rows))[torch.arange(len(actions)), torch.as_tensor(actions)]
        y = torch.as_tensor(targets, dtype=torch.float32)
        w = torch.as_tensor(weights, dtype=torch.float32)
        loss = (w * (q - y) ** 2).sum()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()


def _init(lin: Any, gen: Any) -> None:
    import torch

    bound = 1.0 / max(lin.in_features, 1) ** 0.5
    with torch.no_grad():
        lin.weight.uniform_(-bound, bound, generator=gen)
        lin.bias.uniform_(-bound, bound, generator=gen)


def greedy_of(team: list, interface: str, cap: int) -> np.ndarray:
    """Routing table ``(4, n_obs)`` of the team's greedy (exploit) successors."""
    from handoffq.envs.llm_math.env import greedy_table

    return greedy_table(team, interface, cap)


def train_icq_plus(
    world: World,
    interface: str,
    calls: int,
    cfg: PlusConfig,
    seed: int,
    n_envs: int = 256,
    estimator: str = "tabular",
    mlp: dict | None = None,
    check_every: int | None = None,
    on_check: Callable[[int, list], None] | None = None,
) -> tuple[list, SimVecEnv, ReplayRunner]:
    """Train ICQ+ (:mod:`handoffq.learn.replay`) on the world's pool for ``calls`` LLM calls."""
    env = SimVecEnv(
        world.hid.values[world.pool], n_envs=n_envs, max_handoffs=world.cap,
        interface=interface, seed=seed,
    )
    make = None
    if estimator == "mlp":
        kw = dict(mlp or {})
        steps = int(kw.pop("steps", 50))

        def make(i: int, s: int) -> MLPQ:
            return MLPQ(env.obs_nvec(i), len(env.candidates(i)), seed=s, **kw)

    team = make_plus_team(env, cfg, seed, estimator=make)
    if estimator == "mlp":
        for a in team:
            a.mlp_steps = steps
    run = ReplayRunner(env, team, cfg, world.cap if interface == "budget" else None)
    cb = None if on_check is None else (lambda c: on_check(c, team))
    run.train(calls, check_every=check_every, on_check=cb)
    return team, env, run


def n_obs_of(interface: str, cap: int) -> int:
    """Observation count of an interface (re-exported for callers)."""
    return n_obs(interface, cap)
