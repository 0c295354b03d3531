"""A safe file format for learner state: JSON for the structure, ``.npz`` arrays for the numbers.

:func:`pack` turns nested state (dicts, lists, tuples, scalars, numpy arrays, torch tensors)
into a JSON tree plus named arrays; :func:`unpack` reverses it. Nothing is pickled, so loading
a file never runs code; tuples, non-string dict keys and tensors come back as they went in.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

__all__ = ["META_KEY", "CodecError", "from_npz", "pack", "to_npz_dict", "unpack"]

META_KEY = "__meta__"


class CodecError(ValueError):
    """State that cannot be stored, or a file whose structure is broken (names the path)."""


def pack(obj: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """``obj`` as ``(json_tree, arrays)``."""
    arrays: dict[str, np.ndarray] = {}
    return _pack(obj, arrays, "$"), arrays


def _pack(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise CodecError(f"{path}: object arrays cannot be stored")
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"__array__": name}
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        name = f"a{len(arrays)}"
        arrays[name] = obj.detach().cpu().numpy()
        return {"__tensor__": name}
    if isinstance(obj, tuple):
        return {"__tuple__": [_pack(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_pack(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _pack(v, arrays, f"{path}.{k}") for k, v in obj.items()}
        return {"__items__": [[_pack(k, arrays, path), _pack(v, arrays, f"{path}[{k!r}]")] for k, v in obj.items()]}
    raise CodecError(f"{path}: a {type(obj).__name__} cannot be stored")


def unpack(tree: Any, arrays: Any) -> Any:
    """Inverse of :func:`pack` (``arrays``: a mapping of names to arrays, e.g. an open npz)."""
    if isinstance(tree, list):
        return [unpack(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if "__array__" in tree:
        return np.array(arrays[tree["__array__"]])
    if "__tensor__" in tree:
        import torch

        return torch.as_tensor(np.array(arrays[tree["__tensor__"]]))
    if "__tuple__" in tree:
        return tuple(unpack(v, arrays) for v in tree["__tuple__"])
    if "__items__" in tree:
        return {_hashable(unpack(k, arrays)): unpack(v, arrays) for k, v in tree["__items__"]}
    return {k: unpack(v, arrays) for k, v in tree.items()}


def _hashable(key: Any) -> Any:
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def to_npz_dict(obj: Any) -> dict[str, np.ndarray]:
    """``obj`` packed as the arrays of one ``.npz`` file (the JSON tree under :data:`META_KEY`)."""
    tree, arrays = pack(obj)
    meta = json.dumps(tree, allow_nan=True).encode()
    return {META_KEY: np.frombuffer(meta, dtype=np.uint8), **arrays}


def from_npz(npz: Any, where: str) -> Any:
    """The object stored by :func:`to_npz_dict` in an open npz (``where`` names it in errors)."""
    if META_KEY not in npz.files:
        raise CodecError(f"{where}: no {META_KEY} entry (not a handoffq router file)")
    try:
        tree = json.loads(bytes(npz[META_KEY]).decode())
        return unpack(tree, npz)
    except (ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"{where}: broken structure ({type(exc).__name__}: {exc})") from None
