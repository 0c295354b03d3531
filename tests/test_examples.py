"""Every example runs offline and exits 0 (in CI: each takes seconds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_exits_0_offline(path):
    pytest.importorskip("langgraph")
    pytest.importorskip("agents")
    pytest.importorskip("opentelemetry.sdk")
    env = {**os.environ, "OPENAI_API_KEY": "", "NO_PROXY": "*", "HTTPS_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
