"""The forward handoff spoken as A2A (``a2a-sdk`` 1.x, JSON-RPC binding, protocol 1.0).

Mapping between A2A and handoffq (the learning channel is *not* A2A; see below):

============================  ================================================================
A2A                           handoffq
============================  ================================================================
``SendMessage`` request       one forward handoff (one delivery attempt)
``Message.contextId``         the task id (one task = one A2A context, across all agents)
``Message.messageId``         fresh per attempt; the *handoff id* inside the envelope is what
                              makes a retried handoff idempotent
``Message.parts[0]``          the signed envelope: ``text`` = its canonical JSON bytes,
                              ``mediaType`` = ``application/vnd.handoffq.handoff+json``; its
                              ``artifact`` field is the workflow's own payload, verbatim
``Message.metadata``          ``{"handoffq-signature": hex}`` (HMAC of the envelope bytes)
answer ``Message``            the acknowledgement ``{"status", "reason"?, "http"}``
                              (A2A's "immediate response" pattern)
A2A ``Task`` / ``Artifact``   not used: the work's output goes *forward* to the successor,
                              not back to the caller; there is nothing to poll or stream
``AgentCard``                 served at ``/.well-known/agent-card.json``: the agent's name,
                              its ``/a2a`` JSON-RPC interface and one ``handoff`` skill
============================  ================================================================

Why the artifact is a text part and not a ``DataPart``: a protobuf ``Struct`` (what A2A's
``data`` becomes in a2a-sdk 1.x) stores every number as a double, so ``1`` arrives as ``1.0``
and ``2**60`` as ``1.152921504606847e18``: the workflow's payload would not arrive as sent,
and the signature could not be checked on the bytes that were signed.

Why replies do not use A2A: the learning channel must carry ``(v, tau, R)`` plus ids and
nothing else. An A2A ``Message`` admits any number of parts, metadata and extensions, and
each ``SendMessage`` goes through the SDK's task machinery (measured about 2 ms per call on
loopback against 0.5 ms for a plain POST); replies are a fixed-schema JSON POST to
``/v1/reply`` where any other field is rejected.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from handoffq.services.service import AgentService

__all__ = ["HANDOFF_MEDIA_TYPE", "SIGNATURE_KEY", "A2AForwarder", "a2a_routes", "agent_card"]

HANDOFF_MEDIA_TYPE = "application/vnd.handoffq.handoff+json"
SIGNATURE_KEY = "handoffq-signature"
A2A_PATH = "/a2a"


def agent_card(name: str, base_url: str, description: str = "") -> Any:
    """The service's A2A agent card (JSON-RPC interface at ``base_url + /a2a``)."""
    from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill

    return AgentCard(
        name=name,
        description=description or f"handoffq agent {name}: takes a handoff, works, routes to its successor",
        version="1",
        supported_interfaces=[
            AgentInterface(protocol_binding="JSONRPC", url=base_url.rstrip("/") + A2A_PATH, protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=False),
        default_input_modes=[HANDOFF_MEDIA_TYPE],
        default_output_modes=["application/json"],
        skills=[AgentSkill(id="handoff", name="handoff", description="accept a signed handoffq handoff",
                           tags=["handoffq"])],
    )


def _envelope(message: Any) -> tuple[bytes | None, str | None]:
    """The envelope bytes and signature of an incoming A2A message (None if it has none)."""
    parts = [p for p in message.parts if p.media_type == HANDOFF_MEDIA_TYPE]
    if len(parts) != 1 or len(message.parts) != 1 or not parts[0].HasField("text"):
        return None, None
    sig = message.metadata.fields.get(SIGNATURE_KEY) if message.HasField("metadata") else None
    return parts[0].text.encode(), (sig.string_value if sig is not None else None)


def a2a_routes(service: AgentService) -> list[Any]:
    """Starlette routes: the A2A JSON-RPC endpoint (forward handoffs) and the agent card."""
    from a2a.server.agent_execution import AgentExecutor
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks.inmemory_task_store import InMemoryTaskStore
    from a2a.types import Message, Part, Role
    from a2a.utils.errors import UnsupportedOperationError

    class HandoffExecutor(AgentExecutor):
        """Hands the A2A message's envelope to the service and answers its acknowledgement."""

        async def execute(self, context: Any, event_queue: Any) -> None:
            body, sig = _envelope(context.message)
            if body is None:
                status, ack = service._reject(
                    "handoff", None, "schema", f"A2A message must have exactly one {HANDOFF_MEDIA_TYPE} text part"
                )
            else:
                status, ack = await service.receive_handoff(body, sig)
            text = json.dumps({**ack, "http": status})
            await event_queue.enqueue_event(
                Message(message_id=uuid.uuid4().hex, role=Role.ROLE_AGENT, context_id=context.context_id,
                        task_id=context.task_id, parts=[Part(text=text, media_type="application/json")])
            )

        async def cancel(self, context: Any, event_queue: Any) -> None:
            raise UnsupportedOperationError()

    card = agent_card(service.name, service.settings.url)
    handler = DefaultRequestHandler(HandoffExecutor(), InMemoryTaskStore(), card)
    return list(create_jsonrpc_routes(handler, A2A_PATH)) + list(create_agent_card_routes(card))


class A2AForwarder:
    """Sends signed envelopes as A2A ``SendMessage`` calls (one client per peer address)."""

    def __init__(self, http: httpx.AsyncClient, timeout_s: float) -> None:
        self.http = http
        self.timeout_s = timeout_s
        self._clients: dict[str, Any] = {}

    def _client(self, base_url: str) -> Any:
        client = self._clients.get(base_url)
        if client is None:
            from a2a.client import ClientConfig, ClientFactory

            card = agent_card("peer", base_url)
            client = ClientFactory(ClientConfig(streaming=False, httpx_client=self.http)).create(card)
            self._clients[base_url] = client
        return client

    async def send(self, base_url: str, task: str, hid: str, body: bytes, sig: str) -> tuple[int, dict[str, Any]]:
        """One attempt: ``(http-like status, acknowledgement)``; transport errors are status 599."""
        from a2a.client import A2AClientError, ClientCallContext
        from a2a.types import Message, Part, Role, SendMessageRequest

        msg = Message(message_id=uuid.uuid4().hex, context_id=task, role=Role.ROLE_USER,
                      parts=[Part(text=body.decode(), media_type=HANDOFF_MEDIA_TYPE)],
                      metadata={SIGNATURE_KEY: sig})
        last: Any = None
        try:
            async for event in self._client(base_url).send_message(
                SendMessageRequest(message=msg), context=ClientCallContext(timeout=self.timeout_s)
            ):
                last = event
        except A2AClientError as exc:
            cause = exc.__cause__
            if isinstance(cause, httpx.HTTPStatusError):
                return cause.response.status_code, _json(cause.response.text)
            return 599, {"reason": f"{type(exc).__name__}: {exc}"}
        if last is None or not last.HasField("message") or not last.message.parts:
            return 599, {"reason": "A2A answer without a message"}
        ack = _json(last.message.parts[0].text)
        return int(ack.pop("http", 200)), ack


def _json(text: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}
