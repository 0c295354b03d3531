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


@pytest.mark.parametrize("policy", [RetryPolicy(base_s=0.001, max_s=0.002, max_attempts=5),
                                    RetryPolicy(base_s=0.001, max_s=0.002, give_up_s=0.05)])
def test_a_message_to_a_dead_peer_is_given_up_counted_and_logged(policy, caplog):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    sender = Sender("a", KeyRing({"b": bytes.fromhex(new_key())}), httpx.AsyncClient(transport=httpx.MockTransport(
        handler)), retry=policy)
    assert asyncio.run(asyncio.wait_for(sender.deliver(MSG), 10)) is False
    assert sender.gave_up == 1 and "gave up reply reply:t#1 to b" in caplog.text
    if policy.max_attempts:
        assert sender.attempts == 5


def test_an_old_message_is_given_up_by_its_creation_time_across_restarts():
    import dataclasses
    import time

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"status": "rejected", "reason": "busy"})

    sender = Sender("a", KeyRing({"b": bytes.fromhex(new_key())}), httpx.AsyncClient(transport=httpx.MockTransport(
        handler)), retry=RetryPolicy(give_up_s=60.0))
    old = dataclasses.replace(MSG, created=time.time() - 61.0)  # owed since before a restart
    assert asyncio.run(sender.deliver(old)) is False and sender.attempts == 1
    assert OutMessage.from_record(old.to_record()) == old


def test_a_failing_peer_gets_only_its_probe_slots():
    in_flight = {"b": 0, "c": 0}
    peak = {"b": 0, "c": 0}
    b_answered: set[str] = set()  # b's handoffs whose first attempt has been answered

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        peer = body["to"]
        in_flight[peer] += 1
        peak[peer] = max(peak[peer], in_flight[peer])
        await asyncio.sleep(0.01)
        in_flight[peer] -= 1
        if peer == "b":
            b_answered.add(body["handoff"])
            return httpx.Response(503, json={"status": "rejected", "reason": "busy"})
        return httpx.Response(200, json={"status": "applied"})

    async def run() -> Sender:
        keys = KeyRing({"b": bytes.fromhex(new_key()), "c": bytes.fromhex(new_key())})
        sender = Sender("a", keys, httpx.AsyncClient(transport=httpx.MockTransport(handler)), max_in_flight=8,
                        retry=RetryPolicy(base_s=0.001, max_s=0.002, max_attempts=6), failing_probes=2)
        to_b = [OutMessage(f"reply:t#{i}", "reply", "b", "http://b", {**MSG.fields, "handoff": f"t#{i}"})
                for i in range(20)]
        dead = asyncio.gather(*(sender.deliver(m) for m in to_b))
        while len(b_answered) < len(to_b):  # b has failed: its retries go through 2 probe slots
            await asyncio.sleep(0.005)
        peak["b"] = 0
        ok = await asyncio.gather(*(sender.deliver(OutMessage(f"reply:u#{i}", "reply", "c", "http://c",
                                                              {**MSG.fields, "handoff": f"u#{i}"}))
                                    for i in range(8)))
        assert all(ok) and sender.failing_peers() == ["b"]
        await dead
        return sender

    sender = asyncio.run(asyncio.wait_for(run(), 60))
    assert peak["b"] <= 2 and peak["c"] >= 4 and sender.gave_up == 20
