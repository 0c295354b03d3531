"""Benchmark: agents as services on loopback against the in-process Router.

Starts the demo pipeline of :mod:`handoffq.services.demo` (four agent services and a judge,
each its own process, from one compose file) and measures:

* **per-handoff overhead** (p50, p99 ms): tasks sent one at a time; a task's end-to-end time
  (signed submission to the judge's verdict) minus what the same handoffs cost the in-process
  :class:`~handoffq.router.Router`, divided by the task's handoffs (entry, one per agent chosen,
  the judge), for each forward transport (plain HTTP, the default, and A2A);
* **throughput**: ``--tasks`` (>= 1000) tasks submitted at once over ``--connections``
  connections, during which one service (``math``) is killed with SIGKILL and restarted by the
  launcher;
* **concurrency**: the same number of tasks in a pipeline of its own whose agents work as
  model calls do - they wait before their step (asynchronously, holding no thread): the entry
  agent ``--entry-latency`` seconds, the others ``--work-latency`` - so that many tasks are in
  flight at once. ``concurrent_tasks`` is **measured**: the largest number of tasks in flight
  at one moment (accepted by the entry agent, not yet judged).

After both runs ``lost_updates`` (decisions that never learned from a reply) and
``duplicate_updates`` (replies applied twice: counted by the services and, independently, in
their audit logs) must both be 0, and every task must have ended exactly once.

In the latency runs the judge tells the benchmark that a task ended with a UDP datagram (no
polling); the runs of many tasks read the judge's outcomes log instead (a busy receiver may
drop datagrams).

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
OUTCOMES = "judge.outcomes.jsonl"


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


def compose_file(directory: Path, forward: str, slow: bool = False) -> Path:
    """The demo pipeline as a compose file (free loopback ports, audit logs on; ``slow``: the
    agents' works wait ``$HANDOFFQ_DEMO_LATENCY`` seconds, and each takes 2048 handoffs at once)."""
    ports = _free_ports(len(demo.AGENTS) + 1)
    lines = [
        "[pipeline]", 'host = "127.0.0.1"', f'checkpoint_dir = "{directory / "ckpt"}"', 'entry = "triage"',
        f'forward = "{forward}"', "",
        "[defaults]", "cost_weight = 0.05", "epsilon = 0.2", "work_threads = 0", "retry_max = 0.25",
        "inbox_size = 4096", "outbox_size = 8192", f"concurrency = {2048 if slow else 256}", "",
        "[judge]", 'name = "judge"', f"port = {ports[0]}", 'judge = "handoffq.services.demo:notifying_judge"',
        f'audit = "{directory / "judge.audit.jsonl"}"', f'outcomes = "{directory / OUTCOMES}"', "",
    ]
    for port, name in zip(ports[1:], demo.AGENTS, strict=False):
        succ = ", ".join(f'"{s}"' for s in demo.SUCCESSORS[name])
        work = f"{name}_slow" if slow else name
        lines += [f"[agents.{name}]", f"port = {port}", f'work = "handoffq.services.demo:{work}"',
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


def _judged(pipeline: Pipeline) -> int:
    """Tasks the judge has finished (its counter)."""
    return int(pipeline.stats()["judge"].get("counters", {}).get("tasks_finished", 0))


def peak_in_flight(accepted: list[float], finished: list[float]) -> int:
    """The largest number of tasks accepted and not yet finished at one moment (a finish at
    the same instant as an acceptance is counted first)."""
    events = sorted([(t, 1) for t in accepted] + [(t, -1) for t in finished])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    return peak


def _outcomes(directory: Path, ids: set[str]) -> list[dict[str, Any]]:
    """The judge's records of the tasks ``ids`` (its outcomes log: one line per verdict)."""
    path = directory / OUTCOMES
    lines = path.read_text().splitlines() if path.exists() else []
    return [r for r in map(json.loads, lines) if r["task"] in ids]


async def _wait_judged(pipeline: Pipeline, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(_judged, pipeline) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the judge did not finish {n} tasks within {timeout:g} s")
        await asyncio.sleep(0.25)


async def concurrent_phase(pipeline: Pipeline, n: int, directory: Path, kill: bool, connections: int,
                           prefix: str) -> dict[str, Any]:
    """``n`` tasks submitted at once (ids ``prefix0``, ...); SIGKILL one service mid-run if
    ``kill``; the peak number in flight, and what was lost or doubled.

    Finishes are read from the judge's outcomes log (not from its UDP notes, which a busy
    receiver may drop), so the counts and the peak are exact.
    """
    http, client = await _submitter(pipeline, "http", connections)
    ids = [f"{prefix}{i}" for i in range(n)]
    accepted: list[float] = []

    async def one(i: int, tid: str) -> None:
        await client.submit(pipeline.entry, pipeline.url(pipeline.entry), tid, {**demo.new_task(i), "id": tid})
        accepted.append(time.time())

    killer = None
    if kill:
        async def kill_later() -> None:
            await _wait_judged(pipeline, n // 4, 600.0)
            await asyncio.to_thread(pipeline.kill, KILLED)

        killer = asyncio.create_task(kill_later())
    t0 = time.time()
    await asyncio.gather(*(one(i, tid) for i, tid in enumerate(ids)))
    await http.aclose()
    await _wait_judged(pipeline, n, 600.0)
    if killer is not None:
        await killer
    stats = await _wait_quiet(pipeline, 120.0)
    records = _outcomes(directory, set(ids))
    seen = Counter(r["task"] for r in records)
    elapsed = max(r["t"] for r in records) - t0
    counters = [stats[a]["counters"] for a in demo.AGENTS]
    decisions = sum(c.get("decisions", 0) for c in counters)
    updates = sum(c.get("updates", 0) for c in counters)
    audited, audit_dups = _audit_duplicates(directory)
    repeat = sum(c.get("repeat_updates", 0) for c in counters)
    handoffs = sum(len(r["artifact"]["trace"]) + 1 for r in records)
    return {
        "concurrent_tasks": peak_in_flight(accepted, [r["t"] for r in records]),
        "tasks_submitted": n,
        "submit_connections": connections,
        "tasks_finished": len(seen),
        "tasks_finished_twice": sum(1 for c in seen.values() if c > 1),
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


async def _run_at_once(sub: Path, env: dict[str, str], args: argparse.Namespace, slow: bool) -> dict[str, Any]:
    """A fresh pipeline and ``--tasks`` tasks submitted at once (the fast one is SIGKILLed mid-run)."""
    sub.mkdir()
    pipeline = Pipeline(compose_file(sub, "http", slow=slow), env=env, log_level="warning")
    await asyncio.to_thread(pipeline.start, 120)
    try:
        return await concurrent_phase(pipeline, args.tasks, sub, kill=not slow and not args.no_kill,
                                      connections=args.connections, prefix="s" if slow else "f")
    finally:
        await asyncio.to_thread(pipeline.stop)


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
        finally:
            await asyncio.to_thread(pipeline.stop)
    out["throughput_run"] = await _run_at_once(directory / "throughput", env, args, slow=False)
    slow_env = {**env, demo.LATENCY_ENV: str(args.work_latency), demo.ENTRY_LATENCY_ENV: str(args.entry_latency)}
    out["concurrency_run"] = await _run_at_once(directory / "concurrency", slow_env, args, slow=True)
    transport.close()
    fast, slow = out["throughput_run"], out["concurrency_run"]
    out.update({
        "concurrent_tasks": slow["concurrent_tasks"],
        "work_latency_s": args.work_latency,
        "entry_latency_s": args.entry_latency,
        "tasks_finished": fast["tasks_finished"] + slow["tasks_finished"],
        "tasks_submitted": fast["tasks_submitted"] + slow["tasks_submitted"],
        "tasks_finished_twice": fast["tasks_finished_twice"] + slow["tasks_finished_twice"],
        "lost_updates": fast["lost_updates"] + slow["lost_updates"],
        "duplicate_updates": fast["duplicate_updates"] + slow["duplicate_updates"],
        "tasks_per_s": fast["tasks_per_s"],
        "handoffs_per_s": fast["handoffs_per_s"],
        "killed": fast["killed"],
        "restarts": fast["restarts"],
    })
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
    ap.add_argument("--entry-latency", type=float, default=20.0,
                    help="seconds the entry agent's work waits in the concurrency run, as a model call (default 20)")
    ap.add_argument("--work-latency", type=float, default=1.0,
                    help="seconds the other agents' work waits in the concurrency run (default 1)")
    ap.add_argument("--connections", type=int, default=256, help="connections submitting the concurrent run's tasks")
    args = ap.parse_args()
    args.tasks = args.tasks or (1000 if args.quick else 5000)
    args.latency_tasks = args.latency_tasks or (100 if args.quick else 500)
    if args.tasks < 1:
        ap.error("--tasks must be >= 1")
    if min(args.work_latency, args.entry_latency) < 0 or args.connections < 1:
        ap.error("--entry-latency and --work-latency must be >= 0, --connections >= 1")
    with tempfile.TemporaryDirectory(prefix="handoffq-bench-services-") as tmp:
        result = asyncio.run(run(args, Path(tmp)))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    keys = ("p50_overhead_ms", "p99_overhead_ms", "concurrent_tasks", "tasks_submitted", "tasks_finished",
            "lost_updates", "duplicate_updates", "tasks_per_s", "handoffs_per_s")
    for k in keys:
        v = result[k]
        print(f"{k:20s} {v:.3f}" if isinstance(v, float) else f"{k:20s} {v}")
    print(f"{'a2a p50/p99 ms':20s} {result['a2a']['p50_overhead_ms']:.3f} / {result['a2a']['p99_overhead_ms']:.3f}")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
