"""View diagnostics: the blind-finisher trap is caught; sufficient views and pure noise are not flagged."""

from __future__ import annotations

import random
import warnings

import pytest

from handoffq import END, Router
from handoffq.router import RouterError, ViewDiagnostics, ViewWarning, check_router
from handoffq.router.demo import build_router, run_doc
from handoffq.router.diagnostics import DecisionRecord


def _train(router: Router, n: int) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for s in range(n):
            t = router.start_task()
            t.finish(run_doc(s, t.next))
    return [str(w.message) for w in caught if issubclass(w.category, ViewWarning)]


def test_blind_finisher_is_caught_within_the_first_checks():
    found = _train(build_router("blind", seed=0), 400)
    assert any(m.startswith("agent 'finisher' cannot tell apart tasks") for m in found)


def test_informed_views_raise_nothing():
    assert _train(build_router("informed", seed=0), 3000) == []


def test_noise_nobody_can_see_is_not_flagged():
    r = Router(seed=0, diagnostics=ViewDiagnostics(every=100))
    r.add_agent("a", observe=lambda x: x[0], successors=["b", "c"])
    r.add_agent("b", observe=lambda x: 0, successors=[END])
    r.add_agent("c", observe=lambda x: 0, successors=[END])
    rng = random.Random(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ViewWarning)
        for _ in range(2000):
            art = (rng.randrange(3),)
            t = r.start_task()
            t.next(t.next("a", art), art)
            t.finish(float(rng.random() < 0.5))  # a coin flip: history explains none of it
    assert r.diagnose() == []


def test_history_dependence_is_measured_not_assumed():
    def fill(d: ViewDiagnostics) -> ViewDiagnostics:
        for i in range(20):
            d.record([DecisionRecord("p", 0, "q", 0.0), DecisionRecord("q", 0, END, 1.0 if i % 2 else 0.0)])
            d.record([DecisionRecord("r", 0, "q", 0.0), DecisionRecord("q", 0, END, 0.0)])
        return d

    # means 0.5 (n=20, sd 0.513) vs 0.0 (n=20): 4.36 standard errors apart
    (f,) = fill(ViewDiagnostics(min_count=5, z=4.0, warn=False)).findings()
    assert (f.agent, f.successor, f.high[0][:3], f.low[0][:3], f.high[1]) == ("q", END, "'p'", "'r'", 20)
    assert f.z == pytest.approx(0.5 / (0.51299 / 20**0.5), rel=1e-3)
    assert fill(ViewDiagnostics(min_count=5, z=4.5, warn=False)).findings() == []
    assert fill(ViewDiagnostics(min_count=21, z=1.0, warn=False)).findings() == []
    assert fill(ViewDiagnostics(min_count=5, z=1.0, rel_gap=0.6, warn=False)).findings() == []


def test_check_router_names_the_undeclared_successor():
    r = Router()
    r.add_agent("a", successors=["b"])
    with pytest.raises(RouterError, match="agent 'a' hands off to 'b', which is not declared"):
        check_router(r)


def test_check_env_accepts_a_router_and_runs_on_every_router_before_its_first_task(monkeypatch):
    import handoffq
    import handoffq.core.check as core_check
    from handoffq.core.check import DeclarationReport

    bad = Router(diagnostics=False)
    bad.add_agent("a", successors=["ghost", END])
    with pytest.raises(RouterError, match="'ghost', which is not declared"):
        handoffq.check_env(bad)
    loop = Router(diagnostics=False)
    loop.add_agent("a", successors=["a"])
    assert handoffq.check_env(loop) == DeclarationReport(tuple(loop.check_declaration()))
    assert "no agent has END" in handoffq.check_env(loop).notes[0]

    seen: list[object] = []
    real = core_check.check_env
    monkeypatch.setattr(core_check, "check_env", lambda obj, *a, **k: seen.append(obj) or real(obj, *a, **k))
    r = Router(diagnostics=False)
    r.add_agent("a", successors=[END])
    r.start_task().abandon()
    r.start_task().abandon()
    assert seen == [r]  # once, when the first task starts
    r.add_agent("b", successors=[END])
    r.start_task().abandon()
    assert seen == [r, r]  # and again after the declaration changed
    with pytest.raises(RouterError, match="not declared"):
        bad.start_task()
