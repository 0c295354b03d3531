"""The llama.cpp backend with a stand-in ``llama_cpp`` module (the real one is an optional extra)."""

import pickle
import sys
import types

import pytest

from handoffq.llm.base import LLMError

MSG = [{"role": "user", "content": "two plus two"}]


class FakeLlama:
    """Records the load and each request; answers with the seed it was given."""

    loads = 0

    def __init__(self, **kwargs) -> None:
        FakeLlama.loads += 1
        self.kwargs = kwargs

    def create_chat_completion(self, messages, seed, **params):
        return {
            "choices": [{"message": {"content": f"seed {seed} t {params.get('temperature')}"}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3},
        }


@pytest.fixture
def backend(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    FakeLlama.loads = 0
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    from handoffq.llm.llamacpp_backend import LlamaCppBackend

    return LlamaCppBackend(gguf, seed=10)


def test_complete_counts_calls_and_tokens(backend) -> None:
    out = backend.complete(MSG, {"temperature": 0.5}, sample=2)
    assert out.text == "seed 12 t 0.5" and (out.prompt_tokens, out.completion_tokens) == (5, 3)
    backend.complete(MSG)
    s = backend.stats
    assert (s.calls, s.cache_hits, s.prompt_tokens, s.completion_tokens, s.cost) == (2, 0, 10, 6, 0.0)


def test_pickle_leaves_the_model_behind_and_reloads_it_on_first_use(backend) -> None:
    backend.complete(MSG)
    state = backend.__getstate__()
    assert "_llm" not in state and "_lock" not in state and state["model"] == "tiny.gguf"
    copy = pickle.loads(pickle.dumps(backend))
    assert copy._llm is None and FakeLlama.loads == 1
    assert copy.complete(MSG, sample=1).text == "seed 11 t None"
    assert FakeLlama.loads == 2 and copy.stats.calls == 2  # copied counter, then its own call


def test_missing_model_file_is_named(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=FakeLlama))
    from handoffq.llm.llamacpp_backend import LlamaCppBackend

    with pytest.raises(LLMError, match=r"nope\.gguf does not exist"):
        LlamaCppBackend(tmp_path / "nope.gguf")
