"""A registration form's answers checked against the event's questions: what may be kept, or why not.

Dates are written as Norwegians do (17.05.1990) or as a date field sends them (1990-05-17),
and kept as ISO dates; yes-no is kept as "ja" or "nei"; text loses control characters.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence

from mailer.project.event_config import Question
from mailer.project.textclean import without_controls

YES_NO = ("ja", "nei")
ERRORS = {
    "nb": {
        "required": "Dette må fylles ut.",
        "too_long": "Svaret er for langt: høyst {n} tegn.",
        "not_option": "Velg ett av alternativene.",
        "not_date": "Skriv datoen som dd.mm.åååå, for eksempel 17.05.1990.",
    },
    "nn": {
        "required": "Dette må fyllast ut.",
        "too_long": "Svaret er for langt: høgst {n} teikn.",
        "not_option": "Vel eitt av alternativa.",
        "not_date": "Skriv datoen som dd.mm.åååå, til dømes 17.05.1990.",
    },
}
_NORWEGIAN_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def field_name(question: Question) -> str:
    return f"q.{question.id}"


def parse_date(text: str) -> dt.date | None:
    """A date as typed or as a date field sends it; None when it is no date (31.02, 1.1.10000)."""
    text = text.strip()
    if m := _NORWEGIAN_DATE.fullmatch(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif m := _ISO_DATE.fullmatch(text):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    else:
        return None
    try:
        value = dt.date(year, month, day)
    except ValueError:
        return None
    return value if 1900 <= value.year <= 2100 else None


def shown(question: Question, value: str) -> str:
    """An answer as a person reads it (a date as 17.05.1990)."""
    if question.type == "date" and value:
        try:
            return dt.date.fromisoformat(value).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return value


def check_answers(
    questions: Sequence[Question], form: Mapping[str, str], language: str
) -> tuple[dict[str, str], dict[str, str]]:
    """(answers by question id, error by question id); keep them only when there are no errors."""
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
        if q.type == "text":
            if len(value) > q.max_length:
                errors[q.id] = texts["too_long"].format(n=q.max_length)
        elif q.type == "date":
            day = parse_date(value)
            if day is None:
                errors[q.id] = texts["not_date"]
            else:
                answers[q.id] = day.isoformat()
        elif value not in (q.choices if q.type == "choice" else YES_NO):
            errors[q.id] = texts["not_option"]
            answers[q.id] = ""
    return answers, errors
