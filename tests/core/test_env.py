"""Observation-space helpers of :mod:`handoffq.core.env`."""

import numpy as np

from handoffq.core.env import flat_obs_index, obs_size


def test_flat_obs_index_is_row_major_and_covers_the_space() -> None:
    nvec = (3, 4, 2)
    obs = np.array(np.unravel_index(np.arange(obs_size(nvec)), nvec)).T
    flat = flat_obs_index(obs, nvec)
    assert flat.tolist() == list(range(24))
    assert flat_obs_index(np.array([[2, 1, 1]]), nvec).tolist() == [2 * 8 + 1 * 2 + 1]


def test_flat_obs_index_of_one_dimension_is_the_value() -> None:
    assert flat_obs_index(np.array([4, 0, 2]), (5,)).tolist() == [4, 0, 2]
    assert flat_obs_index(np.array([[4], [1]]), (5,)).dtype == np.int64


def test_preconfigured_agents_name_the_environment_and_step_checks_come_first() -> None:
    import pytest

    from handoffq.core.env import EnvError, check_step
    from handoffq.envs.synthetic import SyntheticICSMDP
    from handoffq.envs.toy import TwoAgentCycle

    env = SyntheticICSMDP(seed=0)
    assert env.local_actions(0) == 0
    with pytest.raises(EnvError, match=r"^the synthetic IC-SMDP has pre-configured agents only \(no local"):
        env.act(0)
    with pytest.raises(EnvError, match=r"^TwoAgentCycle has pre-configured agents only"):
        TwoAgentCycle().act(0)
    bad = next(k for k in range(env.n_agents) if k not in env.admissible(env.active_agent))
    with pytest.raises(EnvError, match="not admissible"):
        check_step(env, bad, done=False)
    with pytest.raises(EnvError, match=r"finished episode; call reset\(\)"):
        check_step(env, env.admissible(env.active_agent)[0], done=True)


def test_seeded_rng_restarts_on_a_seed_and_continues_on_none() -> None:
    from handoffq.core.env import SeededRng

    class _Env(SeededRng):
        def reset(self, seed: int | None = None) -> float:
            self._seed_rng(seed)
            return float(self._rng.random())

    env = _Env()
    env.reset(None)  # no generator yet: an unseeded one starts
    first = env.reset(5)
    assert env.reset(None) != first  # None continues the running generator
    assert env.reset(5) == first  # a seed restarts it
