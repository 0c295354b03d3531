"""Typed experiment configurations: one frozen dataclass per experiment.

A configuration class lists every option of an experiment as a field declared with
:func:`option` (type from the annotation, default, one-line help, bounds). From it come:

* parsing of ``--opt-name VALUE`` command-line options and ``opt_name`` / ``opt-name`` keys of a
  JSON config file, with one-line errors naming the option and its source, *before* any work;
* ``handoffq experiment NAME --help`` (every option with type, default and help);
* presets: the defaults are the ``"full"`` preset, :meth:`ExperimentConfig.quick` the
  CI-sized ``"quick"`` one, and :meth:`ExperimentConfig.variants` named overrides
  (e.g. ``--preset paper-arranged``);
* ``config.json`` round trips (:func:`config_to_dict` / :func:`config_from_dict`).

Nested configuration dataclasses are reached with dotted names (``--synthetic.p 0.3``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

from handoffq.core.errors import HandoffqError

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "OptionSpec",
    "build_config",
    "config_from_dict",
    "config_to_dict",
    "normalise_name",
    "option",
    "option_specs",
]

C = TypeVar("C", bound="ExperimentConfig")


class ConfigError(HandoffqError, ValueError):
    """A bad experiment option or configuration value (the message names it and its source)."""


def option(
    default: Any,
    help: str,
    *,
    min: float | None = None,
    max: float | None = None,
    above: float | None = None,
    choices: Sequence[Any] | None = None,
) -> Any:
    """A configuration field: its default, a one-line help and bounds (inclusive ``min``/``max``,
    exclusive ``above``; for tuples each element is checked)."""
    meta = {"help": help, "min": min, "max": max, "above": above, "choices": tuple(choices) if choices else None}
    if isinstance(default, (list, dict, set)):
        raise TypeError("option defaults must be immutable (use a tuple)")
    if dataclasses.is_dataclass(default):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class OptionSpec:
    """One option of a configuration class (dotted ``name`` for nested fields)."""

    name: str
    kind: Any
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    above: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def flag(self) -> str:
        """The command-line spelling, e.g. ``--n-test`` or ``--synthetic.n-agents``."""
        return "--" + self.name.replace("_", "-")

    def type_name(self) -> str:
        """A short readable type: ``int``, ``floats``, ``{a|b}``, ``str?``..."""
        return _type_name(self.kind)


@dataclass(frozen=True)
class ExperimentConfig:
    """Base of every experiment configuration (the field defaults are the full preset)."""

    META_KEYS: ClassVar[tuple[str, ...]] = (
        "experiment", "preset", "variant", "seed", "runtime", "workers", "options", "simulated",
        "simulated_note", "handoffq_version",
    )

    @classmethod
    def quick(cls: type[C]) -> C:
        """The CI-sized preset (override in subclasses)."""
        return cls()

    @classmethod
    def variants(cls) -> dict[str, dict[str, Any]]:
        """Named option overrides applied on top of a preset (``--preset NAME``)."""
        return {}

    def validate(self) -> None:
        """Cross-field checks (override; raise :class:`ConfigError` naming the option)."""


def normalise_name(name: str) -> str:
    """``--n-test`` / ``n-test`` / ``n_test`` -> ``n_test`` (dots kept for nested fields)."""
    return name.lstrip("-").replace("-", "_")


def _type_name(kind: Any) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        return "{" + "|".join(str(a) for a in args) + "}"
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _type_name(inner[0]) + "?"
    if origin is tuple:
        return _type_name(args[0]) + "s"
    return getattr(kind, "__name__", str(kind))


def option_specs(cls: type, prefix: str = "") -> list[OptionSpec]:
    """Every option of ``cls`` (nested dataclasses flattened with dotted names)."""
    hints = typing.get_type_hints(cls)
    out: list[OptionSpec] = []
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        default: Any = f.default
        factory: Any = f.default_factory
        if default is dataclasses.MISSING and factory is not dataclasses.MISSING:
            default = factory()
        if dataclasses.is_dataclass(kind):
            out.extend(option_specs(kind, prefix + f.name + "."))  # type: ignore[arg-type]
            continue
        meta = f.metadata
        if "help" not in meta:
            raise TypeError(f"{cls.__name__}.{f.name} must be declared with option(...) (it needs a help text)")
        out.append(OptionSpec(prefix + f.name, kind, default, meta["help"], meta.get("min"), meta.get("max"),
                              meta.get("above"), meta.get("choices")))
    return out


# ------------------------------------------------------------------ value parsing
def _bool(raw: Any, where: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{where}: expected true or false, got {raw!r}")


def _int(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        raise ConfigError(f"{where}: expected an integer, got {raw!r}")
    if isinstance(raw, (int, float)):
        return int(raw)
    try:
        return int(str(raw).strip().replace("_", ""))
    except ValueError:
        raise ConfigError(f"{where}: expected an integer, got {raw!r}") from None


def _float(raw: Any, where: str) -> float:
    if isinstance(raw, bool):
        raise ConfigError(f"{where}: expected a number, got {raw!r}")
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {raw!r}") from None


def _str(raw: Any, where: str) -> str:
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        raise ConfigError(f"{where}: expected a string, got {raw!r}")
    return str(raw)


_SCALARS: dict[Any, Any] = {bool: _bool, int: _int, float: _float, str: _str}


def _scalar(kind: Any, raw: Any, where: str) -> Any:
    """``raw`` (a string from the command line, or a JSON value) as ``kind``."""
    if kind not in _SCALARS:
        raise TypeError(f"unsupported option type {kind!r}")
    return _SCALARS[kind](raw, where)


def parse_value(spec: OptionSpec, raw: Any, where: str) -> Any:
    """Convert and check one option value (``where`` names the option and its source)."""
    kind = spec.kind
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("none", "null", "")):
            return None
        inner = OptionSpec(spec.name, next(a for a in args if a is not type(None)), None, spec.help,
                           spec.min, spec.max, spec.above, spec.choices)
        return parse_value(inner, raw, where)
    if origin is Literal:
        choice = str(raw) if not isinstance(raw, (bool, int, float)) else raw
        if choice not in args:
            raise ConfigError(f"{where}: {raw!r} is not one of {', '.join(map(str, args))}")
        return choice
    if origin is tuple:
        items = raw if isinstance(raw, (list, tuple)) else [x for x in str(raw).split(",") if x.strip()]
        values = tuple(_scalar(args[0], x, where) for x in items)
        if not values:
            raise ConfigError(f"{where}: expected at least one value, got {raw!r}")
        for x in values:
            _check_bounds(spec, x, where)
        return values
    value = _scalar(kind, raw, where)
    _check_bounds(spec, value, where)
    return value


def _check_bounds(spec: OptionSpec, x: Any, where: str) -> None:
    if spec.choices is not None and x not in spec.choices:
        raise ConfigError(f"{where}: {x!r} is not one of {', '.join(map(str, spec.choices))}")
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return
    if spec.min is not None and x < spec.min:
        raise ConfigError(f"{where}: must be >= {spec.min}, got {x}")
    if spec.max is not None and x > spec.max:
        raise ConfigError(f"{where}: must be <= {spec.max}, got {x}")
    if spec.above is not None and x <= spec.above:
        raise ConfigError(f"{where}: must be > {spec.above}, got {x}")


# ------------------------------------------------------------------ building
def _replace(cfg: Any, dotted: str, value: Any) -> Any:
    head, _, rest = dotted.partition(".")
    if rest:
        return dataclasses.replace(cfg, **{head: _replace(getattr(cfg, head), rest, value)})
    return dataclasses.replace(cfg, **{head: value})


def _flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested JSON objects -> dotted keys (``{"synthetic": {"p": 0.3}}`` -> ``synthetic.p``)."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = prefix + normalise_name(str(k))
        if isinstance(v, Mapping):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def build_config(
    cls: type[C],
    preset: str = "full",
    variant: str | None = None,
    overrides: Sequence[tuple[str, Any, str]] = (),
) -> C:
    """The configuration of ``preset`` (``"full"`` or ``"quick"``), a named ``variant`` on top,
    then ``overrides`` given as ``(name, raw value, source)`` (later ones win), validated.

    Raises :class:`ConfigError` naming the option and its source for unknown options, bad
    types or values out of range, before anything runs.
    """
    if preset not in ("full", "quick"):
        raise ConfigError(f"unknown preset {preset!r} (expected full or quick)")
    cfg = cls.quick() if preset == "quick" else cls()
    specs = {s.name: s for s in option_specs(cls)}
    changes: list[tuple[str, Any, str]] = []
    if variant is not None:
        known = cls.variants()
        if variant not in known:
            names = ", ".join(sorted(known)) or "none"
            raise ConfigError(f"option --preset: unknown variant {variant!r} (known: {names})")
        changes += [(k, v, f"preset {variant}") for k, v in known[variant].items()]
    changes += list(overrides)
    for name, raw, source in changes:
        key = normalise_name(name)
        spec = specs.get(key)
        if spec is None:
            flag = "--" + key.replace("_", "-")
            raise ConfigError(f"{source}: unknown option {flag} (see --help for the options of this experiment)")
        cfg = _replace(cfg, key, parse_value(spec, raw, f"{source}: option {spec.flag}"))
    cfg.validate()
    return cfg


def overrides_from_mapping(raw: Mapping[str, Any], source: str) -> list[tuple[str, Any, str]]:
    """A JSON object of options as ``(name, value, source)`` overrides (nested objects allowed)."""
    return [(k, v, source) for k, v in _flatten(raw).items()]


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Every option of ``cfg`` as a flat dict with dotted names (JSON-ready values)."""
    out: dict[str, Any] = {}
    for spec in option_specs(type(cfg)):
        value: Any = cfg
        for part in spec.name.split("."):
            value = getattr(value, part)
        out[spec.name] = list(value) if isinstance(value, tuple) else value
    return out


def config_from_dict(cls: type[C], data: Mapping[str, Any], source: str = "config.json") -> C:
    """Rebuild a configuration from :func:`config_to_dict` output (meta keys are ignored)."""
    specs = {s.name for s in option_specs(cls)}
    flat = _flatten({k: v for k, v in data.items() if k not in cls.META_KEYS})
    return build_config(cls, "full", None, [(k, v, source) for k, v in flat.items() if k in specs])
