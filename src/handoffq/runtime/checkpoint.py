"""Per-agent checkpoints: every agent saves and loads its *own* state in its *own* file.

There is never a joint file of all agents: agent ``i`` writes ``agent_{i}.ckpt`` under a
checkpoint directory, from its own :meth:`state_dict` (estimators, counters, generator).
A checkpoint is written atomically (:func:`handoffq.io.atomic_write`: a temporary file in the
same directory, flushed and fsynced, then ``os.replace``), so a crash mid-write leaves the
previous checkpoint intact.

The same functions serve the in-process runner (:func:`save_team` / :func:`load_team`, called
by the driver for each agent in turn) and the Ray runner, where each agent actor calls
:func:`save_agent` / :func:`load_agent` for itself.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from handoffq.core.errors import HandoffqError
from handoffq.io import atomic_write, remove_stale_temps

__all__ = [
    "FORMAT_VERSION",
    "CheckpointError",
    "agent_checkpoint_path",
    "agent_shape",
    "load_agent",
    "load_team",
    "read_agent_state",
    "save_agent",
    "save_team",
]

FORMAT_VERSION = 2


class CheckpointError(HandoffqError, ValueError):
    """A checkpoint file is unreadable, of another format, or of another agent."""


def agent_checkpoint_path(directory: str | os.PathLike[str], agent_id: int) -> Path:
    """The file that holds agent ``agent_id``'s own checkpoint under ``directory``."""
    if int(agent_id) < 0:
        raise CheckpointError(f"agent id must be >= 0, got {agent_id}")
    return Path(directory) / f"agent_{int(agent_id)}.ckpt"


def save_agent(
    agent: Any, path: str | os.PathLike[str], meta: dict[str, Any] | None = None
) -> Path:
    """Atomically write ``agent.state_dict()`` (plus ``meta``) to ``path``; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "format": FORMAT_VERSION,
        "agent_id": int(agent.agent_id),
        "shape": agent_shape(agent),
        "meta": dict(meta or {}),
        "state": agent.state_dict(),
    }
    atomic_write(path, lambda fh: pickle.dump(record, fh, protocol=pickle.HIGHEST_PROTOCOL))
    return path


def read_agent_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The record stored at ``path``: ``{"format", "agent_id", "meta", "state"}``."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            record = pickle.load(fh)
    except FileNotFoundError:
        raise
    except Exception as exc:  # corrupt or foreign file
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} is not a handoffq agent checkpoint (format {FORMAT_VERSION})"
        )
    return record


def agent_shape(agent: Any) -> dict[str, Any]:
    """What a checkpoint must match to load into ``agent``: class, observation sizes, candidate
    successors, local actions and estimator kinds."""
    def kind(est: Any) -> str | None:
        return None if est is None else type(est).__name__

    return {
        "class": type(agent).__name__,
        "obs_nvec": list(getattr(agent, "obs_nvec", ())),
        "candidates": list(getattr(agent, "candidates", ())),
        "n_local": int(getattr(agent, "n_local", 0)),
        "estimator": kind(getattr(agent, "q", None)),
        "local_estimator": kind(getattr(agent, "qa", None)),
    }


def check_shape(agent: Any, record: dict[str, Any], path: Path) -> None:
    """Raise :class:`CheckpointError` naming the first field where ``record`` does not fit ``agent``."""
    if record["agent_id"] != int(agent.agent_id):
        raise CheckpointError(f"checkpoint {path} is agent {record['agent_id']}'s, not agent {agent.agent_id}'s")
    want, got = agent_shape(agent), record.get("shape", {})
    for field, value in want.items():
        if got.get(field) != value:
            raise CheckpointError(
                f"checkpoint {path} does not fit agent {agent.agent_id}: {field} is {got.get(field)!r} in the file, "
                f"{value!r} in the agent"
            )


def load_agent(agent: Any, path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Load ``agent``'s own checkpoint from ``path`` if it exists; return its ``meta`` (or None).

    Raises :class:`CheckpointError` if the file belongs to another agent. Temporary files of a
    save cut short by a kill are removed (the agent owns its checkpoint: nothing else writes it).
    """
    path = Path(path)
    remove_stale_temps(path)
    if not path.exists():
        return None
    record = read_agent_state(path)
    check_shape(agent, record, path)
    agent.load_state_dict(record["state"])
    return record["meta"]


def save_team(
    agents: Sequence[Any], directory: str | os.PathLike[str], meta: dict[str, Any] | None = None
) -> list[Path]:
    """Each agent writes its own file under ``directory`` (one file per agent)."""
    return [
        save_agent(agent, agent_checkpoint_path(directory, agent.agent_id), meta)
        for agent in agents
    ]


def load_team(
    agents: Sequence[Any], directory: str | os.PathLike[str], missing_ok: bool = False
) -> list[bool]:
    """Load each agent's own file from ``directory``; every file is read and checked (agent id,
    shape) before any agent changes, so a mismatch loads nothing.

    Returns, per agent, whether a file was loaded. A missing directory, or a missing file when
    ``missing_ok`` is False, raises :class:`CheckpointError`.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"checkpoint directory {directory} does not exist")
    records: list[dict[str, Any] | None] = []
    for agent in agents:
        path = agent_checkpoint_path(directory, agent.agent_id)
        if not path.exists():
            if not missing_ok:
                raise CheckpointError(f"{path} is missing (agent {agent.agent_id} has no checkpoint there)")
            records.append(None)
            continue
        found = read_agent_state(path)
        check_shape(agent, found, path)
        records.append(found)
    for agent, record in zip(agents, records, strict=True):
        if record is not None:
            agent.load_state_dict(record["state"])
    return [r is not None for r in records]
