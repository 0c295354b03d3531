"""``report.md``: one section per experiment with its headline figures, a results table and
its PNG figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from handoffq.io import read_csv, read_json

__all__ = ["format_value", "write_report"]

_MAX_ROWS = 40


def format_value(v: Any) -> str:
    """Compact text for a table cell."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {format_value(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["(no rows)"]
    keys = list(rows[0].keys())
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows[:_MAX_ROWS]:
        lines.append("| " + " | ".join(_cell(r.get(k, "")) for k in keys) + " |")
    if len(rows) > _MAX_ROWS:
        lines.append(f"\n({len(rows) - _MAX_ROWS} more rows in results.csv)")
    return lines


def _cell(v: Any) -> str:
    try:
        return format_value(float(v)) if isinstance(v, str) and v and v[0] in "-.0123456789" else format_value(v)
    except ValueError:
        return str(v)


def write_report(root: Path, sections: list[tuple[str, str, float | None]], quick: bool) -> Path:
    """Write ``root/report.md`` from the experiment folders ``root/NAME``.

    ``sections``: ``(name, description, seconds)`` per experiment, in order.
    """
    lines = [
        "# handoffq reproduction report",
        "",
        f"Preset: {'quick (CI-sized)' if quick else 'full'}. Simulated components are labelled.",
        "",
    ]
    for name, desc, secs in sections:
        d = root / name
        lines += [f"## {name}", "", desc, ""]
        summary_path = d / "summary.json"
        if not summary_path.exists():
            lines += ["**Not run or failed** (no summary.json).", ""]
            continue
        summary = json.loads(summary_path.read_text())
        config = read_json(d / "config.json") or {}
        lines.append(f"Preset {config.get('preset', '?')}, seed shift {config.get('seed', '?')}, "
                     f"runtime {config.get('runtime', '?')}.")
        if secs is not None:
            lines.append(f"Computed by this run in {secs:.1f} s.")
        else:
            lines.append("Reused a finished run of the same preset, seed and options (`--force` reruns it).")
        if summary.get("simulated"):
            lines.append(f"**Simulated:** {summary.get('simulated_note', 'this experiment uses a simulation')}")
        lines += ["", "| headline | value |", "|---|---|"]
        for k, v in summary.items():
            if k in ("simulated_note",):
                continue
            lines.append(f"| {k} | {format_value(v)} |")
        lines.append("")
        for md in sorted(d.glob("*.md")):  # tables an experiment lays out itself (e.g. Table 1)
            lines += [md.read_text().rstrip(), ""]
        csv_path = d / "results.csv"
        if csv_path.exists():
            lines += ["<details><summary>results.csv</summary>", ""]
            lines += _table(read_csv(csv_path))
            lines += ["", "</details>", ""]
        for png in sorted(d.glob("*.png")):
            lines += [f"![{name} {png.stem}]({name}/{png.name})", ""]
    path = root / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
