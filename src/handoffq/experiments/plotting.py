"""The one plotting helper of the experiments: a headless pyplot and a safe save."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["SIMULATED_TAG", "pyplot", "save"]

SIMULATED_TAG = "(simulated)"


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig: Any, path: Path, dpi: int = 110) -> Path:
    """Lay out, write and close a figure; return its path."""
    plt = pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)
