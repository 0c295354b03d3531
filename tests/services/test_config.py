"""Service options: the learning defaults are the Router's, and so is each agent's seed."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from handoffq import Router
from handoffq.services.cli import serve_agent
from handoffq.services.config import OptionError, ServiceOptions, build_node, build_service, settings_of
from handoffq.services.service import ServiceSettings
from handoffq.services.settings import ServiceTunables

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


@pytest.mark.parametrize(("kw", "message"), [
    ({"inbox_size": 0}, "--inbox-size must be >= 1, got 0"),
    ({"max_reply_bytes": 0}, "--max-reply-bytes must be >= 1, got 0"),
    ({"max_artifact_bytes": 10}, "--max-artifact-bytes must be >= 256, got 10"),
    ({"work_threads": -1}, "--work-threads must be >= 0, got -1"),
    ({"retry_max": 0.0}, "--retry-max must be a positive number, got 0.0"),
    ({"max_magnitude": float("inf")}, "--max-magnitude must be a positive number, got inf"),
    ({"max_attempts": -2}, "--max-attempts must be >= 0 (0: the default rule), got -2"),
])
def test_bad_numbers_are_one_line_errors_naming_the_option(tmp_path: Path, kw: dict, message: str) -> None:
    opts = ServiceOptions("a", tmp_path, successors=["__end__"], accept_from=["client"], work="m:f",
                          end=("judge", "http://127.0.0.1:1"), **kw)
    with pytest.raises(OptionError) as err:
        build_service(opts, http=None)
    assert str(err.value) == message


def test_settings_carry_every_shared_option(tmp_path: Path) -> None:
    changed = {"mode": "serve", "cost_weight": 0.5, "max_handoffs": 7, "penalty": -3.0, "inbox_size": 11,
               "outbox_size": 12, "concurrency": 13, "work_threads": 2, "max_artifact_bytes": 999,
               "max_reply_bytes": 99, "checkpoint_every": 17, "fsync": True, "forward": "a2a",
               "max_magnitude": 5.0, "reply_quota": 4}
    assert set(changed) == {f.name for f in dataclasses.fields(ServiceTunables)}
    s = settings_of(ServiceOptions("a", tmp_path, window=3.0, decision_ttl=4.0, checkpoint_interval=5.0, **changed))
    assert {k: getattr(s, k) for k in changed} == changed
    assert (s.window_s, s.decision_ttl_s, s.checkpoint_interval_s, s.name) == (3.0, 4.0, 5.0, "a")
