"""`mailer attendance import SERIES@DATE FILE`: record who came to one meeting.

Checks the occurrence, reads the file (see `teams_report`), matches participants to members
(see `attendees`) and records the result; a file it cannot read records nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mailer.answers import attendees, teams_report
from mailer.errors import UserError
from mailer.project import calendar
from mailer.project.mailing_config import InvitationConfig

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner

_OCCURRENCE = re.compile(r"(?P<series>[a-z0-9][a-z0-9_-]*)@(?P<day>\d{4}-\d\d-\d\d)")


@dataclass(frozen=True)
class Imported:
    occurrence: str
    members: int
    new_members: int
    unmatched: list[teams_report.Participant]
    new_unmatched: int


def occurrence_of(runner: Runner, occurrence_id: str) -> calendar.Occurrence:
    """The held meeting an id names, or a UserError saying what is wrong with it."""
    m = _OCCURRENCE.fullmatch(occurrence_id)
    if not m:
        raise UserError(
            f"'{occurrence_id}' is not a meeting; write SERIES@YYYY-MM-DD, e.g. tirsdagsmote@2026-11-24"
        )
    config = runner.project.config
    cfg = config.mailings.get(m["series"])
    if not isinstance(cfg, InvitationConfig):
        names = sorted(k for k, v in config.mailings.items() if isinstance(v, InvitationConfig))
        raise UserError(f"'{m['series']}' is not a meeting series; use one of: {', '.join(names)}")
    try:
        day = dt.date.fromisoformat(m["day"])
    except ValueError:
        raise UserError(f"'{m['day']}' is not a date; write YYYY-MM-DD") from None
    tz = config.organisation.tz
    occ = calendar.find(m["series"], cfg.meeting, tz, day)
    if occ is None:  # a meeting moved to this day is named by its planned day: find it by either
        held = calendar.occurrences(m["series"], cfg.meeting, tz, day, day)
        occ = next((o for o in held if o.start.date() == day and not o.cancelled), None)
    if occ is None:
        raise UserError(
            f"{m['series']} has no meeting on {day}; `mailer attendance {m['series']}` lists them"
        )
    if occ.cancelled:
        raise UserError(f"{occurrence_id} was cancelled; nobody can have attended it")
    if occ.start > runner.now:
        raise UserError(f"{occurrence_id} has not started yet ({occ.start:%Y-%m-%d %H:%M})")
    return occ


def read_report(path: Path) -> bytes:
    """The file's bytes, refused (never read whole) when it is larger than a report can be."""
    label = str(path)
    limit = teams_report.MAX_FILE_BYTES
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise UserError(f"{label}: file not found") from None
    except OSError as exc:
        raise UserError(f"{label}: cannot be read ({exc.strerror})") from None
    if len(data) > limit:
        raise UserError(
            f"{label}: larger than {limit // (1024 * 1024)} MB, the most an attendance report can be; "
            "give the report Teams downloads, or a CSV of who came"
        )
    return data


def import_file(runner: Runner, occurrence_id: str, path: Path) -> Imported:
    occ = occurrence_of(runner, occurrence_id)
    label = str(path)
    data = read_report(path)
    participants = teams_report.parse(data, label)
    matched = attendees.match(participants, runner.members())
    store = runner.state.attendance
    new_members, new_unmatched = store.record(
        occ.id,
        matched.member_ids,
        [(p.name, p.email) for p in matched.unmatched],
        path.name,
        runner.now,
    )
    return Imported(occ.id, len(matched.member_ids), new_members, matched.unmatched, new_unmatched)
