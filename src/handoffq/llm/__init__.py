"""LLM backends behind one small protocol (:class:`~handoffq.llm.base.LLMBackend`).

* :mod:`handoffq.llm.openai_backend` - any OpenAI-compatible chat-completions server
  (OpenAI, vLLM, Ollama, llama.cpp server); needs the ``[llm]`` extra;
* :mod:`handoffq.llm.llamacpp_backend` - a local GGUF file through ``llama-cpp-python``
  (the ``[llamacpp]`` extra);
* :mod:`handoffq.llm.simulated` - a stochastic model of each role (offline default; every
  output it feeds says it is a simulation);
* :mod:`handoffq.llm.cache` - a persistent SQLite request cache wrapping any backend.
"""

from handoffq.llm.base import BackendStats, Completion, LLMBackend, LLMError
from handoffq.llm.registry import backend_names, make_backend, register_backend

__all__ = ["BackendStats", "Completion", "LLMBackend", "LLMError", "backend_names", "make_backend", "register_backend"]
