"""What the board sees of a consultation: every chapter (or member) of the audience, answered or not.

Used by `mailer consultation status|export` and the board's page. Units that answered but have
left the audience since are listed too: an answer is never dropped from the board's view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailer.delivery.consultation_reminders import unit_of
from mailer.delivery.runner import Runner
from mailer.exports import write_csv
from mailer.project import consultations
from mailer.project.drafts import Question
from mailer.project.mailings import Consultation
from mailer.state.consultations import Answer


@dataclass(frozen=True)
class Row:
    unit: str
    label: str
    answer: Answer | None


@dataclass(frozen=True)
class Status:
    consultation: Consultation
    rows: list[Row]

    @property
    def answered(self) -> int:
        return sum(1 for r in self.rows if r.answer)

    @property
    def questions(self) -> tuple[Question, ...]:
        return self.consultation.questions

    def as_json(self) -> dict[str, Any]:
        c = self.consultation
        return {
            "consultation": c.id,
            "answer_per": c.answer_per,
            "deadline": c.deadline.isoformat(),
            "answered": self.answered,
            "total": len(self.rows),
            "questions": [{"id": q.id, "text": q.text, "kind": q.kind} for q in c.questions],
            c.answer_per + "s": [
                {
                    "unit": r.unit,
                    "name": r.label,
                    "answered": r.answer is not None,
                    "by": r.answer.member_name if r.answer else None,
                    "at": r.answer.answered_at.isoformat() if r.answer else None,
                    "answers": r.answer.answers if r.answer else {},
                }
                for r in self.rows
            ],
        }


def status(runner: Runner, consultation_id: str) -> Status:
    """Every unit of the audience (chapter or member), with the answer that stands, sorted by name."""
    first = consultations.by_id(runner.project, consultation_id, runner.now)[0]
    c = first.consultation
    assert c is not None
    labels: dict[str, str] = {}
    for member in first.audience.select(runner.members(), runner.now.date()):
        unit = unit_of(c.answer_per, member)
        labels.setdefault(unit, unit if unit == member.chapter else member.name)
    standing = runner.state.consultations.standing(c.id)
    for unit, answer in standing.items():
        labels.setdefault(unit, unit if c.answer_per == "chapter" else answer.member_name)
    rows = [Row(u, labels[u], standing.get(u)) for u in sorted(labels, key=lambda u: labels[u])]
    return Status(c, rows)


def consultation_ids(runner: Runner) -> list[str]:
    """The drafts that are consultations, for the board's list."""
    cfg = runner.project.config
    return [d.id for d in runner.project.drafts() if consultations.config_for(cfg, d)]


def lines(s: Status) -> list[str]:
    """The human-readable listing of `mailer consultation status`."""
    c = s.consultation
    out = [f"{c.id}: {s.answered} of {len(s.rows)} {c.answer_per}s answered (deadline {c.deadline_iso})"]
    for r in s.rows:
        if r.answer is None:
            out.append(f"  {r.label}: not answered")
            continue
        out.append(
            f"  {r.label}: answered by {r.answer.member_name} at {r.answer.answered_at:%Y-%m-%d %H:%M}"
        )
        for q in c.questions:
            value = r.answer.answers.get(q.id, "").replace("\n", " ")
            out.append(f"    {q.id}: {value}")
    return out


def export_rows(s: Status) -> tuple[list[str], list[list[str]]]:
    """One row per chapter (or member), one column per question."""
    first = "lokallag" if s.consultation.answer_per == "chapter" else "medlem"
    header = [first, "svart", "svart av", "tidspunkt", *(q.text for q in s.questions)]
    rows = []
    for r in s.rows:
        a = r.answer
        rows.append(
            [
                r.label,
                "ja" if a else "nei",
                a.member_name if a else "",
                a.answered_at.strftime("%d.%m.%Y %H:%M") if a else "",
                *(a.answers.get(q.id, "") if a else "" for q in s.questions),
            ]
        )
    return header, rows


def write_export(s: Status, out: Path) -> None:
    """Through the one CSV writer (`mailer.exports`): formula cells neutralised, BOM and ';', 0600."""
    write_csv(out, *export_rows(s), option="--out")
