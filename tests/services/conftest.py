"""Shared helpers of the service tests: keys per pair, loopback sockets, a demo pipeline."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

sys.path.insert(0, str(Path(__file__).parent))

from handoffq.services import demo
from handoffq.services.config import END_LABEL, ServiceOptions
from handoffq.services.local import LocalServices, bound_socket
from handoffq.services.security import KeyRing, new_key


class Net:
    """Names, loopback sockets, URLs and one key per pair of a set of services (+ the client)."""

    def __init__(self, names: list[str]) -> None:
        self.names = list(names)
        self.socks = {n: bound_socket() for n in names}
        self.url = {n: f"http://127.0.0.1:{s.getsockname()[1]}" for n, s in self.socks.items()}
        everyone = sorted([*names, "client", "intruder"])
        self.keys = {frozenset((a, b)): bytes.fromhex(new_key()) for a in everyone for b in everyone if a < b}

    def key(self, a: str, b: str) -> bytes:
        return self.keys[frozenset((a, b))]

    def ring(self, me: str) -> KeyRing:
        return KeyRing({next(iter(p - {me})): k for p, k in self.keys.items() if me in p and p != {me, "intruder"}})

    def fresh_socket(self, name: str) -> Any:
        """A new socket on the same port (to restart a service there)."""
        return bound_socket(port=int(self.url[name].rsplit(":", 1)[1]))


def demo_options(net: Net, tmp: Path, name: str, **kw: Any) -> ServiceOptions:
    """Options of one service of the demo pipeline (``judge`` or one of ``demo.AGENTS``); ``kw`` overrides."""
    if name == "judge":
        base: dict[str, Any] = dict(role="judge", judge="handoffq.services.demo:judge",
                                    accept_from=list(demo.AGENTS), work_threads=0,
                                    peers={a: net.url[a] for a in demo.AGENTS if a in net.url})
        return ServiceOptions("judge", tmp / "ckpt", **{**base, **kw})
    succ = demo.SUCCESSORS[name]
    preds = [a for a, s in demo.SUCCESSORS.items() if name in s] + (["client"] if name == "triage" else [])
    replies_to = {p: net.url[p] for p in preds if p in net.url}  # predecessors it replies to
    base = dict(work=f"handoffq.services.demo:{name}", observe="handoffq.services.demo:kind_view",
                successors=succ, peers={**replies_to, **{s: net.url[s] for s in succ if s != END_LABEL}},
                end=("judge", net.url["judge"]), accept_from=preds, work_threads=0, cost_weight=0.05)
    return ServiceOptions(name, tmp / "ckpt", **{**base, **kw})


def wait_for(cond: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll ``cond`` until it holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def local() -> Iterator[LocalServices]:
    with LocalServices() as ls:
        yield ls


@pytest.fixture
def node_factory() -> Callable[[ServiceOptions], Any]:
    """Builds each agent's AgentNode from its options (what serve-agent does)."""
    from handoffq.services.config import build_node

    return build_node


class FakePeer:
    """A peer that accepts every handoff and keeps its envelope (bytes and parsed)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def app(self) -> Any:
        import json

        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def handoff(request: Any) -> JSONResponse:
            self.received.append(json.loads(await request.body()))
            return JSONResponse({"status": "accepted"}, status_code=202)

        async def reply(request: Any) -> JSONResponse:
            self.received.append(json.loads(await request.body()))
            return JSONResponse({"status": "applied"})

        return Starlette(routes=[Route("/v1/handoff", handoff, methods=["POST"]),
                                 Route("/v1/reply", reply, methods=["POST"])])
