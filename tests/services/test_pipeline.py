"""Four agent services and a judge on loopback learn what the in-process Router learns."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from conftest import Net, demo_options, wait_for
from handoffq.router import END, Router
from handoffq.services import demo
from handoffq.services.client import TaskClient

BUDGET = 150  # training tasks, for both
SETTINGS = {"epsilon": 0.2, "cost_weight": 0.05, "gamma": 0.99}


def _router_routes(seed: int) -> dict[str, list[str]]:
    router = Router(seed=seed, epsilon=SETTINGS["epsilon"], cost_weight=SETTINGS["cost_weight"],
                    gamma=SETTINGS["gamma"], diagnostics=False)
    for name, succ in demo.SUCCESSORS.items():
        router.add_agent(name, observe=demo.kind_view, successors=succ)
    for i in range(BUDGET):
        task = router.start_task()
        art, agent = demo.new_task(i), "triage"
        while agent != END:
            res = getattr(demo, agent)(art)
            art = res.artifact
            agent = task.next(agent, art, cost=res.cost, duration=res.duration)
        task.finish(demo.judge(art))
    routes = {}
    for kind in demo.KINDS:
        task = router.start_task(mode="frozen")
        art, agent = {"kind": kind, "trace": []}, "triage"
        while agent != END:
            res = getattr(demo, agent)(art)
            art = res.artifact
            agent = task.next(agent, art, cost=res.cost, duration=res.duration)
        task.finish(demo.judge(art))
        routes[kind] = art["trace"]
    return routes


def test_services_learn_the_routers_routing_in_the_same_budget(local: Any, tmp_path: Path, node_factory: Any) -> None:
    forward = "http"  # A2A forwarding is tested in test_a2a_bridge.py (same path, slower)
    seed = 2
    expected = {k: demo.best_route(k) for k in demo.KINDS}
    assert _router_routes(seed) == expected
    net = Net(["judge", *demo.AGENTS])
    outcomes = tmp_path / "outcomes.jsonl"
    local.start(demo_options(net, tmp_path, "judge", outcomes=outcomes), net.socks["judge"], keys=net.ring("judge"))
    for name in demo.AGENTS:
        # the router mixes its seed with each agent's name, as build_node does (agent_seed)
        opts = demo_options(net, tmp_path, name, forward=forward, seed=seed, epsilon=SETTINGS["epsilon"],
                            cost_weight=SETTINGS["cost_weight"], gamma=SETTINGS["gamma"])
        local.start(opts, net.socks[name], keys=net.ring(name), node_factory=node_factory)
    judge = local.running["judge"].service

    async def submit(ids: range, mode: str) -> None:
        async with httpx.AsyncClient() as http:
            client = TaskClient(net.ring("client"), http, forward=forward)
            for start in range(ids.start, ids.stop, 4):  # waves of 4 tasks in flight
                wave = range(start, min(start + 4, ids.stop))
                kinds = [demo.new_task(i) if mode == "train" else {"kind": demo.KINDS[i % 3], "trace": []}
                         for i in wave]
                await asyncio.gather(*(client.submit("triage", net.url["triage"], f"{mode}{i}", a, mode)
                                       for i, a in zip(wave, kinds, strict=False)))
                target = (start - ids.start) + len(wave) + (BUDGET if mode == "frozen" else 0)
                while judge.counters["tasks_finished"] < target:
                    await asyncio.sleep(0.005)

    local.call(submit(range(BUDGET), "train"), timeout=120)
    services = [local.running[n].service for n in demo.AGENTS]
    wait_for(lambda: all(not s.pending and not s.outbox for s in services), what="quiescence")
    updates = sum(s.counters["updates"] for s in services)
    assert updates == sum(s.counters["decisions"] for s in services) >= 2 * BUDGET
    local.call(submit(range(3), "frozen"))
    finished = [json.loads(line) for line in outcomes.read_text().splitlines()]
    learned = {r["artifact"]["kind"]: r["artifact"]["trace"] for r in finished if r["mode"] == "frozen"}
    assert learned == expected
    # frozen tasks changed no learner
    assert sum(s.counters["updates"] for s in services) == updates
