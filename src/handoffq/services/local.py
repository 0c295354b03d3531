"""Several services in one background event loop, each on its own loopback port (tests, benches).

:class:`LocalServices` runs uvicorn servers on sockets bound to ``127.0.0.1`` port 0 (the
port is known before the service is built, so peers can be given its address), in one event
loop on a daemon thread; :meth:`LocalServices.call` runs a coroutine there from synchronous
code. :meth:`LocalServices.crash` drops a service the way SIGKILL would (nothing flushed,
no snapshot; only what its journal already holds survives); a real SIGKILL of a real process
is what :mod:`handoffq.services.compose` tests.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from handoffq.services.config import ServiceOptions, build_node, build_service
from handoffq.services.hosting import HostedNode
from handoffq.services.security import KeyRing
from handoffq.services.service import AgentService

__all__ = ["LocalServices", "bound_socket"]

T = TypeVar("T")


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A TCP socket bound to ``port`` (default: a free one) of ``host``, not yet listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit this: without it a response's header and body writes meet
    # Nagle and delayed ACKs (about 40 ms per request on loopback)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


@dataclass
class _Running:
    service: AgentService
    server: Any
    task: asyncio.Task[Any]
    http: Any


class LocalServices:
    """Services in one background event loop; use as a context manager."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="handoffq-local-services", daemon=True)
        self._thread.start()
        self.running: dict[str, _Running] = {}

    def __enter__(self) -> LocalServices:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` in the services' loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(
        self,
        options: ServiceOptions,
        sock: socket.socket,
        keys: KeyRing | None = None,
        node_factory: Callable[[ServiceOptions], HostedNode] = build_node,
        a2a: bool = True,
    ) -> AgentService:
        """Build and serve ``options`` on ``sock`` (its port replaces ``options.port``); returns when ready."""
        options = dataclasses.replace(options, host=sock.getsockname()[0], port=sock.getsockname()[1])
        return self.call(self._start(options, sock, keys, node_factory, a2a))

    async def _start(self, options: ServiceOptions, sock: socket.socket, keys: KeyRing | None,
                     node_factory: Callable[[ServiceOptions], HostedNode], a2a: bool) -> AgentService:
        import httpx
        import uvicorn

        from handoffq.services.app import build_app

        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
        service = build_service(options, http, keys=keys, node_factory=node_factory)
        app = build_app(service, a2a=a2a)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise RuntimeError(f"service {options.name} did not start")
        self.running[options.name] = _Running(service, server, task, http)
        return service

    def serve_app(self, name: str, app: Any, sock: socket.socket) -> None:
        """Serve any ASGI ``app`` on ``sock`` under ``name`` (a fake peer in a test)."""
        self.call(self._serve_app(name, app, sock))

    async def _serve_app(self, name: str, app: Any, sock: socket.socket) -> None:
        import httpx
        import uvicorn

        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        self.running[name] = _Running(None, server, task, httpx.AsyncClient())  # type: ignore[arg-type]

    def stop(self, name: str) -> None:
        """Stop service ``name`` gracefully (it writes its snapshot)."""
        self.call(self._stop(name))

    async def _stop(self, name: str) -> None:
        run = self.running.pop(name)
        run.server.should_exit = True
        await run.task
        await run.http.aclose()

    def crash(self, name: str) -> None:
        """Drop service ``name`` as SIGKILL would: no snapshot, nothing more written."""
        self.call(self._crash(name))

    async def _crash(self, name: str) -> None:
        run = self.running.pop(name)
        run.service.abort()
        run.server.force_exit = True
        run.server.should_exit = True
        await run.task
        await run.http.aclose()

    @staticmethod
    async def _cancel_all() -> None:
        """Cancel what is left (a crashed server's lifespan, stray deliveries) before the loop closes."""
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def close(self) -> None:
        """Stop every service and the loop."""
        async def stop_all() -> None:  # together: each waits for its connections to close
            await asyncio.gather(*(self._stop(name) for name in list(self.running)), return_exceptions=True)

        self.call(stop_all(), timeout=30)
        self.call(self._cancel_all(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
