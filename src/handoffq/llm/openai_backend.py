"""OpenAI-compatible chat-completions backend (OpenAI, vLLM, Ollama, llama.cpp server).

Needs the ``openai`` client (the ``[llm]`` extra). The API key is read from the environment
variable named by ``api_key_env`` at construction and kept only in the client object; it is
never logged, cached or written anywhere. Local servers usually accept any key: when the
variable is unset and a ``base_url`` is given, a placeholder is sent.

Failures retried with exponential backoff (plus jitter): timeouts, connection errors, 429,
5xx, and replies that are not a well-formed chat completion ("garbage"). Other 4xx errors
fail at once with the server's message. ``concurrency`` bounds requests in flight across
threads. Usage: calls, retries, tokens, and cost when ``prices`` (per million tokens,
``{"prompt": p, "completion": c}``) is given.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

from handoffq.llm.base import Backend, BackendStats, Completion, LLMError, Messages, rough_usage

__all__ = ["PRICES_PER_MTOK", "OpenAIBackend"]

PRICES_PER_MTOK: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"prompt": 0.15, "completion": 0.60},
}
"""Known prices in USD per million tokens (used when ``prices`` is not given)."""


class OpenAIBackend(Backend):
    """Chat completions through the ``openai`` client.

    Args:
        model: model name sent to the server.
        base_url: server URL (None: api.openai.com); e.g. ``http://127.0.0.1:8080/v1``.
        api_key_env: name of the environment variable holding the key.
        timeout: seconds per attempt.
        max_retries: retries after the first attempt.
        backoff: base delay in seconds (doubles each retry, capped at ``max_backoff``).
        concurrency: requests in flight at most.
        prices: price table per million tokens (default: :data:`PRICES_PER_MTOK` by model).
        seed: seed forwarded to servers that support it.
    """

    name = "openai"
    simulated = False
    # never pickled: the client (it holds the key), the module and the semaphore; after
    # unpickling the client is rebuilt on first use from ``api_key_env`` of that process
    _transient = ("_openai", "_client", "_slots")

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 20.0,
        concurrency: int = 4,
        prices: dict[str, float] | None = None,
        seed: int | None = 0,
    ) -> None:
        try:
            import openai
        except ModuleNotFoundError:
            raise LLMError(
                "the openai backend needs the openai client: pip install 'handoffq[llm]'"
            ) from None
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.concurrency = max(1, int(concurrency))
        self.model = model
        self.base_url = base_url
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.prices = prices if prices is not None else PRICES_PER_MTOK.get(model)
        self.seed = seed
        self.stats = BackendStats()
        self._openai = openai
        self._client = self._make_client()
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._jitter = random.Random(0)

    def _make_client(self) -> Any:
        """A client with the key read from ``api_key_env`` now (the key is kept only there)."""
        key = os.environ.get(self.api_key_env)
        if not key:
            if self.base_url is None:
                raise LLMError(
                    f"environment variable {self.api_key_env} is not set (the OpenAI API key)"
                )
            key = "not-needed"
        return self._openai.OpenAI(
            api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=0
        )

    def _restore(self) -> None:
        """The module and the semaphore again; the client is created lazily."""
        import openai

        self._openai = openai
        self._client = None
        self._slots = threading.BoundedSemaphore(self.concurrency)

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    def _cost(self, out: Completion) -> float:
        """USD from the price table (per million tokens; 0 without one)."""
        if not self.prices:
            return 0.0
        return (
            out.prompt_tokens * self.prices.get("prompt", 0.0)
            + out.completion_tokens * self.prices.get("completion", 0.0)
        ) / 1e6

    def _retryable(self, exc: Exception) -> bool:
        o = self._openai
        if isinstance(
            exc,
            (
                o.APITimeoutError,
                o.APIConnectionError,
                o.RateLimitError,
                o.InternalServerError,
                o.APIResponseValidationError,
                _Garbage,
            ),
        ):
            return True
        if isinstance(exc, o.APIStatusError):
            return exc.status_code == 429 or exc.status_code >= 500
        return isinstance(exc, (ValueError, KeyError, TypeError))  # undecodable body

    def _answer(
        self, messages: Messages, params: dict[str, Any], sample: int, meta: dict[str, Any] | None
    ) -> Completion:
        """One chat completion, retried on transient failures."""
        extra: dict[str, Any] = {}
        if self.seed is not None:
            extra["seed"] = int(self.seed) + sample
        if self._client is None:  # unpickled copy: rebuild from the environment variable
            self._client = self._make_client()
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            try:
                with self._slots:
                    resp = self._client.chat.completions.create(
                        model=self.model, messages=messages, **params, **extra
                    )
                text = _text_of(resp)
                usage = getattr(resp, "usage", None)
                if not usage:
                    return Completion(text, *rough_usage(messages, text))
                pt = int(getattr(usage, "prompt_tokens", 0) or 0)
                ct = int(getattr(usage, "completion_tokens", 0) or 0)
                return Completion(text=text, prompt_tokens=pt, completion_tokens=ct)
            except Exception as exc:
                if not self._retryable(exc):
                    raise LLMError(
                        f"{self.model}: request failed: {type(exc).__name__}: {exc}"
                    ) from None
                last = exc
                if attempt < self.max_retries:
                    self.stats.add(retries=1)
                    delay = min(self.max_backoff, self.backoff * 2**attempt)
                    time.sleep(delay * (0.5 + self._jitter.random() / 2))
        raise LLMError(
            f"{self.model}: gave up after {self.max_retries + 1} attempts: "
            f"{type(last).__name__}: {last}"
        )


class _Garbage(Exception):
    """A reply that parsed but is not a usable chat completion."""


def _text_of(resp: Any) -> str:
    choices = getattr(resp, "choices", None)
    if not choices:
        raise _Garbage("reply has no choices")
    msg = getattr(choices[0], "message", None)
    text = getattr(msg, "content", None)
    if not isinstance(text, str):
        raise _Garbage("reply has no message content")
    return text
