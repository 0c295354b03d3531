"""The OpenAI-compatible backend against a local fake server, with and without faults."""

import numpy as np
import pytest
from fake_openai_server import FakeServer, reply_for

from handoffq.envs.llm_math.data import generate_arith
from handoffq.envs.llm_math.env import LLMMathEnv, evaluate_table
from handoffq.envs.llm_math.workflows import WORKFLOWS, workflow_table
from handoffq.llm.base import LLMError
from handoffq.llm.cache import CachedBackend, RequestCache
from handoffq.llm.openai_backend import OpenAIBackend

pytest.importorskip("openai")


def _run(url: str, questions, tmp_path=None, **kw):
    be = OpenAIBackend(
        "fake-model",
        base_url=url,
        api_key_env="HANDOFFQ_TEST_KEY",
        timeout=0.25,
        backoff=0.01,
        max_backoff=0.05,
        max_retries=30,
        concurrency=4,
        **kw,
    )
    backend = CachedBackend(be, RequestCache(tmp_path / "c.sqlite")) if tmp_path else be
    out = {}
    for w in WORKFLOWS:
        logs = evaluate_table(
            lambda: LLMMathEnv(backend, questions), workflow_table(w), questions, workers=3
        )
        out[w] = [(lg.path, lg.final, lg.correct, lg.visited) for lg in logs]
    return out, be, backend


def test_reply_and_usage_counts() -> None:
    with FakeServer() as srv:
        be = OpenAIBackend("fake-model", base_url=srv.url, api_key_env="HANDOFFQ_TEST_KEY")
        msgs = [
            {"role": "system", "content": "You are the checker"},
            {"role": "user", "content": "q"},
        ]
        c = be.complete(msgs, {"temperature": 0.0, "max_tokens": 16})
    assert c.text == reply_for(msgs)
    assert (c.prompt_tokens, c.completion_tokens) == (10, 5)
    assert be.stats.calls == 1 and be.stats.retries == 0
    assert be.stats.cost == 0.0  # no price table for this model


def test_cost_from_the_price_table() -> None:
    with FakeServer() as srv:
        be = OpenAIBackend(
            "fake-model",
            base_url=srv.url,
            api_key_env="HANDOFFQ_TEST_KEY",
            prices={"prompt": 2.0, "completion": 10.0},
        )
        be.complete([{"role": "user", "content": "q"}])
        be.complete([{"role": "user", "content": "q"}], sample=1)
    per_call = (be.stats.prompt_tokens * 2.0 + be.stats.completion_tokens * 10.0) / 2 / 1e6
    assert be.stats.calls == 2 and be.stats.cost == pytest.approx(2 * per_call) and per_call > 0


def test_faults_do_not_change_results(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HANDOFFQ_TEST_KEY", "sk-secret-test-key-123")
    qs = generate_arith(5, seed=3)
    with FakeServer(fault_rate=0.0) as clean:
        ref, _be_ref, _ = _run(clean.url, qs)
    with FakeServer(fault_rate=0.2, seed=1, hang=0.5) as faulty:
        got, be, _cached = _run(faulty.url, qs, tmp_path)
        assert sum(faulty.faults.values()) > 0
        assert "Bearer sk-secret-test-key-123" in faulty.auth
    assert got == ref
    assert be.stats.retries >= sum(faulty.faults.values()) - 1
    assert "sk-secret" not in (tmp_path / "c.sqlite").read_bytes().decode("latin-1")
    assert "sk-secret" not in repr(be)
    # every text/AIS path was exercised and episodes ended
    assert all(len(p) >= 2 for rows in got.values() for p, *_ in rows)
    assert np.mean([v[-1] != [] for rows in got.values() for v in rows]) == 1.0


def test_client_error_fails_fast_and_gives_up(monkeypatch) -> None:
    with FakeServer(fault_rate=1.0, seed=2, hang=0.3) as srv:
        be = OpenAIBackend(
            "m",
            base_url=srv.url,
            api_key_env="HANDOFFQ_UNSET_KEY",
            timeout=0.1,
            backoff=0.001,
            max_backoff=0.002,
            max_retries=2,
        )
        with pytest.raises(LLMError, match="gave up after 3 attempts"):
            be.complete([{"role": "user", "content": "x"}])
    monkeypatch.delenv("HANDOFFQ_UNSET_KEY", raising=False)
    with pytest.raises(LLMError, match="HANDOFFQ_UNSET_KEY"):
        OpenAIBackend("m", base_url=None, api_key_env="HANDOFFQ_UNSET_KEY")
