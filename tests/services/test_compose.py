"""A whole pipeline from one compose file, as real processes: kill -9 one and it goes on."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import wait_for
from handoffq.services import demo
from handoffq.services.compose import CLIENT, Pipeline, load_pipeline
from handoffq.services.config import END_LABEL, OptionError
from handoffq.services.local import bound_socket


def _compose_file(tmp: Path, successors: dict[str, list[str]] | None = None, **pipeline: Any) -> Path:
    successors = successors or demo.SUCCESSORS
    socks = [bound_socket() for _ in range(len(successors) + 1)]
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    extra = "".join(f'{k} = {v!r}\n'.replace("'", '"') for k, v in pipeline.items())
    lines = [
        "[pipeline]", 'host = "127.0.0.1"', 'checkpoint_dir = "ckpt"', 'entry = "triage"', 'forward = "http"',
        "a2a = false", extra,
        "[defaults]", "cost_weight = 0.05", "epsilon = 0.2", "work_threads = 0", "retry_max = 0.2",
        "checkpoint_every = 50",
        "[judge]", 'name = "judge"', f"port = {ports[0]}", 'judge = "handoffq.services.demo:judge"',
    ]
    for port, (name, names) in zip(ports[1:], successors.items(), strict=False):
        succ = ", ".join('"END"' if s == END_LABEL else f'"{s}"' for s in names)
        lines += [f"[agents.{name}]", f"port = {port}", f'work = "handoffq.services.demo:{name}"',
                  'observe = "handoffq.services.demo:kind_view"', f"successors = [{succ}]",
                  f'audit = "{name}.audit.jsonl"']
    path = tmp / "pipeline.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_compose_file_links_peers_keys_and_predecessors(tmp_path: Path) -> None:
    opts, pipe = load_pipeline(_compose_file(tmp_path))
    assert set(opts) == {"judge", *demo.AGENTS} and pipe["entry"] == "triage"
    triage, review, judge = opts["triage"], opts["review"], opts["judge"]
    assert set(triage.peers) == {"math", "code", "review"} and triage.end == ("judge", judge.base_url)
    assert triage.accept_from == [CLIENT] and review.accept_from == ["code", "math", "triage"]
    assert judge.role == "judge" and judge.accept_from == ["code", "math", "review"]
    assert review.successors == [END_LABEL, "math"] and review.checkpoint_dir == tmp_path / "ckpt"
    # replies go to addresses from this file: every predecessor is a peer (the client never asks for one)
    assert set(review.peers) == {"code", "math", "triage"} and review.peers["triage"] == triage.base_url
    assert set(judge.peers) == {"code", "math", "review"}
    pipeline = Pipeline(tmp_path / "pipeline.toml", restart=False)
    ring = pipeline.ring("triage")
    assert ring.peers() == sorted([CLIENT, "code", "judge", "math", "review"])
    assert ring.key("math") == pipeline.ring("math").key("triage") != ring.key("review")
    # each child holds only the keys of the peers it talks to, not every pair's
    assert pipeline.ring("judge").peers() == ["code", "math", "review"]
    assert pipeline.ring(CLIENT).peers() == ["triage"]
    assert pipeline.ring("code").peers() == ["judge", "review", "triage"]


@pytest.mark.parametrize(("text", "match"), [
    ("[pipeline]\n[judge]\nport=1\njudge='m:f'\n", "at least one"),
    ("[agents.a]\nport=1\nwork='m:f'\nsuccessors=['b']\n[judge]\nport=2\njudge='m:f'\n", "unknown successor"),
    ("[agents.a]\nwork='m:f'\nsuccessors=['END']\n[judge]\nport=2\njudge='m:f'\n", "needs a port"),
    ("[agents.a]\nport=1\nwork='m:f'\nsuccessors=['END']\nbogus=1\n[judge]\nport=2\njudge='m:f'\n", "bogus"),
    ("[agents]\n[[x]]\n", "unknown table"),
    ("[agents.a\n", "compose file"),
])
def test_bad_compose_files_fail_with_one_line(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(OptionError, match=match):
        load_pipeline(path)


def test_kill_9_of_a_service_mid_run_loses_nothing(tmp_path: Path) -> None:
    # three processes (entry, one specialist, judge): each child's start-up costs a loaded 2-core CI seconds
    path = _compose_file(tmp_path, {"triage": ["math", END_LABEL], "math": [END_LABEL, "triage"]})
    env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    n = 60
    with Pipeline(path, env=env, log_level="warning") as pipeline:
        result: dict[str, int] = {}

        def submit() -> None:
            tasks = [(f"k{i}", demo.new_task(i)) for i in range(n)]
            result["accepted"] = asyncio.run(pipeline.submit_many(tasks, concurrency=8))

        feeder = threading.Thread(target=submit)
        feeder.start()
        wait_for(lambda: pipeline.stats()["judge"].get("counters", {}).get("tasks_finished", 0) >= 10, timeout=60,
                 what="the first tasks")
        pipeline.kill("triage")  # SIGKILL, mid-run: the supervisor restarts it from its checkpoint
        feeder.join(timeout=90)
        assert result.get("accepted") == n

        def done() -> bool:
            s = pipeline.stats()
            finished = s["judge"].get("counters", {}).get("tasks_finished", 0) == n
            return finished and all(v.get("ready") and v["pending"] == v["inbox"] == v["outbox"] == 0
                                    for v in s.values())

        wait_for(done, timeout=90, what="every task and quiescence")
        stats = pipeline.stats()
        assert pipeline.restarts["triage"] == 1
    agents = [stats[a]["counters"] for a in ("triage", "math")]
    decisions = sum(c.get("decisions", 0) for c in agents)
    updates = sum(c.get("updates", 0) for c in agents)
    assert decisions == updates >= n  # no update lost
    assert sum(c.get("repeat_updates", 0) for c in agents) == 0  # none applied twice, by the services' count
    applied = Counter((r["to"], r["handoff"]) for a in ("triage", "math")
                      for r in map(json.loads, (tmp_path / f"{a}.audit.jsonl").read_text().splitlines())
                      if r["event"] == "applied")
    assert max(applied.values()) == 1 and 0 < sum(applied.values()) <= updates  # ... and by the audit logs
    assert stats["judge"]["counters"]["tasks_finished"] == n and stats["judge"]["counters"]["accepted"] == n
    assert (tmp_path / "ckpt" / "triage.ckpt").exists()


def test_a_service_that_cannot_start_fails_the_launch_at_once(tmp_path: Path) -> None:
    path = _compose_file(tmp_path, {"triage": [END_LABEL]})
    path.write_text(path.read_text().replace("handoffq.services.demo:triage", "no_such_module:triage"))
    env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    pipeline = Pipeline(path, env=env, log_level="warning")
    with pytest.raises(RuntimeError, match="'triage' exited with status 2"):
        pipeline.start(timeout=60)
    assert all(p.poll() is not None for p in pipeline.procs.values())


def test_a_service_that_keeps_failing_is_restarted_with_backoff_then_given_up(tmp_path: Path, capfd: Any) -> None:
    path = _compose_file(tmp_path, {"triage": [END_LABEL]})
    env = {"PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    pipeline = Pipeline(path, env=env, log_level="warning", restart_backoff=0.05, max_restarts=2)
    pipeline.start(timeout=60)
    try:
        (tmp_path / "ckpt").mkdir(exist_ok=True)
        (tmp_path / "ckpt" / "triage.ckpt").write_bytes(b"not a snapshot")  # every restart now fails
        pipeline.kill("triage")
        wait_for(lambda: "triage" in pipeline.gave_up, timeout=60, what="the launcher to give up")
        assert pipeline.restarts["triage"] == 2 and pipeline.restarts["judge"] == 0
        reason = pipeline.gave_up["triage"]
        assert "exited 3 times in a row" in reason and "cannot read snapshot" in reason and "\n" not in reason
        assert pipeline.procs["judge"].poll() is None  # the others keep running
    finally:
        pipeline.stop()
    err = capfd.readouterr().err
    assert "restarting in 0.05 s" in err and "restarting in 0.1 s" in err  # the delay doubles
