"""The forward handoff as A2A: a pipeline over A2A SendMessage, the agent card, the mapping."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Net, demo_options, wait_for

pytest.importorskip("a2a")

from handoffq.services import demo
from handoffq.services.a2a_bridge import HANDOFF_MEDIA_TYPE, SIGNATURE_KEY, _envelope
from handoffq.services.client import TaskClient


def test_a_pipeline_over_a2a_learns_every_decision_once(local: Any, tmp_path: Path, node_factory: Any) -> None:
    net = Net(["judge", *demo.AGENTS])
    outcomes = tmp_path / "outcomes.jsonl"
    local.start(demo_options(net, tmp_path, "judge", outcomes=outcomes), net.socks["judge"], keys=net.ring("judge"))
    for name in demo.AGENTS:
        local.start(demo_options(net, tmp_path, name, forward="a2a"), net.socks[name], keys=net.ring(name),
                    node_factory=node_factory)
    n = 15

    async def submit() -> list[bool]:
        async with httpx.AsyncClient() as http:
            client = TaskClient(net.ring("client"), http, forward="a2a")
            return await asyncio.gather(*(client.submit("triage", net.url["triage"], f"a{i}",
                                                        {**demo.new_task(i), "big": 2**60}) for i in range(n)))

    assert all(local.call(submit()))
    judge = local.running["judge"].service
    services = [local.running[s].service for s in demo.AGENTS]
    wait_for(lambda: judge.counters["tasks_finished"] == n and all(not s.pending and not s.outbox for s in services),
             what="every task over A2A")
    assert sum(s.counters["decisions"] for s in services) == sum(s.counters["updates"] for s in services)
    assert sum(s.sender.attempts for s in services) >= 2 * n
    # the artifact arrived verbatim (an A2A DataPart would have made 2**60 a float)
    finals = [json.loads(line)["artifact"] for line in outcomes.read_text().splitlines()]
    assert len(finals) == n and all(a["big"] == 2**60 and isinstance(a["big"], int) for a in finals)
    card = httpx.get(net.url["triage"] + "/.well-known/agent-card.json").json()
    assert card["name"] == "triage" and card["supportedInterfaces"][0]["url"].endswith("/a2a")
    assert card["skills"][0]["id"] == "handoff"


def test_an_a2a_message_without_one_signed_envelope_is_rejected(local: Any, tmp_path: Path,
                                                               node_factory: Any) -> None:
    net = Net(["judge", *demo.AGENTS])
    service = local.start(demo_options(net, tmp_path, "math"), net.socks["math"], keys=net.ring("math"),
                          node_factory=node_factory)
    body = {"jsonrpc": "2.0", "id": "1", "method": "SendMessage",
            "params": {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hello"}]}}}
    r = httpx.post(net.url["math"] + "/a2a", json=body, headers={"A2A-Version": "1.0"})
    ack = json.loads(r.json()["result"]["message"]["parts"][0]["text"])
    assert ack == {"status": "rejected", "reason": "schema", "http": 400}
    assert service.rejected["schema"] == 1 and service.counters["accepted"] == 0


def test_envelope_extraction_needs_exactly_one_typed_part() -> None:
    from a2a.types import Message, Part, Role

    ok = Message(message_id="m", role=Role.ROLE_USER, parts=[Part(text="{}", media_type=HANDOFF_MEDIA_TYPE)],
                 metadata={SIGNATURE_KEY: "ab"})
    assert _envelope(ok) == (b"{}", "ab")
    two = Message(message_id="m", role=Role.ROLE_USER, parts=[Part(text="{}", media_type=HANDOFF_MEDIA_TYPE),
                                                             Part(text="x")])
    assert _envelope(two) == (None, None)
    unsigned = Message(message_id="m", role=Role.ROLE_USER, parts=[Part(text="{}", media_type=HANDOFF_MEDIA_TYPE)])
    assert _envelope(unsigned) == (b"{}", None)
