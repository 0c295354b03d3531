"""The README's code runs as written: its Python blocks are executed (offline, in a temporary
folder), so a renamed API or a wrong argument breaks this test rather than a newcomer's first try.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
# the README's placeholder environment, bound to a real one for the test
PRELUDE = {"MyWorkflowEnv": "from handoffq.envs.toy import TwoAgentCycle as MyWorkflowEnv\n"}


def python_blocks(text: str) -> list[str]:
    """The ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_python_blocks():
    assert len(python_blocks(README.read_text(encoding="utf-8"))) >= 2


@pytest.mark.parametrize("index", range(len(python_blocks(README.read_text(encoding="utf-8")))))
def test_readme_python_block_runs(index, tmp_path, monkeypatch, capsys):
    code = python_blocks(README.read_text(encoding="utf-8"))[index]
    prelude = "".join(line for name, line in PRELUDE.items() if name in code)
    monkeypatch.chdir(tmp_path)
    exec(compile(prelude + code, f"README.md block {index}", "exec"), {"__name__": "__readme__"})
    assert capsys.readouterr().out  # every block prints what it shows
