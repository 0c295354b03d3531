"""The four role agents of the multi-LLM math workflow and who may hand off to whom.

Agents (ids are fixed):

* ``COMMISSIONER`` (0) starts the discussion (posts the question and options) and concludes it
  (announces the editor's final answer). Its turns are templated text: no LLM call.
* ``THINKER`` (1) writes a step-by-step rationale ending in an answer.
* ``CHECKER`` (2) judges the latest answer and ends with a verdict.
* ``EDITOR`` (3) writes the final answer.

Interface rules (the admissible successors, decided by the conversation, not learned):

* nobody hands off to itself;
* the checker is called only on an existing answer (so the commissioner, who acts only at
  the start, can call the thinker or the editor);
* only the editor hands to the commissioner: the editor's turn then ends with the
  commissioner concluding on the editor's final answer (the episode ends).

So the successor sets are: commissioner {thinker, editor}, thinker {checker, editor},
checker {thinker, editor}, editor {thinker, checker, commissioner}.
"""

from __future__ import annotations

__all__ = [
    "CANDIDATES",
    "CHECKER",
    "COMMISSIONER",
    "EDITOR",
    "ROLE_NAMES",
    "THINKER",
    "role_of",
]

COMMISSIONER, THINKER, CHECKER, EDITOR = 0, 1, 2, 3
ROLE_NAMES: tuple[str, ...] = ("commissioner", "thinker", "checker", "editor")

CANDIDATES: tuple[tuple[int, ...], ...] = (
    (THINKER, EDITOR),
    (CHECKER, EDITOR),
    (THINKER, EDITOR),
    (THINKER, CHECKER, COMMISSIONER),
)
"""Every successor each agent may pick (its action set); all are always admissible."""


def role_of(name: str) -> int:
    """Agent id of a role name (``ValueError`` naming the known roles otherwise)."""
    try:
        return ROLE_NAMES.index(name)
    except ValueError:
        raise ValueError(f"unknown role {name!r} (known: {', '.join(ROLE_NAMES)})") from None
