"""Estimators of an agent's Q over its own observations, behind one protocol.

An estimator maps an observation (a tuple of small integers, see
:mod:`handoffq.core.env`) to a vector of values, one per action of the owning agent (its
candidate successors, or its local actions). Three implementations:

* :class:`TabularEstimator` - a table (dense when it fits, a dict otherwise);
* :class:`MLPEstimator` - a PyTorch MLP (configurable depth and width, one-hot or raw
  feature inputs, optional projection of the parameters back into a ball of radius ``B``
  around their initial values, the paper's projected SGD);
* :class:`~handoffq.learn.ntk_mlp.NTKMLPEstimator` - a numpy ReLU MLP in the NTK
  parameterisation with projected SGD (the network of the paper's neural analysis; exact
  gradients on the distinct observations of a batch, several times faster than the torch MLP
  at the small sizes of the synthetic experiments).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from handoffq.core.env import obs_size
from handoffq.learn.targets import NonFiniteQError

__all__ = ["Estimator", "MLPEstimator", "TabularEstimator", "make_estimator"]

_DENSE_LIMIT = 20_000_000  # table entries above which the tabular estimator uses a dict
_F32_MAX = float(np.finfo(np.float32).max)


@runtime_checkable
class Estimator(Protocol):
    """What the IC-Q agent needs from a Q estimator."""

    n_actions: int

    def values(self, obs: Sequence[int]) -> np.ndarray:
        """Q-values of every action at ``obs`` (shape ``(n_actions,)``)."""

    def values_batch(self, obs: np.ndarray) -> np.ndarray:
        """Q-values for a batch of observations (``(B, d)`` -> ``(B, n_actions)``)."""

    def update(self, obs: Sequence[int], action: int, target: float, step_size: float) -> float:
        """Move ``Q(obs, action)`` towards ``target``; return the TD error before the step."""

    def update_batch(
        self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step_sizes: np.ndarray
    ) -> None:
        """Batched :meth:`update` (duplicate pairs are averaged, not applied twice)."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore the estimator."""

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""


class TabularEstimator:
    """A Q table over a MultiDiscrete observation space and ``n_actions`` actions."""

    def __init__(self, obs_nvec: Sequence[int], n_actions: int, init: float = 0.0) -> None:
        self.obs_nvec = tuple(int(n) for n in obs_nvec)
        self.n_actions = int(n_actions)
        self.init = float(init)
        self.n_obs = obs_size(self.obs_nvec)
        self.dense = self.n_obs * self.n_actions <= _DENSE_LIMIT
        if self.dense:
            self.table = np.full((self.n_obs, self.n_actions), self.init)
        else:
            self.sparse: dict[int, np.ndarray] = {}

    def index(self, obs: Sequence[int]) -> int:
        """Flat index of an observation."""
        if len(self.obs_nvec) == 1:
            return int(obs[0])
        return int(np.ravel_multi_index(tuple(int(o) for o in obs), self.obs_nvec))

    def index_batch(self, obs: np.ndarray) -> np.ndarray:
        """Flat indices of a batch of observations ``(B, d)``."""
        obs = np.asarray(obs, dtype=np.int64)
        if obs.ndim == 1:
            obs = obs[:, None]
        if obs.shape[1] == 1:
            return obs[:, 0]
        return np.ravel_multi_index(tuple(obs.T), self.obs_nvec)

    def _row(self, idx: int) -> np.ndarray:
        if self.dense:
            return self.table[idx]
        row = self.sparse.get(idx)
        if row is None:
            row = np.full(self.n_actions, self.init)
            self.sparse[idx] = row
        return row

    def values(self, obs: Sequence[int]) -> np.ndarray:
        """Row of the table at ``obs`` (a copy)."""
        return self._row(self.index(obs)).copy()

    def values_batch(self, obs: np.ndarray) -> np.ndarray:
        """Rows of the table for a batch of observations."""
        idx = self.index_batch(obs)
        if self.dense:
            return self.table[idx]
        return np.stack([self._row(int(i)) for i in idx]) if len(idx) else np.zeros((0, self.n_actions))

    def update(self, obs: Sequence[int], action: int, target: float, step_size: float) -> float:
        """``Q <- Q + step_size * (target - Q)``; returns the TD error.

        Raises :class:`~handoffq.learn.targets.NonFiniteQError` (the table unchanged) if the
        new value would not be finite.
        """
        row = self._row(self.index(obs))
        old = float(row[action])
        err = target - old
        new = old + step_size * err
        if not math.isfinite(new):
            raise NonFiniteQError(f"Q{tuple(obs)}[{action}] = {old!r} stepped towards {target!r} is not finite; "
                                  "the update was refused")
        row[action] = new
        return float(err)

    def update_batch(
        self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step_sizes: np.ndarray
    ) -> None:
        """Average the targets of duplicate pairs, then apply one step per distinct pair.

        A dense table not much larger than the batch groups duplicates with ``np.bincount``
        over the table (O(batch + table), no sort); otherwise with ``np.unique``.
        """
        idx = self.index_batch(obs)
        flat = idx * self.n_actions + np.asarray(actions, dtype=np.int64)
        if self.dense and self.table.size <= max(4 * len(flat), 4096):
            size = self.table.size
            cnt = np.bincount(flat, minlength=size)
            uniq = cnt.nonzero()[0]
            counts = cnt[uniq]
            mean_t = np.bincount(flat, weights=targets, minlength=size)[uniq] / counts
            mean_a = np.bincount(flat, weights=step_sizes, minlength=size)[uniq] / counts
        else:
            uniq, inv, counts = np.unique(flat, return_inverse=True, return_counts=True)
            mean_t = np.bincount(inv, weights=targets, minlength=len(uniq)) / counts
            mean_a = np.bincount(inv, weights=step_sizes, minlength=len(uniq)) / counts
        # c updates at rate a each shrink the error by (1-a)^c: use that as the joint step.
        alpha = 1.0 - np.power(1.0 - np.clip(mean_a, 0.0, 1.0), counts)
        old = self.table.reshape(-1)[uniq] if self.dense else np.array(
            [self._row(int(u // self.n_actions))[int(u % self.n_actions)] for u in uniq], dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            new = old + alpha * (mean_t - old)
        if not np.all(np.isfinite(new)):
            raise NonFiniteQError("a batch update would store a non-finite Q value; the update was refused")
        if self.dense:
            self.table.reshape(-1)[uniq] = new
        else:
            for u, v in zip(uniq, new):
                self._row(int(u // self.n_actions))[int(u % self.n_actions)] = v

    def state_dict(self) -> dict[str, Any]:
        """Table contents."""
        if self.dense:
            return {"table": self.table.copy()}
        return {"sparse": {k: v.copy() for k, v in self.sparse.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore table contents."""
        if self.dense:
            self.table[...] = state["table"]
        else:
            self.sparse = {int(k): np.asarray(v, float) for k, v in state["sparse"].items()}


class MLPEstimator:
    """A PyTorch MLP ``Q_theta(o, .)`` trained by SGD on ``(Q_theta(o, a) - y)^2``.

    Args:
        obs_nvec: observation dimension sizes.
        n_actions: output size.
        width: hidden width ``m``; ``depth``: number of hidden layers (the paper's
            "3-layer MLP" is ``depth=2`` hidden layers plus the output layer).
        inputs: ``"onehot"`` (concatenated one-hot per dimension), ``"features"`` (each
            dimension scaled to [0, 1]), or ``"joint_onehot"`` (one-hot of the flat index;
            what a tabular learner sees).
        lr: base SGD learning rate (multiplied by the agent's step size schedule).
        radius: if given, project the parameters back into the L2 ball of this radius
            around their initialisation after every step.
        optimizer: ``"sgd"`` (plain projected SGD, the paper's analysis) or ``"adam"``
            (robust across widths without retuning ``lr``; the schedule scales its rate).
        seed: seeds the initialisation (a private ``torch.Generator``).
        threads: torch intra-op threads to use (default: ``HANDOFFQ_TORCH_THREADS`` or 1;
            ``None`` leaves torch's setting alone). These networks are small and updated a few
            samples at a time, where extra threads cost more than they give: measured 15
            handoffs/s with torch's default threads against 768/s with one (width 512, a loaded
            2-core machine). torch's thread count is process-wide.
    """

    def __init__(
        self,
        obs_nvec: Sequence[int],
        n_actions: int,
        width: int = 64,
        depth: int = 2,
        inputs: Literal["onehot", "features", "joint_onehot"] = "onehot",
        lr: float = 0.05,
        radius: float | None = None,
        optimizer: Literal["sgd", "adam"] = "sgd",
        seed: int = 0,
        threads: int | None = -1,
    ) -> None:
        import torch

        if threads is not None:
            torch.set_num_threads(default_threads() if threads == -1 else int(threads))
        self._torch = torch
        self.obs_nvec = tuple(int(n) for n in obs_nvec)
        self.n_actions = int(n_actions)
        self.inputs = inputs
        self.lr = float(lr)
        self.radius = radius
        if inputs == "onehot":
            self.in_dim = int(sum(self.obs_nvec))
            self._offsets = np.concatenate([[0], np.cumsum(self.obs_nvec)[:-1]]).astype(np.int64)
        elif inputs == "features":
            self.in_dim = len(self.obs_nvec)
        elif inputs == "joint_onehot":
            self.in_dim = obs_size(self.obs_nvec)
        else:
            raise ValueError(f"unknown MLP input encoding {inputs!r}")
        gen = torch.Generator().manual_seed(int(seed))
        layers: list[Any] = []
        d = self.in_dim
        for _ in range(int(depth)):
            lin = torch.nn.Linear(d, int(width))
            _init_linear(lin, gen)
            layers += [lin, torch.nn.ReLU()]
            d = int(width)
        out = torch.nn.Linear(d, self.n_actions)
        _init_linear(out, gen)
        layers.append(out)
        self.net = torch.nn.Sequential(*layers).float()
        self.theta0 = [p.detach().clone() for p in self.net.parameters()]
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"unknown optimizer {optimizer!r} (expected 'sgd' or 'adam')")
        self.optimizer = optimizer
        self._adam = torch.optim.Adam(self.net.parameters(), lr=self.lr) if optimizer == "adam" else None

    def encode(self, obs: np.ndarray) -> Any:
        """Input features for a batch of observations ``(B, d)``."""
        torch = self._torch
        obs = np.asarray(obs, dtype=np.int64)
        if obs.ndim == 1:
            obs = obs[None, :]
        b = obs.shape[0]
        if self.inputs == "features":
            scale = np.maximum(np.asarray(self.obs_nvec, float) - 1.0, 1.0)
            return torch.as_tensor(obs / scale, dtype=torch.float32)
        x = torch.zeros((b, self.in_dim), dtype=torch.float32)
        if self.inputs == "onehot":
            cols = obs + self._offsets[None, :]
            rows = np.repeat(np.arange(b), obs.shape[1])
            x[rows, cols.reshape(-1)] = 1.0
        else:
            flat = np.ravel_multi_index(tuple(obs.T), self.obs_nvec) if obs.shape[1] > 1 else obs[:, 0]
            x[np.arange(b), flat] = 1.0
        return x

    def values(self, obs: Sequence[int]) -> np.ndarray:
        """Q-values at one observation."""
        return self.values_batch(np.asarray([obs]))[0]

    def values_batch(self, obs: np.ndarray) -> np.ndarray:
        """Q-values for a batch of observations."""
        with self._torch.no_grad():
            return self.net(self.encode(obs)).numpy().copy()

    def update(self, obs: Sequence[int], action: int, target: float, step_size: float) -> float:
        """One SGD step on ``(Q(obs, action) - target)^2``; returns the TD error before it."""
        err = self._step(np.asarray([obs]), np.asarray([action]), np.asarray([target]), step_size)
        return float(err[0])

    def update_batch(
        self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step_sizes: np.ndarray
    ) -> None:
        """One SGD step on the *summed* squared error of the batch: to first order the same
        as ``len(batch)`` per-sample steps (what the in-process runner does), taken at once."""
        if len(actions):
            reduce = "mean" if self._adam is not None else "sum"
            self._step(obs, actions, targets, float(np.mean(step_sizes)), reduce=reduce)

    def _step(
        self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step: float, reduce: str = "mean"
    ) -> np.ndarray:
        torch = self._torch
        t64 = np.asarray(targets, float)
        if not np.all(np.abs(t64) <= _F32_MAX):  # also catches NaN
            raise NonFiniteQError("MLP target(s) not finite in float32; the update was refused")
        x = self.encode(obs)
        q = self.net(x)[torch.arange(len(actions)), torch.as_tensor(actions, dtype=torch.long)]
        y = torch.as_tensor(t64, dtype=torch.float32)
        err = (y - q).detach().numpy()
        sq = 0.5 * (q - y) ** 2
        loss = sq.sum() if reduce == "sum" else sq.mean()
        self.net.zero_grad()
        loss.backward()
        with torch.no_grad():
            self._check_step(step)
            if self._adam is not None:
                for group in self._adam.param_groups:
                    group["lr"] = self.lr * step
                self._adam.step()
            else:
                for p in self.net.parameters():
                    if p.grad is not None:
                        p.sub_(self.lr * step * p.grad)
            if self.radius is not None:
                self._project()
        return err

    def _check_step(self, step: float) -> None:
        """Refuse (gradients cleared, weights untouched) a step that would leave a non-finite
        weight or optimiser moment: a non-finite gradient, a squared gradient that overflows
        (Adam's second moment), or an SGD step whose result overflows."""
        torch = self._torch
        for p in self.net.parameters():
            g = p.grad
            if g is None:
                continue
            ok = bool(torch.isfinite(g).all()) and bool(torch.isfinite(g * g).all())
            if ok and self._adam is None:
                ok = bool(torch.isfinite(p - self.lr * step * g).all())
            if not ok:
                self.net.zero_grad()
                raise NonFiniteQError("an MLP step would make a weight non-finite; the update was refused")

    def _project(self) -> None:
        torch = self._torch
        params = list(self.net.parameters())
        sq = sum(float(((p - p0) ** 2).sum()) for p, p0 in zip(params, self.theta0))
        norm = sq**0.5
        if norm > self.radius:
            scale = self.radius / norm
            for p, p0 in zip(params, self.theta0):
                p.copy_(p0 + (p - p0) * scale)
        del torch

    def distance_from_init(self) -> float:
        """L2 distance of the parameters from their initial values."""
        with self._torch.no_grad():
            return float(
                sum(float(((p - p0) ** 2).sum()) for p, p0 in zip(self.net.parameters(), self.theta0))
                ** 0.5
            )

    def state_dict(self) -> dict[str, Any]:
        """Network weights (numpy arrays) and initial weights."""
        state = {
            "net": {k: v.detach().numpy().copy() for k, v in self.net.state_dict().items()},
            "theta0": [p.numpy().copy() for p in self.theta0],
        }
        if self._adam is not None:
            state["adam"] = self._adam.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore network weights."""
        torch = self._torch
        self.net.load_state_dict({k: torch.as_tensor(v) for k, v in state["net"].items()})
        self.theta0 = [torch.as_tensor(p) for p in state["theta0"]]
        if self._adam is not None and "adam" in state:
            self._adam.load_state_dict(state["adam"])


def default_threads() -> int:
    """torch threads for the MLP path: ``HANDOFFQ_TORCH_THREADS`` or 1."""
    import os

    raw = os.environ.get("HANDOFFQ_TORCH_THREADS", "1")
    try:
        return max(1, int(raw))
    except ValueError:
        raise ValueError(f"HANDOFFQ_TORCH_THREADS must be a positive integer, got {raw!r}") from None


def _init_linear(lin: Any, gen: Any) -> None:
    """PyTorch's default Linear initialisation, drawn from an explicit generator."""
    import torch

    bound = 1.0 / max(lin.in_features, 1) ** 0.5
    with torch.no_grad():
        lin.weight.uniform_(-bound, bound, generator=gen)
        lin.bias.uniform_(-bound, bound, generator=gen)


def make_estimator(
    kind: str, obs_nvec: Sequence[int], n_actions: int, seed: int = 0, **kwargs: Any
) -> Estimator:
    """Build an estimator by name: ``"tabular"``, ``"mlp"`` or ``"ntk_mlp"`` (kwargs go to the class)."""
    if kind == "tabular":
        return TabularEstimator(obs_nvec, n_actions, **kwargs)
    if kind == "mlp":
        return MLPEstimator(obs_nvec, n_actions, seed=seed, **kwargs)
    if kind == "ntk_mlp":
        from handoffq.learn.ntk_mlp import NTKMLPEstimator

        return NTKMLPEstimator(obs_nvec, n_actions, seed=seed, **kwargs)
    raise ValueError(f"unknown estimator {kind!r} (expected 'tabular', 'mlp' or 'ntk_mlp')")
