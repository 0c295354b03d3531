"""The AIS extractor: from the agents' structured outputs to the 4-bit observation.

The interface state is the whole conversation. What the routing sees is four bits:

* ``given``    - an answer has been stated (by the thinker or the editor);
* ``modified`` - the current answer is no longer the thinker's original proposal: it was
  written by the editor, or revised in reply to an "incorrect" verdict, or restates such an
  answer. We read the paper's "answer modified" as this *event*: it does not compare
  letters (so it needs no notion of "which wrong option" and means the same on a real LLM
  and on the simulator), and it keeps an answer the editor wrote apart from one the thinker
  proposed, which the routing needs (otherwise the checker could not tell Reflection's
  state from Combine-E's, and neither could IC-Q);
* ``checked``  - the checker has judged the *current* answer. Any new answer statement
  clears it, except the thinker restating an answer judged correct (an endorsement);
* ``correct``  - that judgement was "correct" (0 when unchecked).

The extractor parses the roles' structured lines (``ANSWER: X`` for the thinker,
``VERDICT: CORRECT|INCORRECT`` for the checker, ``FINAL ANSWER: X`` for the editor, with
tolerant fall-backs) and never raises on model output: an output it cannot read leaves the
answer state unchanged (a malformed editor output also clears the editor's final answer,
so the episode scores 0) and is counted in :class:`ExtractStats`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from handoffq.envs.llm_math.roles import CHECKER, EDITOR, ROLE_NAMES, THINKER

__all__ = [
    "OBS_NVEC",
    "AnswerState",
    "ExtractStats",
    "apply_output",
    "bits",
    "bits_index",
    "parse_answer",
    "parse_verdict",
]

OBS_NVEC: tuple[int, ...] = (2, 2, 2, 2)
"""Observation sizes: four binary dimensions."""

_ANSWER_RES = (
    re.compile(
        r"final\s+answer\s*(?:is)?\s*[:\-=]?\s*\**\s*\(?\s*([A-Ea-e])\s*\)?(?![A-Za-z])", re.I
    ),
    re.compile(r"\banswer\s*(?:is)?\s*[:\-=]?\s*\**\s*\(?\s*([A-Ea-e])\s*\)?(?![A-Za-z])", re.I),
)
_VERDICT_RE = re.compile(r"verdict\s*[:\-=]?\s*\**\s*(incorrect|correct|wrong|right)", re.I)


@dataclass(frozen=True)
class AnswerState:
    """The answer-related part of the conversation (what the AIS bits are computed from).

    ``current``: the latest stated answer letter; ``n_answers``: answer statements so far;
    ``verdict``: the checker's judgement of ``current`` (None: not checked);
    ``final``: the editor's latest answer (what the commissioner concludes on);
    ``modified``: see the module docstring;
    ``author``: role id of whoever stated ``current``; ``revisions[r]``: answers role ``r``
    stated in reply to an "incorrect" verdict.
    """

    current: str | None = None
    n_answers: int = 0
    verdict: bool | None = None
    final: str | None = None
    author: int | None = None
    modified: bool = False
    revisions: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class ExtractStats:
    """Counts of outputs the extractor could not read, per role name."""

    malformed: dict[str, int] = field(default_factory=dict)
    outputs: int = 0

    def count(self, role: int) -> None:
        """Record one malformed output of ``role``."""
        name = ROLE_NAMES[role]
        self.malformed[name] = self.malformed.get(name, 0) + 1

    @property
    def total_malformed(self) -> int:
        """Malformed outputs over all roles."""
        return sum(self.malformed.values())


def parse_answer(text: str, letters: str) -> str | None:
    """The last answer letter in ``text`` among ``letters`` (e.g. ``"ABCD"``), or None."""
    if not isinstance(text, str):
        return None
    for rx in _ANSWER_RES:
        hits = [m.group(1).upper() for m in rx.finditer(text)]
        hits = [h for h in hits if h in letters]
        if hits:
            return hits[-1]
    return None


def parse_verdict(text: str) -> bool | None:
    """The checker's last verdict in ``text``: True (correct), False (incorrect), or None."""
    if not isinstance(text, str):
        return None
    hits = [m.group(1).lower() for m in _VERDICT_RE.finditer(text)]
    if not hits:
        return None
    return hits[-1] in ("correct", "right")


def apply_output(
    state: AnswerState, role: int, text: str, letters: str, stats: ExtractStats | None = None
) -> AnswerState:
    """The answer state after ``role`` produced ``text`` (never raises on bad text)."""
    if stats is not None:
        stats.outputs += 1
    if role in (THINKER, EDITOR):
        letter = parse_answer(text, letters)
        if letter is None:
            if stats is not None:
                stats.count(role)
            return replace(state, final=None) if role == EDITOR else state
        # the thinker restating an answer judged correct endorses it: the verdict stands
        endorse = role == THINKER and state.verdict is True and letter == state.current
        revisions = list(state.revisions)
        if state.verdict is False:
            revisions[role] += 1
        return AnswerState(
            current=letter,
            n_answers=state.n_answers + 1,
            verdict=True if endorse else None,
            final=letter if role == EDITOR else state.final,
            author=role,
            modified=role == EDITOR or state.verdict is False or state.modified,
            revisions=(revisions[0], revisions[1], revisions[2], revisions[3]),
        )
    if role == CHECKER:
        if state.current is None:
            return state
        verdict = parse_verdict(text)
        if verdict is None:
            if stats is not None:
                stats.count(role)
            return state
        return replace(state, verdict=verdict)
    return state


def bits(state: AnswerState) -> tuple[int, int, int, int]:
    """``(given, modified, checked, correct)`` of an answer state."""
    given = int(state.current is not None)
    modified = int(state.modified)
    checked = int(state.verdict is not None)
    correct = int(state.verdict is True)
    return (given, modified, checked, correct)


def bits_index(b: tuple[int, ...]) -> int:
    """Flat index ``8 g + 4 m + 2 c + j`` of a bit tuple (0..15)."""
    g, m, c, j = (int(x) for x in b)
    return 8 * g + 4 * m + 2 * c + j
