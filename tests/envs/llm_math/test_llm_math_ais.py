"""The AIS extractor: parsing, bits, and robustness to malformed output."""

from hypothesis import given, settings
from hypothesis import strategies as st

from handoffq.envs.llm_math.ais import (
    AnswerState,
    ExtractStats,
    apply_output,
    bits,
    parse_answer,
    parse_verdict,
)
from handoffq.envs.llm_math.roles import CHECKER, EDITOR, THINKER


def test_parsers() -> None:
    assert parse_answer("blah\nANSWER: c", "ABCD") == "C"
    assert parse_answer("The answer is (B).", "ABCD") == "B"
    assert parse_answer("ANSWER: A ... FINAL ANSWER: **D**", "ABCD") == "D"
    assert parse_answer("ANSWER: E", "ABCD") is None
    assert parse_answer("no letter here", "ABCD") is None
    assert parse_verdict("VERDICT: INCORRECT") is False
    assert parse_verdict("Verdict: correct") is True
    assert parse_verdict("I am not sure") is None


def test_bits_follow_the_conversation() -> None:
    s, stats = AnswerState(), ExtractStats()
    assert bits(s) == (0, 0, 0, 0)
    s = apply_output(s, THINKER, "ANSWER: B", "ABCD", stats)
    assert bits(s) == (1, 0, 0, 0)
    s = apply_output(s, CHECKER, "VERDICT: INCORRECT", "ABCD", stats)
    assert bits(s) == (1, 0, 1, 0)
    s2 = apply_output(s, THINKER, "ANSWER: C", "ABCD", stats)
    assert bits(s2) == (1, 1, 0, 0) and s2.revisions[THINKER] == 1
    s3 = apply_output(s, EDITOR, "FINAL ANSWER: A", "ABCD", stats)
    assert bits(s3) == (1, 1, 0, 0) and s3.final == "A"
    ok = apply_output(
        apply_output(AnswerState(), THINKER, "ANSWER: B", "ABCD"),
        CHECKER,
        "VERDICT: CORRECT",
        "ABCD",
    )
    assert bits(ok) == (1, 0, 1, 1)
    assert bits(apply_output(ok, THINKER, "ANSWER: B", "ABCD")) == (1, 0, 1, 1)  # endorsement
    assert stats.total_malformed == 0


def test_malformed_is_counted_not_fatal() -> None:
    stats = ExtractStats()
    s = apply_output(AnswerState(), THINKER, "I think it is probably something", "ABCD", stats)
    assert s == AnswerState()
    s = apply_output(AnswerState(current="A", n_answers=1, final="A"), EDITOR, "???", "ABCD", stats)
    assert s.final is None
    apply_output(AnswerState(current="A", n_answers=1), CHECKER, "hmm", "ABCD", stats)
    assert stats.malformed == {"thinker": 1, "editor": 1, "checker": 1}


@settings(max_examples=100, deadline=None)
@given(st.text(), st.sampled_from([THINKER, CHECKER, EDITOR]))
def test_never_raises(text: str, role: int) -> None:
    s = apply_output(AnswerState(current="A", n_answers=1), role, text, "ABCDE", ExtractStats())
    assert all(b in (0, 1) for b in bits(s))
