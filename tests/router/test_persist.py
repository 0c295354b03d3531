"""Saving and loading routers: one atomic file per agent, shape metadata, clear errors, no pickle."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from handoffq import END, Router
from handoffq.router import MLP, RouterError
from handoffq.router.demo import build_router, run_doc, views
from handoffq.router.persist import MANIFEST, agent_file


def _trained(n: int = 300, **kw: object) -> Router:
    r = build_router(seed=0, diagnostics=False, **kw)
    for s in range(n):
        t = r.start_task()
        t.finish(run_doc(s, t.next))
    return r


def _tables(r: Router) -> dict[str, np.ndarray]:
    return {n: node.state_dict()["agent"]["q"]["table"] for n, node in r.agents.items()}


def test_save_load_round_trip_one_file_per_agent(tmp_path):
    r = _trained()
    paths = r.save(tmp_path)
    assert sorted(p.name for p in paths) == sorted(agent_file(n) for n in r.agents)
    assert json.loads((tmp_path / MANIFEST).read_text())["router"]["gamma"] == r.gamma
    back = Router.load(tmp_path, observe=views())
    assert all(np.array_equal(_tables(r)[n], t) for n, t in _tables(back).items())
    # the loaded router carries on exactly where the saved one was (generators included)
    for router in (r, back):
        for s in range(1000, 1050):
            t = router.start_task()
            t.finish(run_doc(s, t.next))
    assert all(np.array_equal(_tables(r)[n], t) for n, t in _tables(back).items())


def test_files_hold_no_pickle(tmp_path):
    _trained(50).save(tmp_path)
    for name in os.listdir(tmp_path):
        if name.endswith(".npz"):
            with np.load(tmp_path / name, allow_pickle=False) as z:
                assert all(z[k].dtype != object for k in z.files)


def test_mlp_router_round_trip(tmp_path):
    r = Router(seed=0, diagnostics=False)
    r.add_agent("a", observe=lambda x: [x, 1 - x], successors=["b", END], learner=MLP(width=8))
    r.add_agent("b", observe=lambda x: [x], successors=[END], learner=MLP(width=8))
    for i in range(30):
        t = r.start_task()
        if t.next("a", i / 30) == "b":
            t.next("b", i / 30)
        t.finish(float(i % 2))
    r.save(tmp_path)
    back = Router.load(tmp_path, observe={"a": lambda x: [x, 1 - x], "b": lambda x: [x]})
    assert back.explain("a", 0.3).q == r.explain("a", 0.3).q


def test_a_crash_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    r = _trained(100)
    r.save(tmp_path)
    before = (tmp_path / agent_file("classifier")).read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        _trained(120).save(tmp_path)
    assert (tmp_path / agent_file("classifier")).read_bytes() == before
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_autosave_loses_no_finished_update(tmp_path):
    r = build_router(seed=0, diagnostics=False, autosave=tmp_path)
    for s in range(40):
        t = r.start_task()
        t.finish(run_doc(s, t.next))
    crashed = Router.load(tmp_path, observe=views())  # as if the process died here
    assert all(np.array_equal(_tables(r)[n], t) for n, t in _tables(crashed).items())


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda d: (d / MANIFEST).unlink(), "router.json is missing"),
        (lambda d: (d / MANIFEST).write_text("{"), "not valid JSON"),
        (lambda d: (d / MANIFEST).write_text('{"format": 7}'), "router format 7"),
        (lambda d: (d / agent_file("checker")).unlink(), "agent 'checker': its file .* is missing"),
        (lambda d: (d / agent_file("checker")).write_bytes(b"junk"), "unreadable"),
        (lambda d: os.replace(d / agent_file("finisher"), d / agent_file("checker")), "holds agent 'finisher'"),
        (lambda d: np.savez(d / agent_file("checker"), x=np.zeros(2)), "not a handoffq router file"),
    ],
)
def test_damaged_directories_give_one_line_errors_before_anything_is_built(tmp_path, damage, match):
    _trained(30).save(tmp_path)
    damage(tmp_path)
    with pytest.raises(RouterError, match=match):
        Router.load(tmp_path)


def test_other_load_errors(tmp_path):
    with pytest.raises(RouterError, match="not a directory"):
        Router.load(tmp_path / "nothing")
    r = _trained(20)
    r.save(tmp_path)
    with pytest.raises(RouterError, match=r"observe names agents that are not in .*\['ghost'\]"):
        Router.load(tmp_path, observe={"ghost": len})
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RouterError, match="not a directory"):
        r.save(tmp_path / "afile")
    back = Router.load(tmp_path, mode="serve", epsilon=0.5)
    assert back.mode == "serve" and back.agents["classifier"].exploration.epsilon == 0.5
    assert END in back.agents["finisher"].successors


def test_autosave_keeps_updates_learned_in_abandoned_tasks(tmp_path):
    r = Router(seed=0, diagnostics=False, autosave=tmp_path)
    r.add_agent("a", observe=lambda x: 0, successors=["b", END])
    r.add_agent("b", observe=lambda x: 0, successors=[END])
    t = r.start_task()
    t.next("a", 0, chosen=END)
    t.finish(0.0)
    for _ in range(5):  # a learns from b's report, then the task is dropped before b's decision is judged
        t = r.start_task()
        t.next("a", 0, chosen="b")
        t.next("b", 0, cost=0.5)
        t.abandon()
    crashed = Router.load(tmp_path, observe={"a": lambda x: 0, "b": lambda x: 0})
    assert crashed.explain("a", 0).visits == r.explain("a", 0).visits == {"b": 5, END: 1}
    assert crashed.explain("a", 0).q == r.explain("a", 0).q
