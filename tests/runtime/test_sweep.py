"""Resumable sweeps (:func:`handoffq.runtime.sweep.run_sweep`): in-process, process pool and
Ray. A sweep stopped half way and started again skips the finished cells and ends with the
same results as an uninterrupted sweep.

Every cell trains a small IC-Q team in-process and reports the exact value of its greedy
policy; each computation is logged (with the id of the sweep run that did it) so the tests
can see which cells were really computed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.learn.exploration import Exploration
from handoffq.learn.team import greedy_obs_policy, make_team
from handoffq.runtime.inprocess import InProcessRunner
from handoffq.runtime.sweep import cell_key, load_finished, run_sweep
from handoffq.theory.solve import (
    greedy_state_policy,
    obs_policy_to_states,
    policy_value,
    value_iteration,
)


class Stop(Exception):
    """Stands for a crash or Ctrl-C in the middle of a sweep."""


def train_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Train a team on the cell's instance; log the computation under ``cell["dir"]``."""
    cfg = SyntheticConfig.dense(n_agents=3, n_interface=4, gamma=0.8, rho=cell["rho"])  # the original family
    env = SyntheticICSMDP(cfg, seed=cell["seed"])
    team = make_team(env, seed=cell["seed"], exploration=Exploration(epsilon=0.3))
    stats = InProcessRunner(env, team, seed=cell["seed"]).train(cell["budget"])
    model = env.model()
    opt = policy_value(model, greedy_state_policy(model, value_iteration(model)))
    pol = greedy_obs_policy(team, model.n_obs, [env.inst.admissible[i] for i in range(3)])
    ratio = policy_value(model, obs_policy_to_states(model, pol)) / opt
    d = Path(cell["dir"])
    run_id = (d / "run_id").read_text().strip()
    with (d / "computed.log").open("a") as fh:
        fh.write(f"{run_id} {cell_key(cell)}\n")
    return {"ratio": float(ratio), "episodes": stats.episodes}


def _cells(d: Path, n_seeds: int = 3) -> list[dict[str, Any]]:
    return [
        {"rho": rho, "seed": s, "budget": 300, "dir": str(d)}
        for rho in (1.0, 0.5)
        for s in range(n_seeds)
    ]


def _computed(d: Path, run_id: str) -> list[str]:
    log = d / "computed.log"
    lines = log.read_text().splitlines() if log.exists() else []
    return [k for r, k in (line.split() for line in lines) if r == run_id]


def _stop_after(n: int) -> Any:
    seen = [0]

    def advance(k: int) -> None:
        seen[0] += k
        if seen[0] >= n:
            raise Stop

    return advance


def _interrupted_then_resumed(
    tmp_path: Path, workers: int, runtime: str
) -> tuple[list[dict[str, Any]], list[str], list[str], dict[str, Any]]:
    d = tmp_path / "cells"
    d.mkdir()
    cells = _cells(d)
    store = tmp_path / "sweep.jsonl"
    (d / "run_id").write_text("first")
    with pytest.raises(Stop):
        run_sweep(
            cells, train_cell, store, workers=workers, runtime=runtime, advance=_stop_after(3)
        )
    stored = load_finished(store)
    (d / "run_id").write_text("second")
    rows = run_sweep(cells, train_cell, store, workers=workers, runtime=runtime)
    return rows, _computed(d, "first"), _computed(d, "second"), stored


def _uninterrupted(tmp_path: Path) -> list[dict[str, Any]]:
    d = tmp_path / "cells"  # same cells (same directory), another store
    (d / "run_id").write_text("reference")
    return run_sweep(_cells(d), train_cell, tmp_path / "reference.jsonl")


def test_in_process_sweep_resumes_and_matches_uninterrupted(tmp_path: Path) -> None:
    rows, first, second, stored = _interrupted_then_resumed(tmp_path, 1, "inprocess")
    keys = [cell_key(c) for c in _cells(tmp_path / "cells")]
    assert len(stored) == 3 and first == keys[:3]
    assert second == keys[3:]  # only the unfinished cells ran again
    assert rows == _uninterrupted(tmp_path)
    assert [r["seed"] for r in rows] == [c["seed"] for c in _cells(tmp_path / "cells")]
    assert all(0.5 < r["ratio"] <= 1.0 + 1e-9 for r in rows)


def test_finished_sweep_computes_nothing_and_torn_lines_are_ignored(tmp_path: Path) -> None:
    d = tmp_path / "cells"
    d.mkdir()
    (d / "run_id").write_text("a")
    cells = _cells(d, n_seeds=1)
    store = tmp_path / "s.jsonl"
    rows = run_sweep(cells, train_cell, store)
    with store.open("a") as fh:
        fh.write('{"key": "torn')  # a write cut short by a crash
    (d / "run_id").write_text("b")
    ticks: list[int] = []
    again = run_sweep(cells, train_cell, store, advance=ticks.append)
    assert again == rows and _computed(d, "b") == [] and sum(ticks) == len(cells)
    assert [json.loads(x)["key"] for x in store.read_text().splitlines()[:-1]] == [
        cell_key(c) for c in cells
    ]


def test_process_pool_sweep_matches_serial(tmp_path: Path) -> None:
    d = tmp_path / "cells"
    d.mkdir()
    (d / "run_id").write_text("pool")
    cells = _cells(d, n_seeds=2)
    pooled = run_sweep(cells, train_cell, tmp_path / "pool.jsonl", workers=2)
    assert sorted(_computed(d, "pool")) == sorted(cell_key(c) for c in cells)
    (d / "run_id").write_text("serial")
    assert pooled == run_sweep(cells, train_cell, tmp_path / "serial.jsonl")


def test_ray_sweep_resumes_and_matches_uninterrupted(ray_local: Any, tmp_path: Path) -> None:
    # Ray workers cannot import this test module by name: ship its functions by value
    ray_local.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    rows, first, second, stored = _interrupted_then_resumed(tmp_path, 2, "ray")
    keys = [cell_key(c) for c in _cells(tmp_path / "cells")]
    assert len(stored) == 3 and set(stored) <= set(first)
    assert not set(stored) & set(second)  # finished cells were not recomputed
    assert set(second) | set(stored) == set(keys)
    assert len(second) == len(set(second))
    assert rows == _uninterrupted(tmp_path)
