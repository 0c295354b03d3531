"""Every environment of the package passes PettingZoo's api_test and seed_test.

Environments from other issues register themselves by adding a factory to ``ENV_FACTORIES``
in their own test module; this one covers the core environments.
"""

import warnings

import pytest
from pettingzoo.test import api_test, seed_test

from handoffq.core.pettingzoo_adapter import PettingZooAdapter
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.envs.toy import TwoAgentCycle

FACTORIES = {
    "synthetic": lambda: SyntheticICSMDP(SyntheticConfig(horizon=30)),
    "synthetic-private": lambda: SyntheticICSMDP(SyntheticConfig(horizon=30, n_private=2, rho=0.5)),
    "toy": lambda: TwoAgentCycle(horizon=10),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_api_and_seed(name):
    make = FACTORIES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(PettingZooAdapter(make), num_cycles=100)
        seed_test(lambda: PettingZooAdapter(make), num_cycles=30)


def test_masked_action_is_rejected():
    env = PettingZooAdapter(lambda: SyntheticICSMDP(SyntheticConfig()))
    env.reset(seed=0)
    obs = env.observe(env.agent_selection)
    masked = [i for i, m in enumerate(obs["action_mask"]) if m == 0]
    if masked:
        with pytest.raises(ValueError, match="masked"):
            env.step(masked[0])
