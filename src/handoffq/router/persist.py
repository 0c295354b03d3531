"""Saving and loading a router: one file per agent, written atomically, plus a manifest.

Layout of a router directory::

    router.json              format, handoffq version, router options, agent -> file
    agent-<name>.npz         one agent's node: successors, learner settings, vocabulary,
                             Q table / MLP weights, visit counts, generator state

Each file is written to a temporary file in the same directory, flushed and fsynced, then
renamed over the old one (``os.replace``), so a crash mid-save leaves the previous file whole.
Files hold JSON and numeric arrays only (no pickle): loading never runs code. Every file is
read and checked before anything is built, and errors name the file and the field.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np

from handoffq.io import atomic_write
from handoffq.learn.exploration import Exploration
from handoffq.router.codec import CodecError, from_npz, to_npz_dict
from handoffq.router.errors import RouterError
from handoffq.router.node import NODE_FORMAT, AgentNode

if TYPE_CHECKING:
    from handoffq.router.router import Router

__all__ = [
    "MANIFEST",
    "ROUTER_FORMAT",
    "agent_file",
    "atomic_write",
    "load_router",
    "read_agent",
    "read_manifest",
    "save_router",
]

MANIFEST = "router.json"
ROUTER_FORMAT = 1


def agent_file(name: str) -> str:
    """The file name of agent ``name``'s state (any name is made safe for a file system)."""
    return f"agent-{quote(name, safe='')}.npz"


def _prepare_dir(directory: str | os.PathLike[str]) -> Path:
    d = Path(directory)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise RouterError(f"cannot save a router to {d}: it is not a directory") from None
    except PermissionError:
        raise RouterError(f"cannot save a router to {d}: permission denied") from None
    return d


def save_router(router: Router, directory: str | os.PathLike[str], only: Iterable[str] | None = None) -> list[Path]:
    """Write each agent's file (``only``: just these, plus any not yet on disk) and the manifest."""
    from handoffq import __version__

    d = _prepare_dir(directory)
    names = set(router.agents) if only is None else set(only) & set(router.agents)
    names |= {n for n in router.agents if not (d / agent_file(n)).exists()}
    paths = []
    for name in sorted(names):
        arrays = to_npz_dict(router.agents[name].state_dict())
        path = d / agent_file(name)
        atomic_write(path, lambda fh, a=arrays: np.savez(fh, **a))  # type: ignore[misc]
        paths.append(path)
    manifest = {
        "format": ROUTER_FORMAT,
        "handoffq_version": __version__,
        "router": router.settings(),
        "agents": {n: agent_file(n) for n in router.agents},
    }
    text = json.dumps(manifest, indent=2).encode()

    def write_manifest(fh: IO[bytes]) -> None:
        fh.write(text)

    atomic_write(d / MANIFEST, write_manifest)
    return paths


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked manifest of a saved router."""
    d = Path(directory)
    if not d.is_dir():
        raise RouterError(f"no saved router at {d}: not a directory")
    path = d / MANIFEST
    if not path.exists():
        raise RouterError(f"no saved router at {d}: {MANIFEST} is missing")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise RouterError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != ROUTER_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise RouterError(f"{path}: router format {found!r}, this handoffq reads format {ROUTER_FORMAT}")
    for field in ("router", "agents"):
        if not isinstance(manifest.get(field), dict):
            raise RouterError(f"{path}: field {field!r} is missing or not an object")
    return manifest


def read_agent(directory: str | os.PathLike[str], name: str, file: str) -> dict[str, Any]:
    """The checked state of agent ``name`` from its file."""
    path = Path(directory) / file
    if Path(file).name != file:
        raise RouterError(f"{Path(directory) / MANIFEST}: agent {name!r} file {file!r} is not a plain file name")
    if not path.exists():
        raise RouterError(f"agent {name!r}: its file {path} is missing")
    try:
        with np.load(path, allow_pickle=False) as npz:
            state = from_npz(npz, str(path))
    except CodecError as exc:
        raise RouterError(str(exc)) from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise RouterError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != NODE_FORMAT:
        raise RouterError(f"{path}: not a handoffq agent file (format {NODE_FORMAT})")
    if state.get("name") != name:
        raise RouterError(f"{path}: holds agent {state.get('name')!r}, the manifest says {name!r}")
    return state


def load_router(
    cls: type[Router], directory: str | os.PathLike[str], observe: Mapping[str, Callable[[Any], Any]],
    overrides: Mapping[str, Any],
) -> Router:
    """Rebuild a router saved by :func:`save_router` (every file is checked before any is used)."""
    manifest = read_manifest(directory)
    states = {name: read_agent(directory, name, file) for name, file in manifest["agents"].items()}
    unknown = set(observe) - set(states)
    if unknown:
        raise RouterError(f"observe names agents that are not in {directory}: {sorted(unknown)}")
    settings = dict(manifest["router"])
    settings["exploration"] = Exploration(**settings["exploration"])
    if "epsilon" in overrides and "exploration" not in overrides:
        del settings["exploration"]
    settings.update(overrides)
    try:
        router = cls(**settings)
    except TypeError as exc:
        raise RouterError(f"cannot rebuild the router from {directory}: {exc}") from None
    for name, state in states.items():
        node = AgentNode.from_state(state, observe.get(name))
        if "exploration" in overrides or "epsilon" in overrides:
            node.exploration = router.exploration
            if node.agent is not None:
                node.agent.exploration = router.exploration
        router.add_node(node)
    return router
