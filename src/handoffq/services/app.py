"""The HTTP face of a service (Starlette, served by uvicorn).

Routes:

* ``POST /v1/handoff`` - a forward handoff (plain HTTP/JSON; body = the signed envelope,
  signature in the ``X-Handoffq-Signature`` header);
* ``POST /a2a`` and ``GET /.well-known/agent-card.json`` - the same forward handoff as A2A
  (:mod:`handoffq.services.a2a_bridge`), when ``a2a-sdk`` is installed;
* ``POST /v1/reply`` - the learning channel: ``(v, tau, R)`` plus ids, nothing else;
* ``GET /v1/health`` and ``GET /v1/stats`` - readiness, counters and queue sizes.

A body larger than its route's limit is refused with 413 before anything reads it (counted
and logged as ``oversize``), so an oversize message costs the service no more than its limit.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from handoffq.services.delivery import SIGNATURE_HEADER
from handoffq.services.service import AgentService

__all__ = ["BodyLimit", "build_app"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: read at most ``limit(path)`` body bytes, else answer 413 ``oversize``."""

    def __init__(self, app: Any, limit: Callable[[str], int], on_oversize: Callable[[str, int], None]) -> None:
        self.app = app
        self.limit = limit
        self.on_oversize = on_oversize

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its whole body, or refuse it."""
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, int(declared), limit)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away mid-body: nothing to answer, nothing to act on
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, size, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send, size: int, limit: int) -> None:
        self.on_oversize(scope["path"], size)
        payload = json.dumps({"status": "rejected", "reason": "oversize"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


def build_app(service: AgentService, a2a: bool = True, on_shutdown: Callable[[], Awaitable[None]] | None = None) -> Any:
    """The ASGI app of ``service`` (its lifespan starts and stops the service)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def handoff(request: Request) -> JSONResponse:
        status, ack = await service.receive_handoff(await request.body(), request.headers.get(SIGNATURE_HEADER))
        return JSONResponse(ack, status_code=status, headers={"Retry-After": "1"} if status == 503 else None)

    async def reply(request: Request) -> JSONResponse:
        status, ack = await service.receive_reply(await request.body(), request.headers.get(SIGNATURE_HEADER))
        return JSONResponse(ack, status_code=status)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"name": service.name, "ready": service.ready}, status_code=200 if service.ready else 503)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(service.stats())

    routes: list[Any] = [
        Route("/v1/handoff", handoff, methods=["POST"]),
        Route("/v1/reply", reply, methods=["POST"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/stats", stats, methods=["GET"]),
    ]
    if a2a:
        from handoffq.services.a2a_bridge import a2a_routes

        routes += a2a_routes(service)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()
            if on_shutdown is not None:
                await on_shutdown()

    limit = _limits(service)

    def oversize(path: str, size: int) -> None:
        kind = "reply" if path == "/v1/reply" else "handoff"
        service._reject(kind, None, "oversize", f"{size} bytes to {path} exceed the limit of {limit(path)}")

    return BodyLimit(Starlette(routes=routes, lifespan=lifespan), limit, oversize)


def _limits(service: AgentService) -> Callable[[str], int]:
    """The body limit of each route (a reply is small; an A2A request wraps an escaped envelope)."""
    s = service.settings

    def limit(path: str) -> int:
        if path == "/v1/reply":
            return s.max_reply_bytes
        if path == "/a2a":
            return 2 * s.max_artifact_bytes + 4096
        return s.max_artifact_bytes

    return limit
