"""Imports run downward only: core <- learn, theory, llm, config <- envs, runtime <- baselines
<- experiments <- cli. A module may import its own layer and the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "handoffq"

# layer of each top-level module/package of handoffq (higher may import lower, never the reverse)
LAYERS = {
    "core": 0, "io": 0, "config": 0, "progress": 0,
    "learn": 1, "theory": 1, "llm": 1,
    "envs": 2, "runtime": 2,
    "baselines": 3, "router": 3,
    "integrations": 4, "services": 4, "experiments": 4,
    "cli_parse": 5, "cli": 5,
}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "handoffq" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
    return out


def test_imports_only_run_downward() -> None:
    bad = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        top = rel.parts[0].removesuffix(".py")
        if top == "__init__":
            continue
        assert top in LAYERS, f"{rel}: add its package to LAYERS"
        own = LAYERS[top]
        for line, module in _imports(path):
            layer = _layer(module)
            if layer is not None and layer > own:
                bad.append(f"{rel}:{line} imports {module} (layer {layer} > {own})")
    assert not bad, "\n".join(bad)
