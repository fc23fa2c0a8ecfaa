"""The attendance table, and the import of who came, behind `mailer attendance`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailer.delivery.runner import Runner
from mailer.project.textclean import escape_controls

Print = Callable[..., None]


def attendance(
    runner: Runner,
    series: str | None,
    last: int,
    as_json: bool,
    out: Print,
    emit: Callable[[Any], None],
    csv_file: Path | None = None,
) -> None:
    from mailer.answers.attendance import CSV_HEADER, csv_rows
    from mailer.answers.attendance import attendance as count
    from mailer.exports import check_target, write_csv

    if csv_file is not None:
        check_target(csv_file, "--csv")
    results = count(runner.state, runner.project.config, series, runner.now, last)
    if csv_file is not None:
        written = write_csv(csv_file, CSV_HEADER, csv_rows(results), option="--csv")
        if not as_json:
            out(f"{csv_file}: {written} meetings")
    if as_json:
        emit([s.as_json() for s in results])
        return
    if not results:
        out("no meeting invitations have been sent yet")
    for s in results:
        out(f"{s.series}: {s.title}" + (f", goal {s.goal}" if s.goal else ", no goal set"))
        out(
            f"  {'meeting':<10}  {'invited':>7}  {'yes':>5}  {'no':>5}  {'no answer':>9}  {'came':>5}  "
            f"{'came, no answer':>15}  {'guests':>6}"
        )
        for o in s.occasions:
            if o.cancelled:
                note = "cancelled"
            elif not o.held:
                note = "ahead"
            elif s.goal:
                note = "goal met" if o.measured >= s.goal else f"{s.goal - o.measured} short of the goal"
            else:
                note = ""
            came = ("-", "-", "-") if o.attended is None else (o.attended, o.attended_unanswered, o.unmatched)
            out(
                f"  {o.day.isoformat():<10}  {o.invited:>7}  {o.yes:>5}  {o.no:>5}  {o.no_answer:>9}  "
                f"{came[0]:>5}  {came[1]:>15}  {came[2]:>6}  {note}"
            )
        met = f"; goal met at {s.goal_met} of {len(s.trend)}" if s.goal else ""
        if len(s.attended_trend) >= 2:  # the direction is measured by who came: show those numbers
            out(
                f"  trend over the last {len(s.attended_trend)} meetings with a report (who came): "
                + " → ".join(str(n) for n in s.attended_trend)
                + f" ({s.direction}){met}"
            )
        elif s.trend:
            if s.attended_trend:
                out("  came to the meetings with a report: " + " → ".join(str(n) for n in s.attended_trend))
            out(
                f"  trend over the last {len(s.trend)} meetings held: "
                + " → ".join(str(n) for n in s.trend)
                + f" ({s.direction}){met}"
            )
        else:
            out("  no meeting of this series has been held since invitations went out")


def attendance_import(runner: Runner, occurrence: str, path: Path, out: Print) -> None:
    from mailer.answers.attendance_import import import_file

    done = import_file(runner, occurrence, path)
    out(
        f"{done.occurrence}: {done.members} members came ({done.new_members} new in the ledger); "
        f"{len(done.unmatched)} guests or names not matched to a member ({done.new_unmatched} new)"
    )
    for p in done.unmatched:
        line = f"  not matched: {p.name or '(no name)'}" + (f" <{p.email}>" if p.email else "")
        out(escape_controls(line) + f" (line {p.line})")
