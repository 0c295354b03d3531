"""Reading the services' TOML files (compose files, key files): one-line errors naming the file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the [services] extra installs tomli there
    import tomli as tomllib

__all__ = ["read_toml"]


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The TOML document at ``path``; ``error("<what> <path> does not exist")`` or
    ``error("<what> <path>: <the parser's message>")`` when it cannot be read."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {path}: {exc}") from None
