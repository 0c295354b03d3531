"""Parsing of ``handoffq experiment NAME [options]`` and its ``--help`` text.

The common options (``--quick``, ``--preset``, ``--seed``, ``--out``, ``--config``,
``--runtime``, ``--workers``, ``--debug``, ``--help``) are read here; every other
``--opt-name VALUE`` is an option of the experiment's configuration class, checked by
:func:`handoffq.config.build_config` (one-line errors, before any work).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from handoffq.config import ConfigError, ExperimentConfig, option_specs, overrides_from_mapping
from handoffq.runtime import RUNTIMES

__all__ = ["COMMON_HELP", "Invocation", "experiment_help", "load_config_file", "parse_invocation"]

COMMON_HELP: tuple[tuple[str, str, str], ...] = (
    ("--quick", "", "the CI-sized preset (same as --preset quick)"),
    ("--preset", "NAME", "full (default), quick, or a named variant of the experiment"),
    ("--seed", "N", "shift every seed of the preset by N (>= 0; default 0)"),
    ("--out", "DIR", "output folder (default runs/NAME)"),
    ("--config", "FILE", "JSON object of options (keys opt_name or opt-name; nested objects allowed)"),
    ("--runtime", "NAME", f"{', '.join(RUNTIMES)} (default inprocess)"),
    ("--workers", "N", "parallel workers for sweeps (>= 1; default 1)"),
    ("--debug", "", "show the full traceback of an error"),
    ("--help", "", "show this help"),
)
_FLAGS = {"--quick", "--debug", "--help", "-h"}
_VALUED = {"--preset", "--seed", "--out", "--config", "--runtime", "--workers"}


@dataclass
class Invocation:
    """A parsed ``handoffq experiment`` command line."""

    preset: str = "full"
    variant: str | None = None
    seed: int = 0
    out: Path | None = None
    config: Path | None = None
    runtime: str = "inprocess"
    workers: int = 1
    debug: bool = False
    help: bool = False
    options: list[tuple[str, str, str]] = field(default_factory=list)


def _split(args: list[str]) -> list[tuple[str, str | None]]:
    """``--key value`` / ``--key=value`` / ``--flag`` pairs (value ``None`` for a bare flag)."""
    pairs: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("-") or a in ("-", "--"):
            raise ConfigError(f"unexpected argument {a!r} (options look like --name value)")
        if "=" in a:
            key, val = a.split("=", 1)
            pairs.append((key, val))
        elif a in _FLAGS or i + 1 >= len(args) or args[i + 1].startswith("--"):
            pairs.append((a, None))
        else:
            pairs.append((a, args[i + 1]))
            i += 1
        i += 1
    return pairs


def _int(flag: str, raw: str | None, low: int) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        raise ConfigError(f"option {flag}: expected an integer, got {raw!r}") from None
    if value < low:
        raise ConfigError(f"option {flag}: must be >= {low}, got {value}")
    return value


def _set_preset(inv: Invocation, val: str) -> None:
    if val in ("full", "quick"):
        inv.preset = val
    else:
        inv.variant = val


def _set_runtime(inv: Invocation, val: str) -> None:
    if val not in RUNTIMES:
        raise ConfigError(f"option --runtime: {val!r} is not one of {', '.join(RUNTIMES)}")
    inv.runtime = val


_SETTERS = {
    "--preset": _set_preset,
    "--runtime": _set_runtime,
    "--seed": lambda inv, val: setattr(inv, "seed", _int("--seed", val, 0)),
    "--workers": lambda inv, val: setattr(inv, "workers", _int("--workers", val, 1)),
    "--out": lambda inv, val: setattr(inv, "out", Path(val)),
    "--config": lambda inv, val: setattr(inv, "config", Path(val)),
}
_FLAG_SETTERS = {
    "--quick": lambda inv: setattr(inv, "preset", "quick"),
    "--help": lambda inv: setattr(inv, "help", True),
    "-h": lambda inv: setattr(inv, "help", True),
    "--debug": lambda inv: setattr(inv, "debug", True),
}


def _common(inv: Invocation, key: str, val: str | None) -> None:
    if key in _FLAG_SETTERS:
        _FLAG_SETTERS[key](inv)
        return
    if val is None:
        raise ConfigError(f"option {key} needs a value")
    _SETTERS[key](inv, val)


def parse_invocation(args: list[str]) -> Invocation:
    """Parse everything after ``handoffq experiment NAME`` (one-line :class:`ConfigError` on a
    malformed command line; experiment options are checked later against their class)."""
    inv = Invocation()
    for key, val in _split(list(args)):
        if key in _FLAGS or key in _VALUED:
            _common(inv, key, val)
        else:
            inv.options.append((key, "true" if val is None else val, "command line"))
    return inv


def load_config_file(path: Path) -> list[tuple[str, Any, str]]:
    """Options from a JSON file, as ``(name, value, source)`` (errors name file, line and column)."""
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path}, line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot read it ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be an object of option names")
    return overrides_from_mapping(data, f"config file {path}")


def _fmt_default(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def experiment_help(
    name: str, description: str, cls: type[ExperimentConfig] | None
) -> list[tuple[str, str, str, str]]:
    """Rows ``(option, type, default, help)`` of ``handoffq experiment NAME --help``; the default
    column shows the full preset and, where it differs, the quick one."""
    rows = [(flag, meta, "", text) for flag, meta, text in COMMON_HELP]
    if cls is None:
        return rows
    quick = {s.name: s.default for s in option_specs(cls)}
    try:
        from handoffq.config import config_to_dict

        quick = {k: (tuple(v) if isinstance(v, list) else v) for k, v in config_to_dict(cls.quick()).items()}
    except Exception:
        pass
    for spec in option_specs(cls):
        default = _fmt_default(spec.default)
        q = quick.get(spec.name, spec.default)
        if q != spec.default:
            default += f" (quick: {_fmt_default(q)})"
        rows.append((spec.flag, spec.type_name(), default, spec.help))
    return rows
