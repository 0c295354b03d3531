"""The persistent request cache: stable keys, persistence, hits on rerun."""

from handoffq.llm.base import BackendStats, Completion
from handoffq.llm.cache import CachedBackend, RequestCache, request_key


class Counting:
    name, model, simulated = "fake", "m", False

    def __init__(self) -> None:
        self.stats = BackendStats()

    def complete(self, messages, params=None, sample=0, meta=None):
        self.stats.add(calls=1)
        return Completion(
            text=f"echo {messages[-1]['content']} {sample}", prompt_tokens=3, completion_tokens=2
        )


MSG = [{"role": "user", "content": "hi"}]


def test_key_depends_on_every_part() -> None:
    base = request_key("b", "m", MSG, {"t": 0}, 0)
    assert base == request_key("b", "m", [dict(MSG[0])], {"t": 0}, 0)
    assert base != request_key("b2", "m", MSG, {"t": 0}, 0)
    assert base != request_key("b", "m2", MSG, {"t": 0}, 0)
    assert base != request_key("b", "m", [{"role": "user", "content": "ho"}], {"t": 0}, 0)
    assert base != request_key("b", "m", MSG, {"t": 1}, 0)
    assert base != request_key("b", "m", MSG, {"t": 0}, 1)


def test_rerun_hits_cache_and_survives_reopen(tmp_path) -> None:
    inner = Counting()
    be = CachedBackend(inner, RequestCache(tmp_path / "c.sqlite"))
    a = be.complete(MSG, {"t": 0}, sample=0)
    b = be.complete(MSG, {"t": 0}, sample=0)
    c = be.complete(MSG, {"t": 0}, sample=1)
    assert inner.stats.calls == 2 and be.stats.cache_hits == 1
    assert a.text == b.text and b.cached and not a.cached and c.text != a.text
    be.cache.close()
    inner2 = Counting()
    be2 = CachedBackend(inner2, RequestCache(tmp_path / "c.sqlite"))
    assert be2.complete(MSG, {"t": 0}, sample=1).text == c.text
    assert inner2.stats.calls == 0 and len(be2.cache) == 2
