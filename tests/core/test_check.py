"""check_env: every environment of the package passes; each kind of broken environment fails
with a message naming the method, the agent and the value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import networkx as nx
import pytest

from handoffq.core.check import check_env
from handoffq.core.env import EnvError, PreconfiguredAgents, Transition
from handoffq.envs.cpu import CPUConfig, CPUEnv
from handoffq.envs.llm_math.data import generate_arith
from handoffq.envs.llm_math.env import LLMMathEnv
from handoffq.envs.routing import RoutingConfig, RoutingEnv, make_graph
from handoffq.envs.synthetic import SyntheticConfig, SyntheticICSMDP
from handoffq.envs.toy import TwoAgentCycle
from handoffq.llm.simulated import SimulatedBackend

ENVS: dict[str, Callable[[], Any]] = {
    "toy": TwoAgentCycle,
    "synthetic": lambda: SyntheticICSMDP(SyntheticConfig(rho=0.5, n_private=2), seed=0),
    "routing": lambda: RoutingEnv(make_graph("barabasi_albert", 12, seed=0), RoutingConfig(detain_prob=0.3), seed=0),
    "cpu": lambda: CPUEnv(CPUConfig(), seed=0),
    "llm_math": lambda: LLMMathEnv(SimulatedBackend(calibration="mmlu-hs"), generate_arith(20, seed=0), seed=0),
}


@pytest.mark.parametrize("name", sorted(ENVS))
def test_every_package_environment_conforms(name: str) -> None:
    report = check_env(ENVS[name](), episodes=4)
    assert report.episodes == 4 and report.handoffs > 0
    assert report.terminated + report.truncated == 4


class Flow(PreconfiguredAgents):
    """A small user environment: agent 0 hands to 1 or 2, which end the episode."""

    n_agents = 3
    gamma = 0.9
    agent_names = ("a", "b", "c")

    def __init__(self, **broken: Any) -> None:
        self.broken = broken
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        self.active_agent = 0

    def observe(self, agent: int) -> Any:
        return self.broken.get("obs", (0,))

    def obs_nvec(self, agent: int) -> tuple[int, ...]:
        return (2,)

    def candidates(self, agent: int) -> tuple[int, ...]:
        return self.broken.get("candidates", (0, 1, 2))

    def admissible(self, agent: int) -> tuple[int, ...]:
        return self.broken.get("admissible", (1, 2) if agent == 0 else (0,))

    def step(self, successor: int) -> Any:
        if "step" in self.broken:
            return self.broken["step"]
        ended = self.active_agent != 0 and not self.broken.get("endless")
        self.active_agent = successor
        return Transition(1, 1.0, ended, False)


def test_a_correct_user_environment_passes() -> None:
    assert check_env(Flow()).terminated == 5


@pytest.mark.parametrize(
    ("broken", "match"),
    [
        ({"obs": (-1,)}, r"observe\(0\)\[0\] = -1 is outside 0 \.\. 1"),
        ({"obs": (0, 1)}, r"observe\(0\) returned 2 values"),
        ({"obs": "prose"}, r"observe\(0\) must return a tuple"),
        ({"obs": (None,)}, r"observe\(0\)\[0\] must be an integer"),
        ({"candidates": (0, 1, 9)}, r"candidates\(0\) holds \[9\]"),
        ({"admissible": (1, 5)}, r"admissible\(0\) holds \[5\]"),
        ({"admissible": ()}, r"admissible\(0\) must be a non-empty tuple"),
        ({"step": (1, 1.0, True, False)}, r"must return handoffq.Transition"),
        ({"step": Transition(0, 1.0, True, False)}, r"duration must be a positive integer"),
        ({"step": Transition(1, float("nan"), True, False)}, r"reward must be a finite number"),
        ({"endless": True}, r"no end within 50 handoffs"),
    ],
)
def test_broken_environments_fail_with_a_named_reason(broken: dict[str, Any], match: str) -> None:
    with pytest.raises(EnvError, match=match):
        check_env(Flow(**broken), max_handoffs=50)


def test_missing_methods_are_named() -> None:
    class Half:
        n_agents = 2
        gamma = 0.9

        def reset(self, seed: int | None = None) -> None: ...

    with pytest.raises(EnvError, match="no method"):
        check_env(Half())


def test_unseeded_randomness_is_caught() -> None:
    class Unseeded(Flow):
        def observe(self, agent: int) -> Any:
            import random

            return (random.randint(0, 1),)

    with pytest.raises(EnvError, match="different first observations"):
        for _ in range(20):  # one draw in 2**20 passes by chance
            check_env(Unseeded(), episodes=1)


def test_graph_type_is_irrelevant_to_the_check() -> None:
    env = RoutingEnv(nx.path_graph(5), seed=0)
    assert check_env(env).terminated + check_env(env).truncated == 5


def test_a_declaration_is_checked_by_its_own_method_not_played():
    from handoffq.core.check import Declaration, DeclarationReport

    class Decl:
        def __init__(self, error: bool) -> None:
            self.error = error
            self.calls = 0

        def check_declaration(self) -> list[str]:
            self.calls += 1
            if self.error:
                raise ValueError("agent 'x' hands off to 'y', which is not declared")
            return ["no agent can end a task"]

    ok = Decl(error=False)
    assert isinstance(ok, Declaration)
    assert check_env(ok) == DeclarationReport(("no agent can end a task",)) and ok.calls == 1
    with pytest.raises(ValueError, match="not declared"):
        check_env(Decl(error=True))
