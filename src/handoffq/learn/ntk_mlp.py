"""A per-agent ReLU MLP in the NTK parameterisation, trained by projected SGD (numpy).

This is the network of the paper's neural analysis (and of neural TD / Q-learning theory à la
Cai et al. 2019, Xu & Gu 2020): ``depth`` hidden ReLU layers of width ``m`` whose weights are
drawn ``N(0, 1)`` and every layer's pre-activation is divided by ``sqrt(fan_in)`` (biases are
one more input fixed to 1), so that the neural tangent kernel - and with it the stable step
size - does not depend on the width. The output is *centred*: ``Q_theta(x) = f_theta(x) -
f_theta0(x)``, zero at initialisation (the symmetric-initialisation device of that theory).

Training is SGD on ``1/2 (Q_theta(o, a) - y)^2``; after every step the parameters are projected
back into the L2 ball of radius ``radius`` around ``theta0`` (the paper's projected SGD). The
optimiser ``"adam"`` is offered as an option (not in the analysis).

Observations are MultiDiscrete tuples encoded one-hot (``"onehot"``: one block per dimension;
``"joint_onehot"``: one-hot of the flat index). Because a batch of handoffs holds few distinct
observations, the forward and backward passes run on the distinct observations only and the
per-sample output gradients are summed per observation first: the gradient is exactly the
batch gradient, at a cost set by the number of distinct observations rather than the batch.

Same protocol as :class:`handoffq.learn.estimators.MLPEstimator` (``values``, ``values_batch``,
``update``, ``update_batch``, ``state_dict``, ``load_state_dict``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from handoffq.core.env import obs_size
from handoffq.learn.targets import NonFiniteQError

__all__ = ["NTKMLPEstimator"]


class NTKMLPEstimator:
    """Per-agent NTK-parameterised MLP with projected SGD (see module docstring).

    Args:
        obs_nvec: observation dimension sizes.
        n_actions: outputs (one per successor / local action).
        width: hidden width ``m``.
        depth: hidden layers (2 = the paper's "3-layer MLP").
        inputs: ``"onehot"`` or ``"joint_onehot"``.
        lr: step size (multiplied by the agent's schedule).
        radius: projection radius ``B`` around the initial parameters (``None``: no projection).
        optimizer: ``"sgd"`` (the analysis) or ``"adam"``.
        reduce: ``"mean"`` (one step on the batch-mean loss) or ``"sum"`` (summed: to first
            order ``len(batch)`` per-sample steps).
        seed: initialisation seed.
        dtype: ``"float32"`` (default, fast) or ``"float64"``.
    """

    def __init__(
        self,
        obs_nvec: Sequence[int],
        n_actions: int,
        width: int = 64,
        depth: int = 2,
        inputs: Literal["onehot", "joint_onehot"] = "onehot",
        lr: float = 0.5,
        radius: float | None = None,
        optimizer: Literal["sgd", "adam"] = "sgd",
        reduce: Literal["mean", "sum"] = "mean",
        seed: int = 0,
        dtype: str = "float32",
    ) -> None:
        if optimizer not in ("sgd", "adam"):
            raise ValueError(f"unknown optimizer {optimizer!r} (expected 'sgd' or 'adam')")
        if inputs not in ("onehot", "joint_onehot"):
            raise ValueError(f"unknown input encoding {inputs!r}")
        if reduce not in ("mean", "sum"):
            raise ValueError(f"unknown reduction {reduce!r}")
        self.obs_nvec = tuple(int(n) for n in obs_nvec)
        self.n_actions = int(n_actions)
        self.width, self.depth = int(width), int(depth)
        self.inputs, self.lr, self.radius = inputs, float(lr), radius
        self.optimizer, self.reduce = optimizer, reduce
        self.n_obs = obs_size(self.obs_nvec)
        self.in_dim = self.n_obs if inputs == "joint_onehot" else int(sum(self.obs_nvec))
        self._offsets = np.concatenate([[0], np.cumsum(self.obs_nvec)[:-1]]).astype(np.int64)
        rng = np.random.default_rng(seed)
        dims = [self.in_dim] + [self.width] * self.depth + [self.n_actions]
        # weights[l]: (fan_in + 1, fan_out), the last input row is the bias
        self.dtype = np.dtype(dtype).type
        self.weights = [rng.standard_normal((dims[k] + 1, dims[k + 1])).astype(self.dtype)
                        for k in range(len(dims) - 1)]
        self.theta0 = [w.copy() for w in self.weights]
        self._limit = float(np.finfo(self.dtype).max)  # the largest finite weight (refused beyond)
        self._scale = [1.0 / np.sqrt(dims[k] + 1) for k in range(len(dims) - 1)]
        self._adam_m = [np.zeros_like(w) for w in self.weights]
        self._adam_v = [np.zeros_like(w) for w in self.weights]
        self._adam_t = 0
        self._table: np.ndarray | None = None  # cached Q over every observation (small spaces)
        self._table_acts: list[np.ndarray] | None = None  # the layer inputs of that forward
        self._f0: np.ndarray | None = None
        self._cache_all = self.n_obs <= 4096
        if self._cache_all:
            self._f0 = self._forward(self._encode_flat(np.arange(self.n_obs)), self.theta0)[0]

    # ------------------------------------------------------------------ encoding
    def _flat(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.int64)
        if obs.ndim == 1:
            obs = obs[:, None]
        if obs.shape[1] == 1:
            return obs[:, 0]
        return np.ravel_multi_index(tuple(obs.T), self.obs_nvec)

    def _encode_flat(self, flat: np.ndarray) -> np.ndarray:
        x = np.zeros((len(flat), self.in_dim), dtype=self.dtype)
        if self.inputs == "joint_onehot" or len(self.obs_nvec) == 1:
            x[np.arange(len(flat)), flat] = 1.0
        else:
            digits = np.array(np.unravel_index(flat, self.obs_nvec)).T + self._offsets[None, :]
            x[np.repeat(np.arange(len(flat)), digits.shape[1]), digits.reshape(-1)] = 1.0
        return x

    # ------------------------------------------------------------------- network
    def _forward(self, x: np.ndarray, weights: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Output ``f(x)`` and the inputs (with the bias column) of every layer."""
        acts = []
        h = x
        for k, w in enumerate(weights):
            hb = np.concatenate([h, np.ones((h.shape[0], 1), dtype=h.dtype)], axis=1)
            acts.append(hb)
            z = (hb @ w) * self.dtype(self._scale[k])
            h = np.maximum(z, 0.0) if k < len(weights) - 1 else z
        return h, acts

    def _q_of_flat(self, flat: np.ndarray) -> np.ndarray:
        if self._cache_all:
            return self._refresh_table()[0][flat]
        x = self._encode_flat(flat)
        return (self._forward(x, self.weights)[0] - self._forward(x, self.theta0)[0]).astype(float)

    def _refresh_table(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The Q table over every observation and the layer inputs of its forward pass."""
        if self._table is None or self._table_acts is None:
            assert self._f0 is not None
            out, acts = self._forward(self._encode_flat(np.arange(self.n_obs)), self.weights)
            self._table = (out - self._f0).astype(float)
            self._table_acts = acts
        return self._table, self._table_acts

    def values(self, obs: Sequence[int]) -> np.ndarray:
        """Q-values at one observation."""
        return self.values_batch(np.asarray([obs]))[0]

    def values_batch(self, obs: np.ndarray) -> np.ndarray:
        """Q-values for a batch of observations ``(B, d)`` -> ``(B, n_actions)``."""
        return np.asarray(self._q_of_flat(self._flat(obs)), dtype=float)

    # ------------------------------------------------------------------ training
    def update(self, obs: Sequence[int], action: int, target: float, step_size: float) -> float:
        """One step on ``(Q(obs, action) - target)^2``; returns the TD error before it."""
        q = self.values(obs)[action]
        self.update_batch(np.asarray([obs]), np.asarray([action]), np.asarray([target]), np.asarray([step_size]))
        return float(target - q)

    def update_batch(
        self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step_sizes: np.ndarray
    ) -> None:
        """One (projected) step on the batch loss; the gradient is computed on the distinct
        observations of the batch with the per-sample output errors summed per observation."""
        if len(actions) == 0:
            return
        t = np.asarray(targets, float)
        if not (float(t.max()) <= self._limit and float(t.min()) >= -self._limit):  # NaN fails both
            raise NonFiniteQError("NTK-MLP target(s) not finite in the weights' dtype; the update was refused")
        flat = self._flat(obs)
        if self._cache_all:  # one forward over every observation serves values and gradient
            q, acts = self._refresh_table()
            inv = flat
        else:
            uniq, inv = np.unique(flat, return_inverse=True)
            x = self._encode_flat(uniq)
            out, acts = self._forward(x, self.weights)
            q = out - self._forward(x, self.theta0)[0]
        actions = np.asarray(actions, dtype=np.int64)
        err = q[inv, actions] - np.asarray(targets, dtype=float)
        if self.reduce == "mean":
            err = err / len(err)
        g = np.zeros(q.shape, dtype=self.dtype)
        np.add.at(g, (inv, actions), err.astype(self.dtype))
        grads = self._backward(g, acts)
        step = self.lr * float(np.mean(step_sizes))
        self._check_step(grads, step)
        self._apply(grads, step)
        self._table = None
        self._table_acts = None

    def _check_step(self, grads: list[np.ndarray], step: float) -> None:
        """Refuse (nothing changed) a step that would leave a non-finite weight or Adam moment:
        a gradient whose squared norm is not finite (inf, NaN, or an overflowing square), or an
        SGD step that could overflow a weight (bounded by the norms; one dot product per layer)."""
        gsq = sum(float(np.dot(gr.ravel(), gr.ravel())) for gr in grads)
        ok = gsq < self._limit  # False for inf and NaN too
        if ok and self.optimizer != "adam":
            wsq = sum(float(np.dot(w.ravel(), w.ravel())) for w in self.weights)
            ok = wsq < self._limit and wsq**0.5 + step * gsq**0.5 < self._limit
        if not ok:
            raise NonFiniteQError("an NTK-MLP step would make a weight non-finite; the update was refused")

    def _backward(self, g: np.ndarray, acts: list[np.ndarray]) -> list[np.ndarray]:
        grads = [np.empty(0)] * len(self.weights)
        delta = g  # d loss / d (layer output) for the output layer
        for k in range(len(self.weights) - 1, -1, -1):
            dz = delta * self.dtype(self._scale[k])
            grads[k] = acts[k].T @ dz
            if k > 0:
                dh = dz @ self.weights[k][:-1].T
                delta = dh * (acts[k][:, :-1] > 0.0)
        return grads

    def _apply(self, grads: list[np.ndarray], step: float) -> None:
        if self.optimizer == "adam":
            self._adam_t += 1
            b1, b2, eps = 0.9, 0.999, 1e-8
            c1, c2 = 1.0 - b1**self._adam_t, 1.0 - b2**self._adam_t
            for w, gr, m, v in zip(self.weights, grads, self._adam_m, self._adam_v):
                m *= b1
                m += (1.0 - b1) * gr
                v *= b2
                v += (1.0 - b2) * gr * gr
                w -= (step * (m / c1) / (np.sqrt(v / c2) + eps)).astype(w.dtype)
        else:
            for w, gr in zip(self.weights, grads):
                gr *= self.dtype(step)
                w -= gr
        if self.radius is not None:
            self._project()

    def _project(self) -> None:
        sq = 0.0
        for w, w0 in zip(self.weights, self.theta0):
            d = np.subtract(w, w0).ravel()
            sq += float(np.dot(d, d))
        norm = sq**0.5
        if norm > self.radius:
            scale = self.dtype(self.radius / norm)
            for w, w0 in zip(self.weights, self.theta0):
                w -= w0
                w *= scale
                w += w0

    def distance_from_init(self) -> float:
        """L2 distance of the parameters from their initial values."""
        return float(sum(float(np.sum((w - w0) ** 2)) for w, w0 in zip(self.weights, self.theta0)) ** 0.5)

    # --------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Weights, initial weights and optimiser state."""
        return {"weights": [w.copy() for w in self.weights], "theta0": [w.copy() for w in self.theta0],
                "adam": ([m.copy() for m in self._adam_m], [v.copy() for v in self._adam_v], self._adam_t)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self.weights = [np.asarray(w, self.dtype).copy() for w in state["weights"]]
        self.theta0 = [np.asarray(w, self.dtype).copy() for w in state["theta0"]]
        m, v, t = state["adam"]
        self._adam_m = [np.asarray(a, self.dtype).copy() for a in m]
        self._adam_v = [np.asarray(a, self.dtype).copy() for a in v]
        self._adam_t = int(t)
        self._table = None
        self._table_acts = None
        if self._cache_all:
            self._f0 = self._forward(self._encode_flat(np.arange(self.n_obs)), self.theta0)[0]
