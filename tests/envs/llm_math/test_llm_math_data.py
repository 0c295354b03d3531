"""Loaders (MMLU CSV, MathQA JSON) and the arithmetic generator."""

from pathlib import Path

import pytest

from handoffq.envs.llm_math.data import (
    DataError,
    generate_arith,
    load_dataset,
    load_mathqa_json,
    load_mmlu_csv,
    parse_mathqa_options,
    split_questions,
)

DATA = Path(__file__).parent / "data"


def test_mmlu_csv() -> None:
    qs = load_mmlu_csv(DATA / "elementary_mathematics_test.csv")
    assert len(qs) == 3
    assert qs[1].text == "Which number is even, 3 or 4?" and qs[1].options[1] == "4"
    assert [q.gold for q in qs] == ["C", "B", "C"] and qs[0].letters == "ABCD"


def test_mmlu_malformed_names_file_and_line() -> None:
    with pytest.raises(DataError, match=r"bad_mmlu\.csv, line 2: expected 6 fields"):
        load_mmlu_csv(DATA / "bad_mmlu.csv")


def test_mathqa_json() -> None:
    qs = load_mathqa_json(DATA / "mathqa_sample.json")
    assert len(qs) == 2 and qs[0].gold == "C" and qs[0].options[2] == "6"
    assert qs[1].options[4] == "none of these" and qs[1].letters == "ABCDE"
    assert parse_mathqa_options("a ) 38 , b ) 27.675 , c ) 30") == ("38", "27.675", "30")


def test_mathqa_malformed_names_file_and_line() -> None:
    with pytest.raises(DataError, match=r"bad_mathqa\.json, line 3: cannot read options"):
        load_mathqa_json(DATA / "bad_mathqa.json")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mathqa", DATA / "missing.json")
    with pytest.raises(DataError, match="needs --data"):
        load_dataset("mmlu-hs", None)


def test_generator_is_valid_and_seeded() -> None:
    qs = generate_arith(60, seed=4, n_options=5)
    assert qs == generate_arith(60, seed=4, n_options=5)
    for q in qs:
        assert len(set(q.options)) == 5
        expr = q.text.removeprefix("What is ").removesuffix("?")
        assert int(q.options[q.letters.index(q.gold)]) == eval(expr)
    assert {q.qid.split("-")[1] for q in qs} == {"l1", "l2", "l3"}
    train, test = split_questions(qs, 0.25, seed=0)
    assert len(test) == 15 and not {q.qid for q in train} & {q.qid for q in test}
