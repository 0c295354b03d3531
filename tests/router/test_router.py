"""The Router's message flow, modes, cap, costs, errors and concurrency."""

from __future__ import annotations

import random
import threading

import numpy as np
import pytest

from handoffq import END, Router
from handoffq.learn.schedules import StepSize
from handoffq.router import (
    MLP,
    RouterError,
    RouterListener,
    Tabular,
    TaskStateError,
    UnseenViewError,
    UnseenViewWarning,
)
from handoffq.router.demo import build_router, run_doc


class Recorder(RouterListener):
    def __init__(self) -> None:
        self.messages: list[tuple[str, str, tuple[float, int, float]]] = []

    def on_message(self, task, source, target, message):  # type: ignore[no-untyped-def]
        self.messages.append((source, target, message.as_tuple()))


def _pipeline(**kw: object) -> Router:
    r = Router(seed=0, diagnostics=False, **kw)  # type: ignore[arg-type]
    plain = Tabular(try_each=0)  # choices below are exact: no first tries of each successor
    r.add_agent("a", observe=lambda x: x["a"], successors=["b", "c", END], fallback="b", learner=plain)
    r.add_agent("b", observe=lambda x: x["b"], successors=["c", END], fallback="c", learner=plain)
    r.add_agent("c", observe=lambda x: x["c"], successors=[END], fallback=END, learner=plain)
    return r


def test_readme_task_view_dependent_successor_is_learned_within_500_tasks_and_survives_save_load(tmp_path):
    rng = random.Random(1)
    router = Router(seed=0)
    router.add_agent("triage", observe=lambda t: t["topic"], successors=["billing", "tech", END])
    router.add_agent("billing", observe=lambda t: t["topic"], successors=[END])
    router.add_agent("tech", observe=lambda t: t["topic"], successors=[END])
    best = {"invoice": "billing", "crash": "tech", "hello": END}
    for _ in range(500):
        art = {"topic": rng.choice(list(best))}
        task = router.start_task()
        nxt = task.next("triage", art, cost=0.0)
        if nxt != END:
            assert task.next(nxt, art, cost=0.05) == END
        task.finish(reward=1.0 if nxt == best[art["topic"]] else 0.0)
    for topic, succ in best.items():
        assert router.explain("triage", {"topic": topic}).choice == succ
    router.save(tmp_path)
    views = {name: (lambda t: t["topic"]) for name in ("triage", "billing", "tech")}
    loaded = Router.load(tmp_path, observe=views, mode="frozen")
    for topic, succ in best.items():
        assert loaded.start_task().next("triage", {"topic": topic}) == succ
        assert loaded.explain("triage", {"topic": topic}).q == router.explain("triage", {"topic": topic}).q


def test_messages_carry_value_duration_and_weighted_cost():
    r = _pipeline(cost_weight=2.0, gamma=0.9)
    rec = Recorder()
    r.add_listener(rec)
    art = {"a": 0, "b": 0, "c": 0}
    t = r.start_task(mode="frozen")
    t.next("a", art, chosen="b")
    t.next("b", art, cost=0.5, duration=3, chosen="c")
    t.next("c", art, cost=0.25, duration=2)
    t.finish(1.0)
    v_b = r.agents["b"].value(r.agents["b"].view(art))
    assert rec.messages == [("a", "b", (v_b, 3, -1.0)), ("b", "c", (0.0, 2, -0.5)), ("c", END, (0.0, 1, 1.0))]


def test_each_reply_updates_its_own_task_when_tasks_interleave():
    r = Router(seed=0, diagnostics=False, epsilon=0.0)
    whole = Tabular(step_size=StepSize("constant", a0=1.0), try_each=0)  # each update takes the whole target
    r.add_agent("p", observe=lambda x: x, successors=["q"], learner=whole)
    r.add_agent("q", observe=lambda x: x, successors=[END], learner=whole)
    t1, t2 = r.start_task(), r.start_task()
    assert t1.next("p", "one") == "q" and t2.next("p", "two") == "q"
    t2.next("q", "two")
    t1.next("q", "one")
    t2.finish(0.0)
    t1.finish(1.0)
    assert r.explain("q", "one").q[END] == 1.0 and r.explain("q", "two").q[END] == 0.0
    for art in ("two", "one"):  # p learns q's value at q's view of each task
        t = r.start_task()
        t.next("p", art)
        t.next("q", art)
        t.finish(1.0 if art == "one" else 0.0)
    assert r.explain("p", "one").q["q"] == pytest.approx(0.99) and r.explain("p", "two").q["q"] == 0.0
    assert r.agents["p"].pending() == 0 and r.agents["q"].pending() == 0


def test_finish_without_a_report_charges_the_unreported_agent():
    r = _pipeline()
    rec = Recorder()
    r.add_listener(rec)
    t = r.start_task()
    succ = t.next("a", {"a": 1}, chosen="b")
    out = t.finish(2.0, cost=0.5, duration=4)
    assert succ == "b" and rec.messages[-1] == ("a", "b", (0.0, 4, 1.5))
    assert out.cost == 0.5 and out.handoffs == 1 and not out.capped


def test_handoff_cap_ends_a_loop_with_the_penalty():
    r = Router(seed=0, max_handoffs=3, cap_penalty=-2.0, diagnostics=False)
    r.add_agent("loop", observe=lambda x: 0, successors=["loop"])
    rec = Recorder()
    r.add_listener(rec)
    t = r.start_task()
    names = [t.next("loop", None, cost=0.1) for _ in range(4)]
    assert names == ["loop", "loop", "loop", END]
    assert t.outcome is not None and t.outcome.capped and t.outcome.reward == -2.0 and t.outcome.handoffs == 3
    assert rec.messages[-1] == ("loop", "loop", (0.0, 1, pytest.approx(-2.1)))
    assert t.finish(0.3).app_reward == 0.3
    with pytest.raises(TaskStateError, match="handoff cap"):
        t.next("loop", None)
    assert r.tasks_capped == 1 and r.agents["loop"].pending() == 0


def test_costs_steer_between_equally_good_successors():
    for weight, want in ((1.0, "cheap"), (-1.0, "dear")):
        r = Router(seed=0, cost_weight=weight, epsilon=0.3, diagnostics=False)
        r.add_agent("a", successors=["cheap", "dear"])
        r.add_agent("cheap", successors=[END])
        r.add_agent("dear", successors=[END])
        for _ in range(200):
            t = r.start_task()
            k = t.next("a", 0)
            t.next(k, 0, cost=0.1 if k == "cheap" else 0.5)
            t.finish(1.0)
        assert r.explain("a", 0).choice == want


def test_modes_frozen_changes_nothing_serve_is_greedy_and_learns():
    r = _pipeline(epsilon=1.0)
    art = {"a": 0, "b": 0, "c": 0}
    before = {n: node.state_dict()["agent"]["q"]["table"].copy() for n, node in r.agents.items()}
    for _ in range(20):
        t = r.start_task(mode="frozen")
        k = t.next("a", art)
        assert k == "b"  # frozen: the unseen view goes to the fallback, never explored
        t.finish(1.0, cost=0.0)
    assert all(np.array_equal(before[n], node.state_dict()["agent"]["q"]["table"]) for n, node in r.agents.items())
    r.mode = "serve"
    t = r.start_task()
    assert t.next("a", art) == "b"
    t.finish(1.0)
    assert r.explain("a", art).q["b"] == 1.0
    quiet = _pipeline(mode="serve", learn_in_serve=False)
    t = quiet.start_task()
    t.next("a", art)
    t.finish(1.0)
    assert quiet.explain("a", art).q["b"] == 0.0
    with pytest.raises(RouterError, match="mode"):
        r.mode = "fast"  # type: ignore[assignment]


def test_unseen_view_policies_when_not_learning():
    r = Router(seed=0, diagnostics=False, mode="frozen")
    r.add_agent("strict", successors=["x", END], unseen="error")
    r.add_agent("safe", successors=["x", END], unseen="fallback", fallback=END)
    r.add_agent("plain", successors=["x", END])
    r.add_agent("x", successors=[END])
    with pytest.raises(UnseenViewError, match="never seen"):
        r.start_task().next("strict", "new")
    assert r.start_task().next("safe", "new") == END
    with pytest.warns(UnseenViewWarning, match="fallback"):
        assert r.start_task().next("plain", "new") == "x"
    assert len(r.agents["plain"].vocab) == 0  # type: ignore[arg-type]
    assert r.explain("safe", "new").seen is False


def test_propose_records_nothing_and_chosen_is_learned():
    r = _pipeline(epsilon=0.0)
    art = {"a": 5, "b": 0, "c": 0}
    t = r.start_task()
    assert t.propose("a", art) == "b" and r.agents["a"].pending() == 0
    assert t.next("a", art, chosen="c") == "c"
    t.next("c", art)
    t.finish(1.0)
    assert r.explain("a", art).visits == {"b": 0, "c": 1, END: 0}
    assert r.explain("c", art).q[END] == 1.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t: t.next("zz", 0), "unknown agent 'zz'"),
        (lambda t: t.next("a", {"a": 0}, cost=float("nan")), "cost must be a finite number"),
        (lambda t: t.next("a", {"a": 0}, duration=0), "duration must be a positive integer"),
        (lambda t: t.next("a", {"a": 0}, duration=1.5), "duration must be a positive integer"),
        (lambda t: t.next("a", {"a": [1]}), "unhashable list"),
        (lambda t: t.next("a", {"a": object()}), "tabular views are tuples"),
        (lambda t: t.next("a", {"a": 0}, allowed=["nope"]), "allowed successor 'nope'"),
        (lambda t: t.next("a", {"a": 0}, chosen="a"), "'a' is not one of its successors"),
        (lambda t: t.finish(float("inf")), "reward must be a finite number"),
    ],
)
def test_bad_calls_fail_with_one_line_naming_the_problem(call, match):
    t = _pipeline().start_task()
    with pytest.raises(RouterError, match=match):
        call(t)


def test_an_agent_without_observe_explains_that_the_artifact_is_its_view():
    r = Router(diagnostics=False)
    r.add_agent("a", successors=[END])
    with pytest.raises(RouterError, match="has no observe function, so the artifact itself is its view"):
        r.start_task().next("a", {"topic": "x"})


def test_out_of_order_reports_are_refused():
    r = _pipeline(epsilon=0.0)
    t = r.start_task()
    assert t.next("a", {"a": 0}) == "b"
    with pytest.raises(TaskStateError, match="handed off to 'b', but 'c' reported"):
        t.next("c", {"c": 0})
    t2 = r.start_task()
    t2.next("a", {"a": 1}, chosen=END)
    with pytest.raises(TaskStateError, match="ended it"):
        t2.next("b", {"b": 0})
    t2.finish(1.0)
    with pytest.raises(TaskStateError, match="already finished"):
        t2.finish(1.0)
    with pytest.raises(TaskStateError, match="already in flight"):
        r.start_task(t.id)


def test_declaration_errors_surface_before_any_task():
    r = Router()
    with pytest.raises(RouterError, match="no agents"):
        r.start_task()
    r.add_agent("a", successors=["ghost", END])
    with pytest.raises(RouterError, match="'ghost', which is not declared"):
        r.start_task()
    with pytest.raises(RouterError, match="already declared"):
        r.add_agent("a", successors=[END])
    with pytest.raises(RouterError, match="END successor"):
        r.add_agent(END, successors=[END])
    with pytest.raises(RouterError, match="successors must not be empty"):
        r.add_agent("b", successors=[])
    with pytest.raises(RouterError, match="max_handoffs"):
        Router(max_handoffs=0)
    loopy = Router()
    loopy.add_agent("a", successors=["a"])
    with pytest.warns(UserWarning, match="no agent has END"):
        loopy.start_task()


def test_abandon_and_with_block_drop_pending_decisions():
    r = _pipeline()
    with pytest.raises(KeyError), r.start_task() as t:
        t.next("a", {"a": 0})
        raise KeyError("app failed")
    assert t.abandoned and r.agents["a"].pending() == 0 and r.open_tasks() == []
    t2 = r.start_task("mine")
    t2.next("a", {"a": 0})
    assert r.task("mine") is t2
    t2.abandon()
    assert r.agents["a"].pending() == 0
    with pytest.raises(TaskStateError):
        r.task("mine")


def test_threads_share_one_router_safely():
    r = build_router(seed=0, diagnostics=False)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for s in range(150):
                t = r.start_task()
                t.finish(run_doc(offset + s, t.next))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i * 1000,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and r.tasks_finished == 600
    assert all(n.pending() == 0 for n in r.agents.values())


def test_demo_pipeline_beats_the_full_chain_when_views_suffice():
    r = build_router(seed=0, epsilon=0.2, diagnostics=False)
    for s in range(3000):
        t = r.start_task()
        t.finish(run_doc(s, t.next))
    r.mode = "frozen"
    total = 0.0
    for s in range(10_000, 10_500):
        t = r.start_task()
        total += t.finish(run_doc(s, t.next)).reward
    assert total / 500 > 0.9  # the fixed full chain scores about 0.6 (tests/router/test_evaluate.py)


def test_mlp_router_learns_a_view_dependent_successor_from_numeric_views():
    topics = ["invoice", "crash", "thanks"]
    best = {"invoice": "billing", "crash": "tech", "thanks": END}

    def onehot(t: dict) -> list[float]:
        return [float(t["topic"] == k) for k in topics]

    r = Router(seed=1, diagnostics=False)
    for name, succ in (("triage", ["billing", "tech", END]), ("billing", [END]), ("tech", [END])):
        r.add_agent(name, observe=onehot, successors=succ, learner=MLP(width=32))
    rng = random.Random(1)
    for _ in range(500):
        ticket = {"topic": rng.choice(topics)}
        task = r.start_task()
        agent, path = "triage", []
        while agent != END:
            path.append(agent)
            agent = task.next(agent, ticket, cost=0.01)
        task.finish(1.0 if (path[1] if len(path) > 1 else END) == best[ticket["topic"]] else 0.0)
    assert {k: r.explain("triage", {"topic": k}).choice for k in topics} == best


def _task_state(r: Router, t) -> tuple:  # type: ignore[no-untyped-def]
    """What a failed call must leave as it was: the task, every agent's learner, the open tasks."""
    import pickle

    learners = {n: pickle.dumps((a.state_dict(), sorted(map(repr, a.agent._pending)))) for n, a in r.agents.items()}
    return (t.cost, list(t.path), t.handoffs, t.expected, t._last, [list(x) for x in t._trace], learners,
            r.open_tasks())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"chosen": "nope"}, "'nope' is not one of its successors"),
        ({"chosen": "c", "allowed": [END]}, "not among the allowed"),
        ({"allowed": ["zzz"]}, "allowed successor 'zzz'"),
        ({"allowed": []}, "must not be empty"),
        ({"cost": 1.7e308}, "cost_weight \\* cost"),
    ],
)
def test_a_failed_next_changes_nothing_and_the_task_goes_on(kwargs, match):
    r = _pipeline(cost_weight=2.0)
    rec = Recorder()
    r.add_listener(rec)
    art = {"a": 0, "b": 0, "c": 0}
    t = r.start_task()
    assert t.next("a", art, chosen="b") == "b"
    before = _task_state(r, t)
    for _ in range(2):  # a retry with the same mistake fails the same way, still changing nothing
        with pytest.raises(RouterError, match=match):
            t.next("b", art, **kwargs)
        assert _task_state(r, t) == before and rec.messages == []
    assert t.next("b", art, cost=1.0, chosen=END) == END
    out = t.finish(1.0)
    assert out.path == ("a", "b") and out.cost == 1.0 and r.open_tasks() == []
    assert [m[:2] for m in rec.messages] == [("a", "b"), ("b", END)]


def test_a_non_finite_update_in_next_is_refused_and_changes_nothing():
    from handoffq.learn.targets import NonFiniteQError

    r = _pipeline(cost_weight=1.0)
    art = {"a": 0, "b": 0, "c": 0}
    first = r.start_task()  # b sees its view once (a new view is stored before the update is tried)
    first.next("a", art, chosen="b")
    first.next("b", art, chosen=END)
    first.finish(0.0)
    t = r.start_task()
    t.next("a", art, chosen="b")
    r.agents["b"].agent.q.table[0, :] = 1.7e308  # v = 1.7e308: R + gamma * v overflows at a's update
    before = _task_state(r, t)
    with pytest.raises(NonFiniteQError):
        t.next("b", art, cost=-1.7e308)
    assert _task_state(r, t) == before
    assert np.isfinite(r.agents["a"].agent.q.table).all()


def test_finish_refuses_cost_after_end_instead_of_ignoring_it():
    r = _pipeline()
    t = r.start_task()
    assert t.next("a", {"a": 0}, chosen=END) == END
    with pytest.raises(RouterError, match="chose END"):
        t.finish(1.0, cost=3.0)
    assert t.finish(1.0).cost == 0.0


def test_propose_leaves_the_learners_generator_alone():
    r = _pipeline(epsilon=0.5)
    t = r.start_task()
    rng = r.agents["a"].agent.rng
    state = rng.bit_generator.state
    picks = {t.propose("a", {"a": 0}) for _ in range(20)}
    assert rng.bit_generator.state == state and len(picks) == 1
