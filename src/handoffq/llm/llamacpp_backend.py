"""Local llama.cpp backend: any GGUF file through ``llama-cpp-python`` (``[llamacpp]`` extra).

Calls are serialised (one model instance is not thread-safe). ``sample`` is added to the
seed so that distinct samples of one prompt differ when the temperature is above 0.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from handoffq.llm.base import Backend, BackendStats, Completion, LLMError, Messages

__all__ = ["LlamaCppBackend"]


class LlamaCppBackend(Backend):
    """Chat completions from a local GGUF model.

    Args:
        model_path: path of the ``.gguf`` file.
        n_ctx: context length.
        n_threads: CPU threads (None: llama.cpp's default).
        seed: base sampling seed.
        chat_format: llama.cpp chat format name (None: from the GGUF metadata).
    """

    name = "llamacpp"
    simulated = False
    _transient = ("_lock", "_llm")  # the settings travel; the model is reloaded on first use

    def __init__(
        self,
        model_path: str | Path,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
        chat_format: str | None = None,
    ) -> None:
        try:
            import llama_cpp  # noqa: F401
        except ModuleNotFoundError:
            raise LLMError(
                "the llamacpp backend needs llama-cpp-python: pip install 'handoffq[llamacpp]'"
            ) from None
        path = Path(model_path)
        if not path.is_file():
            raise LLMError(f"GGUF model file {path} does not exist")
        self.model = path.name
        self.model_path = str(path)
        self.n_ctx = int(n_ctx)
        self.n_threads = n_threads
        self.chat_format = chat_format
        self.seed = int(seed)
        self.stats = BackendStats()
        self._lock = threading.Lock()
        self._llm = self._load()

    def _load(self) -> Any:
        """Load the GGUF model (at construction, and lazily after unpickling)."""
        from llama_cpp import Llama

        return Llama(
            model_path=self.model_path,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            seed=self.seed,
            chat_format=self.chat_format,
            verbose=False,
        )

    def _restore(self) -> None:
        """A fresh lock; the model is loaded lazily (on the first request)."""
        self._lock = threading.Lock()
        self._llm = None

    def _answer(
        self, messages: Messages, params: dict[str, Any], sample: int, meta: dict[str, Any] | None
    ) -> Completion:
        """One chat completion from the local model."""
        with self._lock:
            if self._llm is None:
                self._llm = self._load()
            resp = self._llm.create_chat_completion(messages=messages, seed=self.seed + sample, **params)
        try:
            text = resp["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError):
            text = ""
        usage = resp.get("usage") or {}
        pt, ct = int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))
        return Completion(text=text, prompt_tokens=pt, completion_tokens=ct)
