"""Everything one service is made of, from its options: node, work, keys, journal, sender.

:class:`ServiceOptions` holds the options of ``handoffq serve-agent`` (and of one service in a
compose file); :func:`build_service` checks them (one-line errors naming the option) and
assembles an :class:`~handoffq.services.service.AgentService` before anything listens.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handoffq.router.errors import END
from handoffq.services.delivery import RetryPolicy, Sender
from handoffq.services.hosting import HostedNode
from handoffq.services.journal import Journal
from handoffq.services.protocol import MODES
from handoffq.services.protocol import NAME as _NAME
from handoffq.services.security import KeyRing, env_var
from handoffq.services.service import AgentService, Peer, ServiceSettings
from handoffq.services.work import load_callable

__all__ = ["END_LABEL", "ServiceOptions", "build_node", "build_service", "parse_peer"]

END_LABEL = END
"""The successor label that ends a task (the router's ``END``); its address is the judge."""

class OptionError(ValueError):
    """A service option is wrong (the message names it)."""


def parse_peer(text: str, option: str) -> tuple[str, str]:
    """``NAME=URL`` -> ``(NAME, URL)``."""
    name, sep, url = text.partition("=")
    if not sep or not _NAME.match(name) or not re.match(r"^https?://\S+$", url):
        raise OptionError(f"{option} must look like NAME=http://host:port, got {text!r}")
    return name, url.rstrip("/")


@dataclass
class ServiceOptions:
    """The options of one service (see ``handoffq serve-agent --help`` for each)."""

    name: str
    checkpoint_dir: Path
    role: str = "agent"
    host: str = "127.0.0.1"
    port: int = 8700
    url: str | None = None
    work: str | None = None
    judge: str | None = None
    observe: str | None = None
    successors: list[str] = field(default_factory=list)
    peers: dict[str, str] = field(default_factory=dict)
    end: tuple[str, str] | None = None
    accept_from: list[str] = field(default_factory=list)
    key_file: Path | None = None
    learner: str = "tabular"
    gamma: float = 0.99
    epsilon: float = 0.1
    epsilon_decay: float = 1.0
    epsilon_min: float = 0.0
    seed: int = 0
    unseen: str = "add"
    fallback: str | None = None
    mode: str = "train"
    learn_in_serve: bool = True
    cost_weight: float = 1.0
    max_handoffs: int = 20
    penalty: float = -1.0
    inbox_size: int = 1024
    outbox_size: int = 4096
    concurrency: int = 64
    work_threads: int = 8
    max_artifact_bytes: int = 1 << 20
    max_reply_bytes: int = 2048
    window: float = 30.0
    checkpoint_every: int = 5000
    checkpoint_interval: float = 10.0
    fsync: bool = False
    forward: str = "http"
    a2a: bool = True
    decision_ttl: float = 600.0
    max_magnitude: float = 1e9
    reply_quota: int = 0
    retry_base: float = 0.02
    retry_max: float = 1.0
    timeout: float = 10.0
    delivery_ttl: float = 300.0
    max_attempts: int = 0
    audit: Path | None = None
    outcomes: Path | None = None

    @property
    def base_url(self) -> str:
        """Where peers reach this service."""
        return (self.url or f"http://{self.host}:{self.port}").rstrip("/")

    def peer_table(self) -> dict[str, Peer]:
        """Peer label -> peer: successors and the predecessors this service replies to (by
        name), END -> the judge."""
        table = {label: Peer(label, url) for label, url in self.peers.items()}
        if self.end is not None:
            table[END_LABEL] = Peer(self.end[0], self.end[1])
        return table

    def key_peers(self) -> list[str]:
        """Every peer this service needs a key for: its successors, the judge, its predecessors."""
        names = {p.name for p in self.peer_table().values()} | set(self.accept_from)
        return sorted(names)


def _check(o: ServiceOptions) -> None:
    if not _NAME.match(o.name):
        raise OptionError(f"--name must be 1-64 letters, digits, '_', '.', '-', got {o.name!r}")
    choices = {"role": ("agent", "judge"), "mode": MODES, "forward": ("http", "a2a"), "learner": ("tabular", "mlp"),
               "unseen": ("add", "fallback", "error")}
    for name, allowed in choices.items():
        if getattr(o, name) not in allowed:
            raise OptionError(f"--{name} must be one of {', '.join(allowed)}, got {getattr(o, name)!r}")
    if not o.accept_from:
        raise OptionError("--accept-from is required: the services that may hand off to this one ('client' for "
                          "whoever submits tasks)")
    if o.role == "agent":
        _check_agent(o)
    elif not o.judge:
        raise OptionError("--judge module:function is required for a judge")
    _check_numbers(o)


def _check_agent(o: ServiceOptions) -> None:
    if not o.work:
        raise OptionError("--work module:function is required for an agent")
    if not o.successors:
        raise OptionError("--successor is required for an agent (repeat it; __end__ ends a task)")
    table = o.peer_table()
    missing = [s for s in o.successors if s not in table]
    if missing:
        raise OptionError(f"no address for successor(s) {missing}: give --peer NAME=URL (and --end NAME=URL)")


def _check_numbers(o: ServiceOptions) -> None:
    for name in ("inbox_size", "outbox_size", "concurrency", "max_handoffs", "checkpoint_every", "max_reply_bytes"):
        if int(getattr(o, name)) < 1:
            raise OptionError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(o, name)}")
    if o.max_artifact_bytes < 256:
        raise OptionError(f"--max-artifact-bytes must be >= 256, got {o.max_artifact_bytes}")
    if o.work_threads < 0:
        raise OptionError(f"--work-threads must be >= 0, got {o.work_threads}")
    for name in ("window", "decision_ttl", "checkpoint_interval", "timeout", "retry_base", "retry_max",
                 "delivery_ttl", "max_magnitude"):
        if not 0.0 < float(getattr(o, name)) < float("inf"):
            raise OptionError(f"--{name.replace('_', '-')} must be a positive number, got {getattr(o, name)}")
    for name in ("reply_quota", "max_attempts"):
        if int(getattr(o, name)) < 0:
            raise OptionError(f"--{name.replace('_', '-')} must be >= 0 (0: the default rule), got {getattr(o, name)}")


def load_keys(o: ServiceOptions) -> KeyRing:
    """The key ring of ``o``: ``--key-file`` then the environment; every peer must have a key."""
    ring = KeyRing.from_file(o.key_file) if o.key_file is not None else KeyRing()
    ring = ring.merged(KeyRing.from_env(o.key_peers()))
    missing = [p for p in o.key_peers() if p not in ring]
    if missing:
        hints = ", ".join(f"{p} ({env_var(p)})" for p in missing)
        raise OptionError(f"no key shared with peer(s) {hints}: set the variable or add it to --key-file")
    return ring


def build_node(o: ServiceOptions) -> HostedNode:
    """The agent's :class:`~handoffq.router.node.AgentNode` from the learner options."""
    from handoffq.learn.exploration import Exploration
    from handoffq.router.node import AgentNode, agent_seed

    observe = load_callable(o.observe, "--observe") if o.observe else None
    exploration = Exploration(epsilon=o.epsilon, decay=o.epsilon_decay, epsilon_min=o.epsilon_min)
    node = AgentNode(o.name, list(o.successors), observe=observe, learner=o.learner, gamma=o.gamma,
                     exploration=exploration, seed=agent_seed(o.seed, o.name), unseen=o.unseen, fallback=o.fallback)  # type: ignore[arg-type]
    return HostedNode(node, learn_in_serve=o.learn_in_serve)


def settings_of(o: ServiceOptions) -> ServiceSettings:
    """The service settings of ``o``."""
    return ServiceSettings(
        name=o.name, url=o.base_url, role=o.role, peers=o.peer_table(), accept_from=frozenset(o.accept_from),
        mode=o.mode, cost_weight=o.cost_weight,
        max_handoffs=o.max_handoffs, penalty=o.penalty, inbox_size=o.inbox_size, outbox_size=o.outbox_size,
        concurrency=o.concurrency, work_threads=o.work_threads, max_artifact_bytes=o.max_artifact_bytes,
        max_reply_bytes=o.max_reply_bytes, window_s=o.window, checkpoint_every=o.checkpoint_every,
        checkpoint_interval_s=o.checkpoint_interval, fsync=o.fsync, forward=o.forward,
        decision_ttl_s=o.decision_ttl, max_magnitude=o.max_magnitude, reply_quota=o.reply_quota,
        audit_path=o.audit, outcomes_path=o.outcomes,
    )


def build_service(
    o: ServiceOptions,
    http: Any,
    keys: KeyRing | None = None,
    node_factory: Callable[[ServiceOptions], HostedNode] = build_node,
) -> AgentService:
    """Check ``o`` and assemble its service (``http``: the ``httpx.AsyncClient`` it sends with)."""
    _check(o)
    keys = keys if keys is not None else load_keys(o)
    node = work = judge = None
    if o.role == "agent":
        work = load_callable(o.work or "", "--work")
        node = node_factory(o)
        if list(node.successors) != list(o.successors):
            raise OptionError(f"the node's successors {list(node.successors)} differ from --successor {o.successors}")
    else:
        judge = load_callable(o.judge or "", "--judge")
    journal = Journal(o.checkpoint_dir, o.name, fsync=o.fsync)
    retry = RetryPolicy(o.retry_base, o.retry_max, o.timeout, give_up_s=o.delivery_ttl, max_attempts=o.max_attempts)
    sender = Sender(o.name, keys, http, forward=o.forward, retry=retry, seed=o.seed)
    return AgentService(settings_of(o), keys, journal, sender, node=node, work=work, judge=judge)


def options_from_mapping(data: dict[str, Any], where: str) -> ServiceOptions:
    """:class:`ServiceOptions` from a TOML table (keys are option names, ``-`` or ``_``)."""
    known = {f.name for f in dataclasses.fields(ServiceOptions)}
    kwargs: dict[str, Any] = {}
    for key, val in data.items():
        name = key.replace("-", "_")
        if name not in known:
            raise OptionError(f"{where}: unknown option {key!r}")
        kwargs[name] = val
    for name in ("checkpoint_dir", "key_file", "audit", "outcomes"):
        if kwargs.get(name) is not None:
            kwargs[name] = Path(kwargs[name])
    if isinstance(kwargs.get("end"), list):
        kwargs["end"] = tuple(kwargs["end"])
    try:
        return ServiceOptions(**kwargs)
    except TypeError as exc:
        raise OptionError(f"{where}: {exc}") from None
