"""A registry of LLM backends by name: ``--backend NAME`` builds one without importing it early.

Built-in: ``simulated``, ``openai`` (the ``[llm]`` extra) and ``llamacpp`` (the ``[llamacpp]``
extra). A plugin adds its own with :func:`register_backend("name", "package.module:Class")`.
"""

from __future__ import annotations

import importlib
from typing import Any

from handoffq.llm.base import LLMBackend, LLMError

__all__ = ["backend_names", "make_backend", "register_backend"]

_BACKENDS: dict[str, str] = {
    "simulated": "handoffq.llm.simulated:SimulatedBackend",
    "openai": "handoffq.llm.openai_backend:OpenAIBackend",
    "llamacpp": "handoffq.llm.llamacpp_backend:LlamaCppBackend",
}


def register_backend(name: str, target: str) -> None:
    """Register a backend class under ``name`` as ``"module:Class"`` (imported when first built)."""
    if ":" not in target:
        raise LLMError(f"backend {name!r}: target must look like 'package.module:Class', got {target!r}")
    _BACKENDS[name] = target


def backend_names() -> list[str]:
    """The registered backend names."""
    return sorted(_BACKENDS)


def make_backend(kind: str, **kwargs: Any) -> LLMBackend:
    """Build the backend registered as ``kind`` with ``kwargs``."""
    target = _BACKENDS.get(kind)
    if target is None:
        raise LLMError(f"unknown LLM backend {kind!r} (known: {', '.join(backend_names())})")
    module, _, cls = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module), cls)
    except ModuleNotFoundError as exc:
        raise LLMError(f"LLM backend {kind!r} needs a package that is not installed ({exc.name}); "
                       "install the matching extra, e.g. pip install 'handoffq[llm]'") from None
    backend: LLMBackend = factory(**kwargs)
    return backend
