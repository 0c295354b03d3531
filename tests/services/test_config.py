"""Service options: the learning defaults are the Router's, and so is each agent's seed."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from handoffq import Router
from handoffq.services.cli import serve_agent
from handoffq.services.config import ServiceOptions, build_node
from handoffq.services.service import ServiceSettings

# service option -> the Router's argument with the same meaning
SAME_AS_ROUTER = {"cost_weight": "cost_weight", "max_handoffs": "max_handoffs", "penalty": "cap_penalty",
                  "gamma": "gamma", "epsilon": "epsilon", "mode": "mode", "learn_in_serve": "learn_in_serve",
                  "seed": "seed"}


def _defaults(fields: tuple[dataclasses.Field, ...]) -> dict[str, object]:  # type: ignore[type-arg]
    return {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}


@pytest.mark.parametrize("name", sorted(SAME_AS_ROUTER))
def test_learning_defaults_are_the_routers(name: str) -> None:
    router = inspect.signature(Router.__init__).parameters[SAME_AS_ROUTER[name]].default
    assert _defaults(dataclasses.fields(ServiceOptions))[name] == router
    cli = inspect.signature(serve_agent).parameters[name].default.default  # the typer.Option's default
    assert cli == router
    settings = _defaults(dataclasses.fields(ServiceSettings))
    if name in settings:
        assert settings[name] == router


def test_each_agent_is_seeded_as_the_router_seeds_it(tmp_path: Path) -> None:
    for seed in (0, 7):
        router = Router(seed=seed)
        for name in ("triage", "math"):
            node = router.add_agent(name, successors=["__end__"])
            opts = ServiceOptions(name, tmp_path, successors=["__end__"], seed=seed)
            built = build_node(opts).node
            assert built.seed == node.seed
            assert built.agent.rng.random() == node.agent.rng.random()
    a = build_node(ServiceOptions("triage", tmp_path, successors=["__end__"])).node
    b = build_node(ServiceOptions("math", tmp_path, successors=["__end__"])).node
    assert a.seed != b.seed  # services with the same --seed do not explore with the same stream
