"""Fixed prompt templates of the four roles (the agents' local policies are LLM + template).

Every role sees the question, its options and the conversation so far, and must end with a
structured line the AIS extractor reads: the thinker ``ANSWER: <letter>``, the checker
``VERDICT: CORRECT`` or ``VERDICT: INCORRECT``, the editor ``FINAL ANSWER: <letter>``.
The commissioner's turns are templated text (no model call).
"""

from __future__ import annotations

from handoffq.envs.llm_math.data import Question
from handoffq.envs.llm_math.roles import CHECKER, EDITOR, ROLE_NAMES, THINKER

__all__ = ["SYSTEM_PROMPTS", "build_messages", "conclusion", "opening", "render_question"]

SYSTEM_PROMPTS: dict[int, str] = {
    THINKER: (
        "You are the thinker in a team solving a multiple-choice math question. Reason step "
        "by step. If a proposed answer was judged incorrect, reconsider it. End with one line "
        "of the form 'ANSWER: <letter>'."
    ),
    CHECKER: (
        "You are the checker in a team solving a multiple-choice math question. Judge whether "
        "the latest proposed answer is correct. Explain briefly, then end with one line "
        "'VERDICT: CORRECT' or 'VERDICT: INCORRECT'."
    ),
    EDITOR: (
        "You are the editor in a team solving a multiple-choice math question. Write the "
        "team's final answer. If the latest answer was judged incorrect, fix it. End with one "
        "line of the form 'FINAL ANSWER: <letter>'."
    ),
}


def render_question(q: Question) -> str:
    """Question text followed by lettered options."""
    opts = "\n".join(f"{letter}) {text}" for letter, text in zip(q.letters, q.options, strict=True))
    return f"{q.text}\n{opts}"


def opening(q: Question) -> str:
    """The commissioner's opening turn."""
    return f"Commissioner: please solve this question.\n{render_question(q)}"


def conclusion(final: str | None) -> str:
    """The commissioner's concluding turn."""
    if final is None:
        return "Commissioner: the editor gave no readable final answer; the discussion is closed."
    return f"Commissioner: the team's final answer is {final}. The discussion is closed."


def build_messages(role: int, conversation: list[tuple[int, str]]) -> list[dict[str, str]]:
    """Chat messages for ``role`` given the conversation ``[(speaker role, text), ...]``."""
    transcript = "\n\n".join(
        text if speaker == 0 else f"{ROLE_NAMES[speaker].capitalize()}: {text}"
        for speaker, text in conversation
    )
    return [
        {"role": "system", "content": SYSTEM_PROMPTS[role]},
        {"role": "user", "content": f"{transcript}\n\nYour turn ({ROLE_NAMES[role]})."},
    ]
