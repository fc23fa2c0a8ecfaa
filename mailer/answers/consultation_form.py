"""A consultation form's fields checked against its questions: what may be recorded, or why not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mailer.project.drafts import Question
from mailer.project.textclean import without_controls

SCALE = ("1", "2", "3", "4", "5")
ERRORS = {
    "nb": {
        "required": "Dette spørsmålet må besvares.",
        "too_long": "Svaret er for langt: høyst {n} tegn.",
        "not_option": "Velg ett av alternativene.",
    },
    "nn": {
        "required": "Dette spørsmålet må svarast på.",
        "too_long": "Svaret er for langt: høgst {n} teikn.",
        "not_option": "Vel eitt av alternativa.",
    },
}


def field_name(question: Question) -> str:
    return f"q.{question.id}"


def check_answers(
    questions: Sequence[Question], form: Mapping[str, str], language: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(answers by question id, error by question id); record only when there are no errors.

    Control characters become spaces: an answer is printed in the secretary's terminal and
    written into the export, where an escape sequence would rewrite what they see."""
    texts = ERRORS.get(language, ERRORS["nb"])
    answers: dict[str, str] = {}
    errors: dict[str, str] = {}
    for q in questions:
        value = without_controls(form.get(field_name(q), "").replace("\r\n", "\n")).strip()
        answers[q.id] = value
        if not value:
            if q.required:
                errors[q.id] = texts["required"]
            continue
        if q.kind == "text" and len(value) > q.max_length:
            errors[q.id] = texts["too_long"].format(n=q.max_length)
        elif value not in {"choice": q.options, "scale": SCALE}.get(q.kind, (value,)):
            errors[q.id] = texts["not_option"]
            answers[q.id] = ""
    return answers, errors
