"""The predefined workflows as fixed successor policies on (agent, 4 AIS bits).

Bits are ``(given, modified, checked, correct)`` (:mod:`handoffq.envs.llm_math.ais`). A
workflow is a total policy table ``table[agent, obs_index] -> successor``: the pairs below,
and for every other pair a default (commissioner -> thinker, thinker -> editor,
checker -> editor, editor -> commissioner), so that every table ends every episode.

All five are functions of the bits and the agent identity; nothing extra is needed because
each revisit of an agent happens at a different observation:

* **Direct**   C(0000)->E, E(0000)->C. The editor answers at once.
* **CoT**      C->T, T(0000)->E, E(1000)->C. The editor copies the thinker's answer.
* **Reflect**  C->E, E(0000)->K, K(1100)->E, E(111x)->C. The editor answers (its answer is
  "modified" by definition), the checker judges, the editor revises and concludes.
* **Comb-E**   C->T, T(0000)->K, K(1000)->E, E(101x)->C. The editor sees the thinker's
  rationale and the checker's verdict.
* **Comb-T**   C->T, T(0000)->K, K(1000)->T, T(101x)->E, E(1011 | 11xx)->C. The thinker
  revises after the verdict (an answer judged correct is endorsed and keeps its verdict:
  1011; one judged incorrect is revised: 1100, unchecked); the editor then writes the final
  answer from the thinker's
  last word, i.e. it gets the checker's feedback only through the thinker.

(``101x`` = given, not modified, checked, either verdict; ``111x`` likewise modified.)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from handoffq.envs.llm_math.ais import bits_index
from handoffq.envs.llm_math.roles import CHECKER, COMMISSIONER, EDITOR, ROLE_NAMES, THINKER

__all__ = [
    "DEFAULT_SUCCESSOR",
    "WORKFLOWS",
    "WORKFLOW_LABELS",
    "describe_table",
    "equivalent_workflows",
    "workflow_table",
]

C, T, K, E = COMMISSIONER, THINKER, CHECKER, EDITOR
DEFAULT_SUCCESSOR: tuple[int, ...] = (T, E, E, C)

_START = (0, 0, 0, 0)
_G = (1, 0, 0, 0)
_CHECKED = ((1, 0, 1, 0), (1, 0, 1, 1))
_MOD_CHECKED = ((1, 1, 1, 0), (1, 1, 1, 1))

WORKFLOWS: dict[str, dict[tuple[int, tuple[int, ...]], int]] = {
    "direct": {(C, _START): E, (E, _START): C},
    "cot": {(C, _START): T, (T, _START): E, (E, _G): C},
    "reflect": {
        (C, _START): E,
        (E, _START): K,
        (K, (1, 1, 0, 0)): E,
        **{(E, b): C for b in _MOD_CHECKED},
    },
    "comb_e": {(C, _START): T, (T, _START): K, (K, _G): E, **{(E, b): C for b in _CHECKED}},
    "comb_t": {
        (C, _START): T,
        (T, _START): K,
        (K, _G): T,
        **{(T, b): E for b in _CHECKED},
        **{(E, b): C for b in ((1, 0, 1, 1), (1, 1, 0, 0), (1, 1, 1, 0), (1, 1, 1, 1))},
    },
}
"""Each workflow's defining (agent, bits) -> successor pairs."""

WORKFLOW_LABELS: dict[str, str] = {
    "direct": "Direct",
    "cot": "CoT",
    "reflect": "Reflect",
    "comb_e": "Comb-E",
    "comb_t": "Comb-T",
}


def workflow_table(name: str, interface: str = "bits4", cap: int = 8) -> np.ndarray:
    """The total policy table of workflow ``name``: ``(4, 16)``, or ``(4, 16 cap)`` under the
    ``budget`` interface (a workflow ignores the budget: the same successor at every budget).
    """
    if name not in WORKFLOWS:
        raise ValueError(f"unknown workflow {name!r} (known: {', '.join(WORKFLOWS)})")
    table = np.tile(np.asarray(DEFAULT_SUCCESSOR, dtype=np.int64)[:, None], (1, 16))
    for (agent, b), succ in WORKFLOWS[name].items():
        table[agent, bits_index(b)] = succ
    if interface == "budget":
        return np.repeat(table, cap, axis=1)
    return table


def equivalent_workflows(
    table: np.ndarray, visited: Iterable[tuple[int, int]], interface: str = "bits4", cap: int = 8
) -> list[str]:
    """Workflows whose table agrees with ``table`` on every visited ``(agent, obs_index)``.

    ``visited`` should be the pairs the policy ``table`` reaches (then agreement there means
    the two produce the same conversations). A workflow must also have the same reachable
    set, which agreement on the visited pairs guarantees by induction along each episode.
    """
    pairs = list(visited)
    out = []
    for name in WORKFLOWS:
        wt = workflow_table(name, interface, cap)
        if all(wt[a, o] == table[a, o] for a, o in pairs):
            out.append(name)
    return out


def describe_table(
    table: np.ndarray, visited: Iterable[tuple[int, int]], interface: str = "bits4", cap: int = 8
) -> list[str]:
    """Readable ``agent@bits[/left] -> successor`` lines for the visited pairs."""
    lines = []
    for a, o in sorted(set(visited)):
        bi, left = (o, None) if interface == "bits4" else divmod(o, cap)
        b = "".join(str((bi >> s) & 1) for s in (3, 2, 1, 0))
        if left is not None:
            b += f"/left{left}"
        lines.append(f"{ROLE_NAMES[a]}@{b} -> {ROLE_NAMES[int(table[a, o])]}")
    return lines
