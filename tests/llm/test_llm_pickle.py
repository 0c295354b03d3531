"""Backends survive a pickle round trip (Ray actors and worker processes get copies)."""

import pickle

import pytest
from fake_openai_server import FakeServer

from handoffq.envs.llm_math.data import generate_arith
from handoffq.envs.llm_math.env import LLMMathEnv, run_table_episode
from handoffq.envs.llm_math.workflows import workflow_table
from handoffq.llm.base import BackendStats, Completion
from handoffq.llm.cache import CachedBackend, RequestCache
from handoffq.llm.simulated import SimulatedBackend

MSG = [{"role": "user", "content": "hi"}]


class Counting:
    name, model, simulated = "fake", "m", False

    def __init__(self) -> None:
        self.stats = BackendStats()

    def complete(self, messages, params=None, sample=0, meta=None):
        self.stats.add(calls=1)
        return Completion(text=f"echo {messages[-1]['content']} {sample}")


def test_stats_round_trip_keeps_counts_and_a_working_lock() -> None:
    s = BackendStats()
    s.add(calls=3, prompt_tokens=7)
    t = pickle.loads(pickle.dumps(s))
    assert (t.calls, t.prompt_tokens) == (3, 7)
    t.add(calls=1)
    assert t.calls == 4 and s.calls == 3


def test_simulated_backend_and_env_round_trip() -> None:
    qs = generate_arith(30, seed=3)
    be = SimulatedBackend(calibration="mmlu-hs", seed=4)
    env = LLMMathEnv(be, qs)
    table = workflow_table("comb_e")
    before = [run_table_episode(env, table, q).correct for q in qs]
    env2 = pickle.loads(pickle.dumps(env))
    assert env2.backend is not be and env2.backend.params == be.params
    after = [run_table_episode(env2, table, q).correct for q in qs]
    assert after == before
    assert env2.backend.stats.calls == 2 * be.stats.calls  # copied counters, then its own


def test_cached_backend_round_trip_reopens_the_database(tmp_path) -> None:
    be = CachedBackend(Counting(), RequestCache(tmp_path / "c.sqlite"))
    first = be.complete(MSG, {"t": 0})
    be2 = pickle.loads(pickle.dumps(be))
    again = be2.complete(MSG, {"t": 0})
    assert again.cached and again.text == first.text
    assert be2.inner.stats.calls == 1  # served from the same file, no new model call
    be2.complete(MSG, {"t": 0}, sample=1)
    assert len(be.cache) == 2  # the original sees the copy's committed write


def test_openai_backend_round_trip_never_pickles_the_key(monkeypatch) -> None:
    pytest.importorskip("openai")
    from handoffq.llm.openai_backend import OpenAIBackend

    monkeypatch.setenv("HANDOFFQ_PICKLE_KEY", "sk-secret-do-not-pickle")
    with FakeServer() as srv:
        be = OpenAIBackend("fake-model", base_url=srv.url, api_key_env="HANDOFFQ_PICKLE_KEY")
        blob = pickle.dumps(be)
        assert b"sk-secret" not in blob
        be2 = pickle.loads(blob)
        out = be2.complete(MSG, {"temperature": 0.0, "max_tokens": 8})
    assert out.text and be2.stats.calls == 1 and be.stats.calls == 0
