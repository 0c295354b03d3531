"""Per-agent checkpoints: one file per agent, atomic, validated, and a resumed Ray run."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.learn.exploration import Exploration
from handoffq.learn.team import make_team
from handoffq.runtime.checkpoint import (
    CheckpointError,
    agent_checkpoint_path,
    load_agent,
    load_team,
    read_agent_state,
    save_agent,
    save_team,
)
from handoffq.runtime.inprocess import InProcessRunner

CFG = SyntheticConfig(n_agents=3, n_interface=3, gamma=0.8)


def _trained(estimator: str = "tabular", seed: int = 0, budget: int = 400) -> tuple[Any, list[Any]]:
    env = SyntheticICSMDP(CFG, seed=0)
    kwargs = {"width": 8, "depth": 1} if estimator == "mlp" else None
    team = make_team(
        env, seed=seed, estimator=estimator, estimator_kwargs=kwargs, exploration=Exploration()
    )
    InProcessRunner(env, team, seed=seed).train(budget)
    return env, team


def _q(agent: Any, n_obs: int) -> np.ndarray:
    obs = np.arange(n_obs)[:, None]
    return agent.q.values_batch(obs)


@pytest.mark.parametrize("estimator", ["tabular", "mlp"])
def test_team_round_trip_one_file_per_agent(tmp_path: Any, estimator: str) -> None:
    env, team = _trained(estimator)
    paths = save_team(team, tmp_path, meta={"handoffs": 400})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "agent_0.ckpt",
        "agent_1.ckpt",
        "agent_2.ckpt",
    ]
    assert paths == [agent_checkpoint_path(tmp_path, i) for i in range(3)]
    for i, path in enumerate(paths):  # each file holds exactly one agent's own state
        rec = read_agent_state(path)
        assert rec["agent_id"] == i and rec["meta"] == {"handoffs": 400}

    fresh = make_team(
        env,
        seed=99,
        estimator=estimator,
        estimator_kwargs={"width": 8, "depth": 1} if estimator == "mlp" else None,
    )
    n_obs = env.obs_nvec(0)[0]
    assert not np.allclose(_q(fresh[0], n_obs), _q(team[0], n_obs))
    assert load_team(fresh, tmp_path) == [True, True, True]
    for a, b in zip(team, fresh, strict=True):
        np.testing.assert_array_equal(_q(a, n_obs), _q(b, n_obs))
        assert (a.t, a.decisions) == (b.t, b.decisions)
        # the private generator is restored too: the next exploratory choice is the same
        assert a.rng.random() == b.rng.random()


def test_load_is_a_noop_without_a_file_and_rejects_other_agents(tmp_path: Any) -> None:
    _, team = _trained()
    assert load_agent(team[0], tmp_path / "missing.ckpt") is None
    path = save_agent(team[1], agent_checkpoint_path(tmp_path, 1))
    with pytest.raises(CheckpointError, match="agent 1's, not agent 0's"):
        load_agent(team[0], path)


def test_corrupt_and_foreign_files_are_named(tmp_path: Any) -> None:
    _, team = _trained()
    bad = tmp_path / "agent_0.ckpt"
    bad.write_bytes(b"\x80\x05not a pickle")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_agent(team[0], bad)
    bad.write_bytes(pickle.dumps({"some": "dict"}))
    with pytest.raises(CheckpointError, match="not a handoffq agent checkpoint"):
        load_agent(team[0], bad)


def test_save_replaces_atomically_and_leaves_no_temporaries(tmp_path: Any) -> None:
    _, team = _trained()
    path = agent_checkpoint_path(tmp_path, 0)
    save_agent(team[0], path, meta={"n": 1})
    save_agent(team[0], path, meta={"n": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["agent_0.ckpt"]
    assert read_agent_state(path)["meta"] == {"n": 2}

    class Exploding:
        agent_id = 0

        def state_dict(self) -> dict[str, Any]:
            return {"x": lambda: None}  # not picklable: the write fails half way

    with pytest.raises(Exception):  # noqa: B017 - any pickling error
        save_agent(Exploding(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["agent_0.ckpt"]
    assert read_agent_state(path)["meta"] == {"n": 2}  # the previous checkpoint survives


def test_in_process_training_resumes_from_checkpoints(tmp_path: Any) -> None:
    env, team = _trained(budget=300)
    save_team(team, tmp_path)
    resumed = make_team(env, seed=0, exploration=Exploration())
    load_team(resumed, tmp_path)  # a new process after a crash
    InProcessRunner(env, resumed, seed=1000).train(300)
    assert all(a.t > 0 for a in resumed)
    assert sum(a.t for a in resumed) == sum(a.t for a in team) + 300


def test_ray_run_resumes_from_per_agent_checkpoints(ray_local: Any, tmp_path: Any) -> None:
    from handoffq.runtime.ray import RayRunner

    env = SyntheticICSMDP(CFG, seed=0)
    team = make_team(env, seed=0, exploration=Exploration())
    with RayRunner(
        env, team, seed=0, checkpoint_dir=tmp_path, chunk=200, num_env_actors=1
    ) as runner:
        assert runner.resumed == [False] * 3
        runner.train(400)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "agent_0.ckpt",
        "agent_1.ckpt",
        "agent_2.ckpt",
    ]

    fresh = make_team(env, seed=0, exploration=Exploration())  # e.g. after the driver crashed
    with RayRunner(env, fresh, seed=0, checkpoint_dir=tmp_path, num_env_actors=1) as runner:
        assert runner.resumed == [True] * 3 and runner.resumed_handoffs == 400
        runner.sync_agents()
    n_obs = env.obs_nvec(0)[0]
    for a, b in zip(team, fresh, strict=True):
        np.testing.assert_array_equal(_q(a, n_obs), _q(b, n_obs))
        assert a.t == b.t


def test_load_team_checks_every_file_before_loading_any(tmp_path: Any) -> None:
    env, team = _trained()
    save_team(team, tmp_path)
    other = SyntheticICSMDP(SyntheticConfig(n_agents=3, n_interface=4, gamma=0.8), seed=0)
    wrong = make_team(other, seed=5)  # 4 observations per agent instead of 3
    before = [a.q.table.copy() for a in wrong]
    with pytest.raises(CheckpointError, match="obs_nvec is \\[3\\] in the file, \\[4\\] in the agent"):
        load_team(wrong, tmp_path)
    assert all(np.array_equal(a.q.table, b) for a, b in zip(wrong, before, strict=True))  # nothing loaded
    mlp = make_team(env, seed=0, estimator="mlp", estimator_kwargs={"width": 8, "depth": 1})
    with pytest.raises(CheckpointError, match="estimator is 'TabularEstimator' in the file, 'MLPEstimator'"):
        load_team(mlp, tmp_path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_team(team, tmp_path / "nowhere")
    (tmp_path / "agent_2.ckpt").unlink()
    with pytest.raises(CheckpointError, match=r"agent_2\.ckpt is missing"):
        load_team(team, tmp_path)
    assert load_team(team, tmp_path, missing_ok=True) == [True, True, False]
