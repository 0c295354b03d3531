"""Work callables for the service tests (imported by name, as a user's module would be)."""

from __future__ import annotations

import time
from typing import Any


def slow(artifact: Any) -> Any:
    """A work that takes 50 ms."""
    time.sleep(0.05)
    return artifact
