"""At-least-once sending: retried while transient, dropped when permanently refused, re-signed each time."""

from __future__ import annotations

import asyncio
import json
import random

import httpx
import pytest

from handoffq.services.delivery import SIGNATURE_HEADER, Outcome, OutMessage, RetryPolicy, Sender, classify
from handoffq.services.security import KeyRing, new_key, verify


@pytest.mark.parametrize(("status", "payload", "outcome"), [
    (202, {"status": "accepted"}, Outcome.ACKED),
    (200, {"status": "duplicate"}, Outcome.ACKED),
    (200, {"status": "applied"}, Outcome.ACKED),
    (503, {"status": "rejected", "reason": "busy"}, Outcome.TRANSIENT),
    (401, {"status": "rejected", "reason": "stale"}, Outcome.TRANSIENT),
    (500, {}, Outcome.TRANSIENT),
    (401, {"status": "rejected", "reason": "bad_signature"}, Outcome.PERMANENT),
    (409, {"status": "rejected", "reason": "unknown_handoff"}, Outcome.PERMANENT),
    (413, {"status": "rejected", "reason": "oversize"}, Outcome.PERMANENT),
    (200, {"status": "something else"}, Outcome.PERMANENT),
])
def test_classify(status, payload, outcome):
    assert classify(status, payload) is outcome


def test_backoff_doubles_with_jitter_up_to_the_cap():
    p, rng = RetryPolicy(base_s=0.1, max_s=1.0), random.Random(0)
    delays = [p.delay(a, rng) for a in range(8)]
    assert all(0.05 <= d <= 1.0 for d in delays) and delays[-1] >= 0.5 and delays[0] <= 0.1


def _sender(handler, key: bytes) -> Sender:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Sender("a", KeyRing({"b": key}), http, retry=RetryPolicy(base_s=0.001, max_s=0.002))


MSG = OutMessage("reply:t#1", "reply", "b", "http://peer", {"task": "t", "handoff": "t#1", "v": 1.0, "tau": 1,
                                                              "R": 0.0})


def test_retries_until_acknowledged_with_a_fresh_signature_each_time():
    key = bytes.fromhex(new_key())
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        verify(key, request.content, request.headers[SIGNATURE_HEADER])
        seen.append(json.loads(request.content))
        if len(seen) == 1:
            raise httpx.ConnectError("refused")
        if len(seen) < 4:
            return httpx.Response(503, json={"status": "rejected", "reason": "busy"})
        return httpx.Response(200, json={"status": "applied"})

    sender = _sender(handler, key)
    assert asyncio.run(sender.deliver(MSG)) is True
    assert sender.attempts == 4 and sender.retries == 3
    assert len({e["nonce"] for e in seen}) == 4  # re-signed: a retry is not a replay
    assert {e["handoff"] for e in seen} == {"t#1"}  # ... and keeps its handoff id: it is idempotent
    assert set(seen[0]) == {"kind", "from", "to", "task", "handoff", "ts", "nonce", "v", "tau", "R"}


def test_a_permanent_refusal_is_logged_and_dropped(caplog):
    key = bytes.fromhex(new_key())
    sender = _sender(lambda r: httpx.Response(401, json={"status": "rejected", "reason": "bad_signature"}), key)
    assert asyncio.run(sender.deliver(MSG)) is False
    assert sender.attempts == 1 and "rejected for good" in caplog.text and key.hex() not in caplog.text
