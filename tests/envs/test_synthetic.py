import numpy as np
import pytest

from handoffq.core.env import EnvError, HandoffEnv
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP, n_groups


@pytest.mark.parametrize(
    "kwargs,field",
    [({"rho": 0.0}, "rho"), ({"rho": 1.5}, "rho"), ({"rho": float("nan")}, "rho"),
     ({"p": 0.0}, "p"), ({"gamma": 1.0}, "gamma"), ({"n_agents": 1}, "n_agents")],
)
def test_bad_config_is_a_clear_error(kwargs, field):
    with pytest.raises(EnvError, match=field):
        SyntheticConfig(**kwargs)


def test_protocol_and_observation_merging():
    env = SyntheticICSMDP(SyntheticConfig(rho=0.5, n_interface=10))
    assert isinstance(env, HandoffEnv)
    assert n_groups(env.config) == 5 and env.obs_nvec(0) == (5,)
    assert len(set(env.group.tolist())) == 5
    assert n_groups(SyntheticConfig(rho=1.0, n_interface=10)) == 10
    with pytest.raises(EnvError, match="not admissible"):
        bad = [k for k in range(env.n_agents) if k not in env.admissible(0)]
        env.step(bad[0] if bad else 99)


def test_durations_follow_handoff_probability():
    for p in (1.0, 0.25):
        env = SyntheticICSMDP(SyntheticConfig(p=p, tau_max=100, goal_max=0.0), seed=0)
        taus = []
        for _ in range(3000):
            taus.append(env.step(env.admissible(env.active_agent)[0]).duration)
            if env._done:
                env.reset()
        assert abs(np.mean(taus) - 1.0 / p) < 0.1 / p


def test_private_state_is_kept_while_inactive():
    env = SyntheticICSMDP(SyntheticConfig(n_private=3, goal_max=0.0), seed=1)
    seen = {}
    for _ in range(50):
        i = env.active_agent
        obs = env.observe(i)
        if i in seen:
            assert obs[1] == seen[i]  # unchanged since its last invocation ended
        tr = env.step(env.admissible(i)[0])
        seen[i] = (obs[1] + 1) % 3
        if tr.terminated or tr.truncated:
            break
