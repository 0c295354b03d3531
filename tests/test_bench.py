"""The ``bench/`` scripts: bad options fail in one line before any work; a tiny run writes
its JSON (the full benchmarks are run by hand, their figures are in the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(ROOT / "bench" / script), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--families", "bogus"], "--families"),
        (["--sizes", "1x"], "--sizes"),
        (["--sizes", "1"], "--sizes"),
        (["--check", "0"], "--check"),
    ],
)
def test_bench_routing_rejects_bad_options_in_one_line(args: list[str], option: str) -> None:
    r = _bench("bench_routing.py", *args)
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 2 and option in last and "Traceback" not in r.stderr


def test_bench_routing_tiny_run_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    args = ["--families", "chain", "--sizes", "12", "--sim-steps", "0", "--check", "50", "--stay", "2"]
    r = _bench("bench_routing.py", *args, "--json", str(out))
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text())
    assert rec["simulated"] is True
    assert rec["static"][0]["final_accuracy"] == 1.0
    assert rec["handoffs_to_full_accuracy"]["chain@12"] > 0
