"""An MLP estimator for observations that carry *values* (integers a network should compare).

:class:`ValueMLPEstimator` is a ReLU MLP in float32 numpy with hand-written backpropagation and
Adam (several times faster than PyTorch for the small batches of a batched runner on a CPU).
Observations are tuples of small integers (``obs_nvec``); dimensions of size ``<= 2`` are
*symbols* (valid bits, flags) and fed as they are, larger ones are *values*. What the network
sees is a fixed feature map of the agent's **own** observation (nothing else enters):

* ``inputs="features"``: symbols, then every value scaled (``value_transform``);
* ``inputs="relations"``: symbols, then every pairwise difference ``x_i - x_j`` (``i < j``) of
  the scaled values (a relational input layer: which of my values are equal, larger, smaller);
* ``inputs="features_relations"``: both;
* ``inputs="bits"``: every dimension as its binary digits.

``value_transform`` scales the value dimensions: ``linear`` (``x / feature_scale``),
``log`` (``log1p(x) / log1p(feature_scale)``) or ``relative`` (``x`` divided by the largest value
dimension of the same observation: a scale-free view in which ``(3, 4, 7)`` and ``(30, 40, 70)``
look alike; this is an inductive bias of the encoding, chosen by the experimenter).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = ["ValueMLPEstimator"]

Inputs = Literal["features", "relations", "features_relations", "bits"]
Transform = Literal["linear", "log", "relative"]
_INPUTS = ("features", "relations", "features_relations", "bits")
_TRANSFORMS = ("linear", "log", "relative")


class ValueMLPEstimator:
    """ReLU MLP ``Q(o, .)`` over a feature map of ``o`` (see the module docstring).

    Args:
        obs_nvec: observation dimension sizes.
        n_actions: outputs.
        width, depth: hidden width and number of hidden layers.
        inputs, value_transform: the feature map (module docstring).
        lr: Adam step (multiplied by the step size each update passes).
        seed: initialisation seed.
        feature_scale: divisor per dimension for ``linear`` / ``log`` (default ``n - 1``).
    """

    def __init__(
        self,
        obs_nvec: Sequence[int],
        n_actions: int,
        width: int = 64,
        depth: int = 2,
        inputs: Inputs = "relations",
        value_transform: Transform = "relative",
        lr: float = 1e-3,
        seed: int = 0,
        feature_scale: Sequence[float] | None = None,
    ) -> None:
        if inputs not in _INPUTS:
            raise ValueError(f"unknown MLP input encoding {inputs!r} (expected one of {', '.join(_INPUTS)})")
        if value_transform not in _TRANSFORMS:
            raise ValueError(f"unknown value transform {value_transform!r} (expected one of {', '.join(_TRANSFORMS)})")
        if width < 1 or depth < 1 or n_actions < 1:
            raise ValueError(f"width, depth and n_actions must be >= 1, got {width}, {depth}, {n_actions}")
        self.obs_nvec = tuple(int(n) for n in obs_nvec)
        self.n_actions = int(n_actions)
        self.inputs, self.value_transform, self.lr = inputs, value_transform, float(lr)
        nv = np.asarray(self.obs_nvec)
        self.feature_scale = (np.maximum(nv - 1.0, 1.0) if feature_scale is None
                              else np.asarray(feature_scale, float))
        self._val = np.flatnonzero(nv > 2)
        self._sym = np.flatnonzero(nv <= 2)
        iu = np.triu_indices(len(self._val), k=1)
        self._pi, self._pj = self._val[iu[0]], self._val[iu[1]]
        self._nbits = np.array([max(1, int(np.ceil(np.log2(max(n, 2))))) for n in self.obs_nvec])
        self.in_dim = self._in_dim()
        self._init_params(int(width), int(depth), np.random.default_rng(seed))

    def _in_dim(self) -> int:
        if self.inputs == "bits":
            return int(self._nbits.sum())
        n = len(self._sym)
        if self.inputs in ("features", "features_relations"):
            n += len(self._val)
        if self.inputs in ("relations", "features_relations"):
            n += len(self._pi)
        return n

    def _init_params(self, width: int, depth: int, rng: np.random.Generator) -> None:
        """PyTorch's default law (uniform within ``1/sqrt(fan_in)``), in one flat buffer."""
        dims = [self.in_dim] + [width] * depth + [self.n_actions]
        shapes = list(itertools.pairwise(dims))
        self._flat = np.zeros(sum(a * b + b for a, b in shapes), np.float32)
        self._gflat = np.zeros_like(self._flat)
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        self._gw: list[np.ndarray] = []
        self._gb: list[np.ndarray] = []
        off = 0
        for a, b in shapes:
            bound = 1.0 / max(a, 1) ** 0.5
            self.weights.append(self._flat[off:off + a * b].reshape(a, b))
            self._gw.append(self._gflat[off:off + a * b].reshape(a, b))
            self.weights[-1][...] = rng.uniform(-bound, bound, (a, b))
            off += a * b
            self.biases.append(self._flat[off:off + b])
            self._gb.append(self._gflat[off:off + b])
            self.biases[-1][...] = rng.uniform(-bound, bound, b)
            off += b
        self.theta0 = self._flat.copy()
        self._m = np.zeros_like(self._flat)
        self._v = np.zeros_like(self._flat)
        self.steps = 0

    # ------------------------------------------------------------------ features
    def _scaled(self, obs: np.ndarray) -> np.ndarray:
        """Value dimensions scaled by ``value_transform`` (symbols unchanged)."""
        x = obs.astype(float)
        v = self._val
        if not len(v):
            return x
        if self.value_transform == "linear":
            x[:, v] /= self.feature_scale[v]
        elif self.value_transform == "log":
            x[:, v] = np.log1p(x[:, v]) / np.log1p(self.feature_scale[v])
        else:
            x[:, v] /= np.maximum(x[:, v].max(axis=1, keepdims=True), 1.0)
        return x

    def encode(self, obs: np.ndarray) -> np.ndarray:
        """Input features ``(B, in_dim)`` of a batch of observations ``(B, d)``."""
        obs = np.asarray(obs, dtype=np.int64)
        if obs.ndim == 1:
            obs = obs[None, :]
        if self.inputs == "bits":
            dim = np.repeat(np.arange(obs.shape[1]), self._nbits)
            pos = np.concatenate([np.arange(k) for k in self._nbits])
            return ((obs[:, dim] >> pos[None, :]) & 1).astype(np.float32)
        x = self._scaled(obs)
        parts = [x[:, self._sym]]
        if self.inputs in ("features", "features_relations"):
            parts.append(x[:, self._val])
        if self.inputs in ("relations", "features_relations"):
            parts.append(x[:, self._pi] - x[:, self._pj])
        return np.concatenate(parts, axis=1).astype(np.float32)

    # ------------------------------------------------------------------- network
    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        hs = [x]
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            x = np.maximum(x @ w + b, 0.0)
            hs.append(x)
        return x @ self.weights[-1] + self.biases[-1], hs

    def values(self, obs: Sequence[int]) -> np.ndarray:
        """Q-values at one observation."""
        return self.values_batch(np.asarray([obs]))[0]

    def values_batch(self, obs: np.ndarray) -> np.ndarray:
        """Q-values for a batch of observations."""
        return self._forward(self.encode(obs))[0].astype(float)

    def update(self, obs: Sequence[int], action: int, target: float, step_size: float) -> float:
        """One step on ``(Q(obs, action) - target)^2 / 2``; returns the TD error before it."""
        return float(self._step(np.asarray([obs]), np.asarray([action]), np.asarray([target], float), step_size)[0])

    def update_batch(self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step_sizes: np.ndarray) -> None:
        """One Adam step on the mean squared error of the batch."""
        if len(actions):
            self._step(np.asarray(obs), np.asarray(actions), np.asarray(targets, float), float(np.mean(step_sizes)))

    def _step(self, obs: np.ndarray, actions: np.ndarray, targets: np.ndarray, step: float) -> np.ndarray:
        q, hs = self._forward(self.encode(obs))
        rows = np.arange(len(actions))
        err = targets - q[rows, actions]
        g = np.zeros_like(q)
        g[rows, actions] = (-err / len(actions)).astype(np.float32)
        for k in range(len(self.weights) - 1, -1, -1):
            np.matmul(hs[k].T, g, out=self._gw[k])
            g.sum(axis=0, out=self._gb[k])
            if k:
                g = (g @ self.weights[k].T) * (hs[k] > 0)
        self.steps += 1
        b1, b2, t = 0.9, 0.999, self.steps
        self._m *= b1
        self._m += (1.0 - b1) * self._gflat
        self._v *= b2
        self._v += (1.0 - b2) * self._gflat * self._gflat
        denom = np.sqrt(self._v / (1.0 - b2**t)) + 1e-8
        self._flat -= (self.lr * step / (1.0 - b1**t)) * self._m / denom
        return err

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Weights, initial weights and Adam moments (flat vectors)."""
        return {"params": self._flat.copy(), "theta0": self.theta0.copy(), "m": self._m.copy(),
                "v": self._v.copy(), "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state_dict`."""
        self._flat[...] = state["params"]
        self.theta0 = np.asarray(state["theta0"], np.float32).copy()
        self._m[...] = state["m"]
        self._v[...] = state["v"]
        self.steps = int(state["steps"])

    def distance_from_init(self) -> float:
        """L2 distance of the parameters from their initial values."""
        return float(np.linalg.norm(self._flat - self.theta0))
