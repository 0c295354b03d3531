"""Benchmark: agents as services on loopback against the in-process Router.

Starts the demo pipeline of :mod:`handoffq.services.demo` (four agent services and a judge,
each its own process, from one compose file) and measures:

* **per-handoff overhead** (p50, p99 ms): tasks sent one at a time; a task's end-to-end time
  (signed submission to the judge's verdict) minus what the same handoffs cost the in-process
  :class:`~handoffq.router.Router`, divided by the task's handoffs (entry, one per agent chosen,
  the judge), for each forward transport (plain HTTP, the default, and A2A);
* **throughput** and a run of ``--tasks`` (>= 1000) tasks submitted **concurrently**, during
  which one service (``math``) is killed with SIGKILL and restarted by the launcher; afterwards
  ``lost_updates`` (decisions that never learned from a reply) and ``duplicate_updates``
  (replies applied twice: counted by the services and, independently, in their audit logs)
  must both be 0, and every task must have ended exactly once.

The judge tells the benchmark that a task ended with a UDP datagram (no polling).

Usage: ``python bench/bench_services.py --json PATH [--quick]`` (loopback only).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from handoffq.router import END, Router
from handoffq.services import demo
from handoffq.services.client import TaskClient
from handoffq.services.compose import CLIENT, Pipeline

KILLED = "math"


def _free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def compose_file(directory: Path, forward: str) -> Path:
    """The demo pipeline as a compose file (free loopback ports, audit logs on)."""
    ports = _free_ports(len(demo.AGENTS) + 1)
    lines = [
        "[pipeline]", 'host = "127.0.0.1"', f'checkpoint_dir = "{directory / "ckpt"}"', 'entry = "triage"',
        f'forward = "{forward}"', "",
        "[defaults]", "cost_weight = 0.05", "epsilon = 0.2", "work_threads = 0", "retry_max = 0.25",
        "inbox_size = 2048", "outbox_size = 8192", "concurrency = 256", "",
        "[judge]", 'name = "judge"', f"port = {ports[0]}", 'judge = "handoffq.services.demo:notifying_judge"',
        f'audit = "{directory / "judge.audit.jsonl"}"', "",
    ]
    for port, name in zip(ports[1:], demo.AGENTS, strict=False):
        succ = ", ".join(f'"{s}"' for s in demo.SUCCESSORS[name])
        lines += [f"[agents.{name}]", f"port = {port}", f'work = "handoffq.services.demo:{name}"',
                  'observe = "handoffq.services.demo:kind_view"', f"successors = [{succ}]",
                  f'audit = "{directory / (name + ".audit.jsonl")}"', ""]
    path = directory / "pipeline.toml"
    path.write_text("\n".join(lines))
    return path


class Verdicts(asyncio.DatagramProtocol):
    """Collects the judge's UDP datagrams ``id:handoffs``."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[int]] = {}
        self.seen: Counter[str] = Counter()
        self.times: list[float] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        """One task ended."""
        tid, _, hops = data.decode().partition(":")
        self.seen[tid] += 1
        self.times.append(time.perf_counter())
        fut = self.waiting.pop(tid, None)
        if fut is not None and not fut.done():
            fut.set_result(int(hops or 0))


def inprocess_seconds_per_handoff(n: int) -> float:
    """What a handoff costs the in-process Router running the same agents and work."""
    router = Router(seed=0, epsilon=0.2, cost_weight=0.05, diagnostics=False)
    for name, succ in demo.SUCCESSORS.items():
        router.add_agent(name, observe=demo.kind_view, successors=succ)
    handoffs = 0
    t0 = time.perf_counter()
    for i in range(n):
        task = router.start_task()
        art, agent = demo.new_task(i), "triage"
        while agent != END:
            res = getattr(demo, agent)(art)
            art = res.artifact
            agent = task.next(agent, art, cost=res.cost, duration=res.duration)
            handoffs += 1
        task.finish(demo.judge(art))
        handoffs += 1  # the judge's verdict: a network handoff in the pipeline
    return (time.perf_counter() - t0) / handoffs


async def _submitter(pipeline: Pipeline, forward: str, connections: int) -> tuple[httpx.AsyncClient, TaskClient]:
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections))
    return http, TaskClient(pipeline.ring(CLIENT), http, forward=forward, max_in_flight=connections)


async def latency_phase(pipeline: Pipeline, verdicts: Verdicts, n: int, forward: str, per_handoff_s: float,
                        warmup: int = 20) -> dict[str, float]:
    """Tasks one at a time: per-handoff overhead against the in-process cost."""
    http, client = await _submitter(pipeline, forward, 4)
    loop = asyncio.get_running_loop()
    over, totals = [], []
    try:
        for i in range(warmup + n):
            tid = f"{forward}-lat{i}"
            fut: asyncio.Future[int] = loop.create_future()
            verdicts.waiting[tid] = fut
            t0 = time.perf_counter()
            await client.submit(pipeline.entry, pipeline.url(pipeline.entry), tid, {**demo.new_task(i), "id": tid})
            hops = await asyncio.wait_for(fut, 30)
            dt = time.perf_counter() - t0
            if i >= warmup:
                handoffs = hops + 1
                totals.append(dt * 1e3)
                over.append((dt - handoffs * per_handoff_s) / handoffs * 1e3)
    finally:
        await http.aclose()
    over.sort()
    return {
        "p50_overhead_ms": statistics.median(over),
        "p99_overhead_ms": over[min(len(over) - 1, round(0.99 * (len(over) - 1)))],
        "mean_overhead_ms": statistics.fmean(over),
        "p50_task_ms": statistics.median(totals),
        "tasks": n,
    }


def _audit_duplicates(directory: Path) -> tuple[int, int]:
    """``(applied replies, applied more than once)`` from every service's audit log."""
    applied: Counter[tuple[str, str]] = Counter()
    for path in directory.glob("*.audit.jsonl"):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec["event"] == "applied":
                applied[(rec["to"], rec["handoff"])] += 1
    return sum(applied.values()), sum(c - 1 for c in applied.values() if c > 1)


def _quiet(pipeline: Pipeline) -> dict[str, Any] | None:
    stats = pipeline.stats()
    ok = all(v.get("ready") and v["pending"] == v["inbox"] == v["outbox"] == 0 for v in stats.values())
    return stats if ok else None


async def _wait_quiet(pipeline: Pipeline, timeout: float) -> dict[str, Any]:
    """Every service's stats once nothing is pending, queued or owed anywhere."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = await asyncio.to_thread(_quiet, pipeline)
        if stats is not None:
            return stats
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the pipeline did not become quiet within {timeout:g} s")


async def concurrent_phase(pipeline: Pipeline, verdicts: Verdicts, n: int, directory: Path,
                           kill: bool) -> dict[str, Any]:
    """``n`` tasks submitted at once; SIGKILL one service mid-run; count what was lost or doubled."""
    http, client = await _submitter(pipeline, "http", 64)
    loop = asyncio.get_running_loop()
    ids = [f"c{i}" for i in range(n)]
    futs = {}
    count = {"accepted": 0, "finished": 0, "peak": 0}

    def finished(_: asyncio.Future[int]) -> None:
        count["finished"] += 1

    for tid in ids:
        futs[tid] = loop.create_future()
        futs[tid].add_done_callback(finished)
        verdicts.waiting[tid] = futs[tid]

    async def one(i: int, tid: str) -> None:
        await client.submit(pipeline.entry, pipeline.url(pipeline.entry), tid, {**demo.new_task(i), "id": tid})
        count["accepted"] += 1
        count["peak"] = max(count["peak"], count["accepted"] - count["finished"])

    killer = None
    if kill:
        async def kill_later() -> None:
            while count["finished"] < n // 4:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(pipeline.kill, KILLED)

        killer = asyncio.create_task(kill_later())
    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, tid) for i, tid in enumerate(ids)))
    hops = await asyncio.wait_for(asyncio.gather(*futs.values()), 600)
    elapsed = time.perf_counter() - t0
    await http.aclose()
    if killer is not None:
        await killer
    stats = await _wait_quiet(pipeline, 120.0)
    counters = [stats[a]["counters"] for a in demo.AGENTS]
    decisions = sum(c.get("decisions", 0) for c in counters)
    updates = sum(c.get("updates", 0) for c in counters)
    audited, audit_dups = _audit_duplicates(directory)
    repeat = sum(c.get("repeat_updates", 0) for c in counters)
    handoffs = sum(h + 1 for h in hops)
    return {
        "concurrent_tasks": n,
        "peak_tasks_in_flight": count["peak"],
        "tasks_finished": sum(1 for t in ids if verdicts.seen[t] >= 1),
        "tasks_finished_twice": sum(1 for t in ids if verdicts.seen[t] > 1),
        "decisions": decisions,
        "updates": updates,
        "lost_updates": decisions - updates,
        "duplicate_updates": max(repeat, audit_dups),
        "audited_updates": audited,
        "abandoned": sum(c.get("abandoned", 0) for c in counters),
        "killed": KILLED if kill else None,
        "restarts": dict(pipeline.restarts),
        "seconds": elapsed,
        "tasks_per_s": n / elapsed,
        "handoffs_per_s": handoffs / elapsed,
        "delivery_retries": sum(v.get("retries", 0) for v in stats.values()),
    }


async def run(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """Every phase; returns the JSON summary."""
    loop = asyncio.get_running_loop()
    transport, verdicts = await loop.create_datagram_endpoint(Verdicts, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    env = {demo.NOTIFY_ENV: f"127.0.0.1:{port}", "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    per_handoff = inprocess_seconds_per_handoff(2000 if args.quick else 10_000)
    out: dict[str, Any] = {"quick": args.quick, "inprocess_handoff_us": per_handoff * 1e6}
    for forward in ("http", "a2a"):
        sub = directory / forward
        sub.mkdir()
        pipeline = Pipeline(compose_file(sub, forward), env=env, log_level="warning")
        await asyncio.to_thread(pipeline.start, 120)
        try:
            out[forward] = await latency_phase(pipeline, verdicts, args.latency_tasks, forward, per_handoff)
            if forward == "http":
                out.update(await concurrent_phase(pipeline, verdicts, args.tasks, sub, kill=not args.no_kill))
        finally:
            await asyncio.to_thread(pipeline.stop)
    transport.close()
    out["forward_default"] = "http"
    out["p50_overhead_ms"] = out["http"]["p50_overhead_ms"]
    out["p99_overhead_ms"] = out["http"]["p99_overhead_ms"]
    return out


def main() -> None:
    """Parse options, run, print and write the summary."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, required=True, help="where to write the summary (JSON)")
    ap.add_argument("--quick", action="store_true", help="CI-sized run (1000 concurrent tasks, 100 timed)")
    ap.add_argument("--tasks", type=int, default=None, help="concurrent tasks (default 1000; 5000 without --quick)")
    ap.add_argument("--latency-tasks", type=int, default=None, help="tasks timed one at a time per transport")
    ap.add_argument("--no-kill", action="store_true", help="do not SIGKILL a service during the concurrent run")
    args = ap.parse_args()
    args.tasks = args.tasks or (1000 if args.quick else 5000)
    args.latency_tasks = args.latency_tasks or (100 if args.quick else 500)
    if args.tasks < 1:
        ap.error("--tasks must be >= 1")
    with tempfile.TemporaryDirectory(prefix="handoffq-bench-services-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    keys = ("p50_overhead_ms", "p99_overhead_ms", "concurrent_tasks", "tasks_finished", "lost_updates",
            "duplicate_updates", "tasks_per_s", "handoffs_per_s")
    for k in keys:
        v = result[k]
        print(f"{k:20s} {v:.3f}" if isinstance(v, float) else f"{k:20s} {v}")
    print(f"{'a2a p50/p99 ms':20s} {result['a2a']['p50_overhead_ms']:.3f} / {result['a2a']['p99_overhead_ms']:.3f}")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
