"""Loaders (MMLU CSV, MathQA JSON), their error messages (file, line, field), and the
arithmetic generator."""

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


def test_mmlu_csv_original_format() -> None:
    qs = load_mmlu_csv(DATA / "elementary_mathematics_test.csv")
    assert len(qs) == 3
    assert qs[1].text == "Which number is even, 3 or 4?" and qs[1].options[1] == "4"
    assert [q.gold for q in qs] == ["C", "B", "C"] and qs[0].letters == "ABCD"
    hs = load_mmlu_csv(DATA / "high_school_mathematics_test.csv")
    assert len(hs) == 6 and "\n" in hs[4].text  # a quoted multi-line question
    assert hs[5].qid == "high_school_mathematics_test:7"  # keyed by the line it starts on


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("bad_mmlu.csv", r"bad_mmlu\.csv, line 2, field answer: expected 6 fields"),
        ("bad_mmlu_answer.csv", r"bad_mmlu_answer\.csv, line 2, field answer: must be one of A-D"),
        ("bad_mmlu_empty.csv", r"bad_mmlu_empty\.csv, line 2, field B: empty"),
    ],
)
def test_mmlu_malformed_names_file_line_and_field(name: str, pattern: str) -> None:
    with pytest.raises(DataError, match=pattern):
        load_mmlu_csv(DATA / name)


def test_empty_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="no questions"):
        load_mmlu_csv(tmp_path / "empty.csv")
    (tmp_path / "bin.csv").write_bytes(b"What?,1,2,3,4,A\n\xff\xfe,1,2,3,4,A\n")
    with pytest.raises(DataError, match=r"bin\.csv, line 2: not UTF-8"):
        load_mmlu_csv(tmp_path / "bin.csv")


def test_mathqa_json() -> None:
    qs = load_mathqa_json(DATA / "mathqa_sample.json")
    assert len(qs) == 2 and qs[0].gold == "C" and qs[0].options[2] == "6"
    assert qs[1].options[4] == "none of these" and qs[1].letters == "ABCDE"
    assert parse_mathqa_options("a ) 38 , b ) 27.675 , c ) 30") == ("38", "27.675", "30")


def test_mathqa_malformed_names_file_line_and_field() -> None:
    with pytest.raises(DataError, match=r"bad_mathqa\.json, line 3, field options: cannot read"):
        load_mathqa_json(DATA / "bad_mathqa.json")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mathqa", DATA / "missing.json")
    with pytest.raises(DataError, match="needs --data"):
        load_dataset("mmlu-hs", None)


def test_directory_picks_the_subject(tmp_path: Path) -> None:
    for f in ("high_school_mathematics_test.csv", "elementary_mathematics_test.csv"):
        (tmp_path / f).write_text((DATA / f).read_text())
    assert len(load_dataset("mmlu-hs", tmp_path)) == 6
    assert len(load_dataset("mmlu-elem", tmp_path)) == 3


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
