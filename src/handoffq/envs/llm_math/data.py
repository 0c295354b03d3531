"""Multiple-choice questions: loaders for user-supplied MMLU / MathQA files and a generator.

Nothing here downloads anything. Formats:

* **MMLU** (original per-subject CSV): no header, six fields per row
  ``question, A, B, C, D, answer`` with ``answer`` one of ``A``-``D``.
* **MathQA** (published JSON): a list of objects with ``Problem``, ``Rationale``,
  ``options`` (``"a ) 38 , b ) 27.675 , c ) 30 , d ) none , e ) 35.25"``) and ``correct``
  (``"a"``-``"e"``); other fields are ignored.
* **Arithmetic** (:func:`generate_arith`): built-in questions with difficulty levels 1-3.

A malformed row or entry raises :class:`DataError` naming the file, the line and the field
(``question``, ``A``-``D``, ``answer`` for MMLU; ``Problem``, ``options``, ``correct`` for
MathQA). The simulated backend uses the loaded questions too: its hidden variables are keyed
by the question id (``<file stem>:<line>`` / ``<file stem>:<index>``) and it answers against
the gold option from the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handoffq.core.errors import HandoffqError

__all__ = [
    "DataError",
    "Question",
    "generate_arith",
    "load_dataset",
    "load_mathqa_json",
    "load_mmlu_csv",
    "split_questions",
]

LETTERS = "ABCDE"


class DataError(HandoffqError, ValueError):
    """A data file is missing or malformed (the message names file and line)."""


@dataclass(frozen=True)
class Question:
    """One multiple-choice question: ``options`` in letter order, ``gold`` a letter."""

    qid: str
    text: str
    options: tuple[str, ...]
    gold: str

    @property
    def letters(self) -> str:
        """The option letters of this question (``"ABCD"`` or ``"ABCDE"``)."""
        return LETTERS[: len(self.options)]


def _read(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not UTF-8 text ({exc.reason})") from None


_MMLU_FIELDS = ("question", "A", "B", "C", "D", "answer")


def load_mmlu_csv(path: str | Path) -> list[Question]:
    """Questions from one MMLU subject CSV (no header; see the module docstring)."""
    path = Path(path)
    text = _read(path)
    out = []
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        lineno = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise DataError(f"{path}, line {lineno}, field question: malformed CSV ({exc})") from None
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 6:
            field = _MMLU_FIELDS[min(len(row), 5)]
            raise DataError(
                f"{path}, line {lineno}, field {field}: expected 6 fields "
                f"(question, A, B, C, D, answer), got {len(row)}"
            )
        for name, cell in zip(_MMLU_FIELDS[:5], row[:5], strict=True):
            if not cell.strip():
                raise DataError(f"{path}, line {lineno}, field {name}: empty")
        answer = row[5].strip().upper()
        if len(answer) != 1 or answer not in "ABCD":
            raise DataError(
                f"{path}, line {lineno}, field answer: must be one of A-D, got {row[5]!r}"
            )
        out.append(
            Question(
                f"{path.stem}:{lineno}", row[0].strip(), tuple(c.strip() for c in row[1:5]), answer
            )
        )
    if not out:
        raise DataError(f"{path}: no questions")
    return out


class _FieldError(ValueError):
    def __init__(self, field: str, msg: str) -> None:
        super().__init__(msg)
        self.field, self.msg = field, msg


_OPT_RE = re.compile(r"(?:^|,)\s*([a-e])\s*\)\s*")


def parse_mathqa_options(options: str) -> tuple[str, ...]:
    """``"a ) 38 , b ) 27.675 , ..."`` -> ``("38", "27.675", ...)`` (ValueError if malformed)."""
    parts = _OPT_RE.split(options.strip())
    letters, texts = parts[1::2], parts[2::2]
    if parts[0].strip() or len(letters) < 2 or letters != list("abcde"[: len(letters)]):
        raise ValueError(f"cannot read options {options!r}")
    return tuple(t.strip().rstrip(",").strip() for t in texts)


def _mathqa_entry(entry: object) -> tuple[str, tuple[str, ...], str]:
    """``(problem, options, gold letter)`` of one MathQA entry (:class:`_FieldError` naming the
    field; ``ValueError`` when the entry is not an object)."""
    if not isinstance(entry, dict):
        raise ValueError("entry is not an object")
    for key in ("Problem", "options", "correct"):
        if key not in entry:
            raise _FieldError(key, "missing")
    if not str(entry["Problem"]).strip():
        raise _FieldError("Problem", "empty")
    try:
        opts = parse_mathqa_options(str(entry["options"]))
    except ValueError as exc:
        raise _FieldError("options", str(exc)) from None
    gold = str(entry["correct"]).strip().lower()
    if len(gold) != 1 or gold not in "abcde"[: len(opts)]:
        raise _FieldError("correct", f"must be a letter among the options, got {entry['correct']!r}")
    return str(entry["Problem"]).strip(), opts, gold.upper()


def load_mathqa_json(path: str | Path) -> list[Question]:
    """Questions from a MathQA JSON file (a list of objects; see the module docstring)."""
    path = Path(path)
    text = _read(path)
    dec = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if text[pos:pos + 1] != "[":
        line = text.count("\n", 0, pos) + 1
        raise DataError(f"{path}, line {line}, field (file): expected a JSON list of MathQA entries")
    pos += 1
    out: list[Question] = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            raise DataError(
                f"{path}, line {text.count(chr(10), 0, pos) + 1}, field (file): unterminated list"
            )
        if text[pos] == "]":
            break
        line = text.count("\n", 0, pos) + 1
        try:
            entry, pos = dec.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}, line {exc.lineno}, field (entry): invalid JSON ({exc.msg})") from None
        try:
            problem, opts, gold = _mathqa_entry(entry)
        except _FieldError as exc:
            raise DataError(f"{path}, line {line}, field {exc.field}: {exc.msg}") from None
        except ValueError as exc:
            raise DataError(f"{path}, line {line}, field (entry): {exc}") from None
        out.append(Question(f"{path.stem}:{len(out)}", problem, opts, gold))
    if not out:
        raise DataError(f"{path}: no questions")
    return out


def generate_arith(
    n: int, seed: int = 0, level: int | None = None, n_options: int = 4
) -> list[Question]:
    """``n`` arithmetic multiple-choice questions (difficulty ``level`` 1-3; None: mixed).

    Level 1: two-digit sums; level 2: products of a two-digit and a one-digit number plus a
    term; level 3: three-step expressions with three-digit numbers. Distractors are near
    misses (off-by-small, digit slips), all distinct.
    """
    if not 2 <= n_options <= 5:
        raise DataError(f"n_options must be 2..5, got {n_options}")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        lv = int(level) if level is not None else int(rng.integers(1, 4))
        if lv == 1:
            a, b = (int(x) for x in rng.integers(10, 100, size=2))
            expr, value = f"{a} + {b}", a + b
        elif lv == 2:
            a, b, c = (
                int(rng.integers(10, 100)),
                int(rng.integers(2, 10)),
                int(rng.integers(1, 100)),
            )
            expr, value = f"{a} * {b} + {c}", a * b + c
        else:
            a, b, c = (int(x) for x in rng.integers(100, 1000, size=3))
            d = int(rng.integers(2, 10))
            expr, value = f"({a} + {b}) * {d} - {c}", (a + b) * d - c
        wrong: list[int] = []
        while len(wrong) < n_options - 1:
            delta = int(rng.choice([-10, -2, -1, 1, 2, 10, 9, -9, 100, -100]))
            cand = value + delta
            if cand != value and cand not in wrong:
                wrong.append(cand)
        opts = [*wrong, value]
        order = rng.permutation(n_options)
        options = tuple(str(opts[j]) for j in order)
        gold = LETTERS[int(np.flatnonzero(order == n_options - 1)[0])]
        out.append(Question(f"arith-l{lv}-{seed}-{i}", f"What is {expr}?", options, gold))
    return out


def split_questions(
    questions: list[Question], test_fraction: float, seed: int = 0
) -> tuple[list[Question], list[Question]]:
    """A seeded train/test split (both non-empty when there are at least two questions)."""
    if not 0.0 < test_fraction < 1.0:
        raise DataError(f"test fraction must be in (0, 1), got {test_fraction}")
    idx = np.random.default_rng(seed).permutation(len(questions))
    n_test = min(max(1, round(test_fraction * len(questions))), max(len(questions) - 1, 1))
    test = [questions[i] for i in idx[:n_test]]
    train = [questions[i] for i in idx[n_test:]] or test
    return train, test


def load_dataset(kind: str, path: str | Path | None) -> list[Question]:
    """Questions of ``kind`` (``mathqa``, ``mmlu-hs``, ``mmlu-elem``) from ``path``.

    ``path`` may be a file or, for MMLU, a directory of CSVs (all are loaded, sorted).
    """
    if path is None:
        raise DataError(f"dataset {kind!r} needs --data PATH (nothing is downloaded)")
    p = Path(path)
    if kind == "mathqa":
        return load_mathqa_json(p)
    if kind in ("mmlu-hs", "mmlu-elem"):
        if p.is_dir():
            subject = "high_school_mathematics" if kind == "mmlu-hs" else "elementary_mathematics"
            files = sorted(f for f in p.glob("*.csv") if subject in f.name) or sorted(p.glob("*.csv"))
            if not files:
                raise DataError(f"{p}: no .csv files")
            return [q for f in files for q in load_mmlu_csv(f)]
        return load_mmlu_csv(p)
    raise DataError(f"unknown dataset {kind!r}")
