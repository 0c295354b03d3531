"""A tiny stand-in for the router's AgentNode (tabular, epsilon-greedy), for the service tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from handoffq.core.messages import HandoffMessage


class StandInNode:
    def __init__(self, name: str, successors: list[str], observe: Any = None, gamma: float = 0.99,
                 epsilon: float = 0.2, seed: int = 0, lr: float = 0.2) -> None:
        self.name = name
        self.successors = tuple(successors)
        self.observe = observe or (lambda a: a.get("view", 0) if isinstance(a, dict) else 0)
        self.gamma, self.epsilon, self.lr = gamma, epsilon, lr
        self.q = np.zeros((0, len(successors)))
        self.vocab: dict[Any, int] = {}
        self.rng = np.random.default_rng(seed)
        self.pending: dict[Any, tuple[int, int]] = {}
        self.updates = 0

    def view(self, artifact: Any, *, add: bool = True) -> tuple[int, ...]:
        raw = self.observe(artifact)
        if raw not in self.vocab:
            if not add:
                return (-1,)
            self.vocab[raw] = len(self.vocab)
            self.q = np.vstack([self.q, np.zeros(len(self.successors))])
        return (self.vocab[raw],)

    def value(self, obs: tuple[int, ...], allowed: Any = None) -> float:
        return 0.0 if obs[0] < 0 else float(self.q[obs[0]].max())

    def choose(self, key: Any, obs: tuple[int, ...], *, explore: bool, allowed: Any = None,
               record: bool | None = None, chosen: str | None = None) -> str:
        if chosen is not None:
            col = self.successors.index(chosen)
        elif obs[0] < 0:
            col = 0
        elif explore and self.rng.random() < self.epsilon:
            col = int(self.rng.integers(len(self.successors)))
        else:
            col = int(np.argmax(self.q[obs[0]]))
        if record is None or record:
            if key in self.pending:
                raise RuntimeError(f"decision {key!r} is already pending")
            self.pending[key] = (obs[0], col)
        return self.successors[col]

    def learn(self, key: Any, message: HandoffMessage) -> float:
        row, col = self.pending.pop(key)
        y = message.reward + self.gamma ** message.duration * message.value
        err = y - self.q[row, col]
        self.q[row, col] += self.lr * err
        self.updates += 1
        return float(err)

    def forget(self, key: Any) -> bool:
        return self.pending.pop(key, None) is not None

    def state_dict(self) -> dict[str, Any]:
        return {"q": self.q.copy(), "vocab": dict(self.vocab), "rng": self.rng.bit_generator.state,
                "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q = state["q"].copy()
        self.vocab = dict(state["vocab"])
        self.rng.bit_generator.state = state["rng"]
        self.updates = state["updates"]
