"""Work callables for the service tests (imported by name, as a user's module would be)."""

from __future__ import annotations

import threading
from typing import Any

GATE = threading.Event()


def gated(artifact: Any) -> Any:
    """A work that waits until the test opens ``GATE`` (at most 30 s)."""
    GATE.wait(30)
    return artifact
