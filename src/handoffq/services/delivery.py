"""At-least-once delivery of signed envelopes, with retries, backoff and back-pressure.

An :class:`OutMessage` is what a service owes a peer: a forward handoff or a reply, without
its ``ts`` and ``nonce``. Every attempt signs it afresh (new nonce, current time), so a retry
passes the receiver's replay checks while its handoff id keeps it idempotent. An attempt ends
in one of three ways (:class:`Outcome`): acknowledged (delivered, or already delivered), a
permanent rejection (the receiver will never accept it: logged and dropped), or a transient
failure (connection refused, timeout, 5xx, the receiver's queue full: retried after an
exponential backoff with jitter). Retries are bounded: a message is given up (counted in
``gave_up`` and logged) once it is older than ``RetryPolicy.give_up_s`` or has had
``max_attempts`` attempts. A peer that keeps failing gets at most ``failing_probes`` attempts
in flight at once, so that a dead peer cannot take every delivery slot from the live ones.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx

from handoffq.services.protocol import encode
from handoffq.services.security import KeyRing, new_nonce, sign

__all__ = ["FAILING_AFTER", "SIGNATURE_HEADER", "TRANSIENT_REASONS", "OutMessage", "Outcome", "RetryPolicy", "Sender"]

log = logging.getLogger("handoffq.services.delivery")

SIGNATURE_HEADER = "X-Handoffq-Signature"
TRANSIENT_REASONS = frozenset({"busy", "stale", "future", "replay", "starting"})
"""Rejections worth retrying: the queue was full, or a re-signed attempt will pass."""
FAILING_AFTER = 3
"""Consecutive transient failures after which a peer is treated as failing (probe slots only)."""


class Outcome(Enum):
    """How one delivery attempt ended."""

    ACKED = "acked"
    PERMANENT = "permanent"
    TRANSIENT = "transient"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``min(max_s, base_s * 2**attempt) * U(0.5, 1)``; a
    message is given up once it is ``give_up_s`` old or after ``max_attempts`` attempts (0: no
    attempt limit)."""

    base_s: float = 0.02
    max_s: float = 1.0
    timeout_s: float = 10.0
    give_up_s: float = 300.0
    max_attempts: int = 0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        return min(self.max_s, self.base_s * 2.0 ** min(attempt, 30)) * rng.uniform(0.5, 1.0)

    def exhausted(self, attempts: int, age_s: float) -> bool:
        """Whether a message that had ``attempts`` attempts and is ``age_s`` old is given up."""
        return age_s >= self.give_up_s or (self.max_attempts > 0 and attempts >= self.max_attempts)


@dataclass(frozen=True, slots=True)
class OutMessage:
    """An envelope owed to a peer (``kind`` ``"handoff"`` or ``"reply"``), unsigned; ``created``
    (wall-clock seconds) dates it for the retry limit, across restarts."""

    mid: str
    kind: str
    recipient: str
    url: str
    fields: dict[str, Any]
    created: float = 0.0

    def to_record(self) -> dict[str, Any]:
        """JSON form for the journal."""
        return {"mid": self.mid, "kind": self.kind, "to": self.recipient, "url": self.url, "fields": self.fields,
                "created": self.created}

    @classmethod
    def from_record(cls, rec: dict[str, Any]) -> OutMessage:
        """Inverse of :meth:`to_record`."""
        return cls(rec["mid"], rec["kind"], rec["to"], rec["url"], dict(rec["fields"]), float(rec.get("created", 0.0)))

    def signed(self, sender: str, key: bytes) -> tuple[bytes, str]:
        """Canonical body with a fresh nonce and timestamp, and its signature."""
        env = {**self.fields, "kind": self.kind, "from": sender, "to": self.recipient}
        env["ts"] = time.time()
        env["nonce"] = new_nonce()
        body = encode(env)
        return body, sign(key, body)


def classify(status: int, payload: dict[str, Any]) -> Outcome:
    """Outcome of an HTTP answer ``status`` with JSON ``payload`` (``{"status", "reason"}``)."""
    if 200 <= status < 300 and payload.get("status") in ("accepted", "applied", "duplicate", "done"):
        return Outcome.ACKED
    if payload.get("reason") in TRANSIENT_REASONS or status in (429, 502, 503, 504) or status >= 500:
        return Outcome.TRANSIENT
    return Outcome.PERMANENT


class Sender:
    """Delivers :class:`OutMessage` s for service ``name`` (plain HTTP or A2A for handoffs).

    Args:
        name: the sending service (the ``from`` of every envelope).
        keys: its key ring (one key per peer).
        http: the shared HTTP client.
        forward: ``"http"`` (POST /v1/handoff) or ``"a2a"`` (A2A ``SendMessage``) for handoffs;
            replies always go to POST /v1/reply.
        retry: backoff policy.
        seed: seeds the jitter.
        max_in_flight: attempts under way at once; the others wait their turn here rather than
            in the HTTP client's connection pool, whose bookkeeping grows with the square of
            the requests queued in it (1000 queued requests cost minutes of CPU).
        failing_probes: attempts under way at once to a peer whose last ``FAILING_AFTER``
            attempts all failed (the rest of its messages wait without holding a slot).
    """

    def __init__(
        self,
        name: str,
        keys: KeyRing,
        http: httpx.AsyncClient,
        forward: str = "http",
        retry: RetryPolicy | None = None,
        seed: int = 0,
        max_in_flight: int = 64,
        failing_probes: int = 2,
    ) -> None:
        if forward not in ("http", "a2a"):
            raise ValueError(f"forward transport must be 'http' or 'a2a', got {forward!r}")
        self.name = name
        self.keys = keys
        self.http = http
        self.forward = forward
        self.retry = retry or RetryPolicy()
        self.rng = random.Random(seed)
        self.attempts = 0
        self.retries = 0
        self.gave_up = 0
        self.failing_probes = max(1, int(failing_probes))
        self._a2a: Any = None
        self._slots = asyncio.Semaphore(max_in_flight)
        self._failures: dict[str, int] = {}  # consecutive transient failures per peer
        self._probes: dict[str, asyncio.Semaphore] = {}

    async def attempt(self, msg: OutMessage) -> tuple[Outcome, str]:
        """One signed attempt; ``(outcome, detail)``."""
        self.attempts += 1
        body, sig = msg.signed(self.name, self.keys.key(msg.recipient))
        try:
            if msg.kind == "handoff" and self.forward == "a2a":
                return await self._a2a_attempt(msg, body, sig)
            path = "/v1/handoff" if msg.kind == "handoff" else "/v1/reply"
            resp = await self.http.post(
                msg.url.rstrip("/") + path,
                content=body,
                headers={SIGNATURE_HEADER: sig, "Content-Type": "application/json"},
                timeout=self.retry.timeout_s,
            )
        except httpx.HTTPError as exc:
            return Outcome.TRANSIENT, f"{type(exc).__name__}: {exc}"
        try:
            payload = resp.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        return classify(resp.status_code, payload), f"HTTP {resp.status_code} {payload.get('reason', '')}".strip()

    async def _a2a_attempt(self, msg: OutMessage, body: bytes, sig: str) -> tuple[Outcome, str]:
        if self._a2a is None:
            from handoffq.services.a2a_bridge import A2AForwarder

            self._a2a = A2AForwarder(self.http, self.retry.timeout_s)
        status, payload = await self._a2a.send(msg.url, msg.fields["task"], msg.fields["handoff"], body, sig)
        return classify(status, payload), f"A2A {status} {payload.get('reason', '')}".strip()

    async def deliver(self, msg: OutMessage) -> bool:
        """Attempt until acknowledged (True), permanently rejected or given up (False); cancel to stop."""
        attempt = 0
        created = msg.created or time.time()
        while True:
            outcome, detail = await self._attempt_in_turn(msg)
            if outcome is Outcome.ACKED:
                return True
            if outcome is Outcome.PERMANENT:
                log.error("%s: %s %s to %s rejected for good: %s", self.name, msg.kind, msg.mid, msg.recipient, detail)
                return False
            attempt += 1
            if self.retry.exhausted(attempt, time.time() - created):
                self.gave_up += 1
                log.error("%s: gave up %s %s to %s after %d attempts in %.1f s (last: %s)", self.name, msg.kind,
                          msg.mid, msg.recipient, attempt, time.time() - created, detail)
                return False
            self.retries += 1
            log.debug("%s: %s %s to %s: %s (retrying)", self.name, msg.kind, msg.mid, msg.recipient, detail)
            await asyncio.sleep(self.retry.delay(attempt - 1, self.rng))

    async def _attempt_in_turn(self, msg: OutMessage) -> tuple[Outcome, str]:
        """One attempt in a delivery slot (a failing peer's messages first wait for one of its
        few probe slots, holding no delivery slot meanwhile)."""
        peer = msg.recipient
        if self._failures.get(peer, 0) >= FAILING_AFTER:
            probe = self._probes.setdefault(peer, asyncio.Semaphore(self.failing_probes))
            async with probe, self._slots:
                outcome, detail = await self.attempt(msg)
        else:
            async with self._slots:
                outcome, detail = await self.attempt(msg)
        self._failures[peer] = self._failures.get(peer, 0) + 1 if outcome is Outcome.TRANSIENT else 0
        return outcome, detail

    def failing_peers(self) -> list[str]:
        """Peers whose last attempts all failed (delivered to through probe slots only)."""
        return sorted(p for p, n in self._failures.items() if n >= FAILING_AFTER)
