"""Subjects that tell the change: reminders, updates and cancellations carry a Norwegian prefix."""

from __future__ import annotations

import pytest
from meeting_project import SERIES, meeting_project, send_every_kind


@pytest.fixture
def every_kind(tmp_path, smtp):
    return send_every_kind(meeting_project(tmp_path / "fylke"), smtp)


def subject(every_kind, mailing: str, address: str) -> str:
    return str(every_kind[f"{mailing} {address}"].message["Subject"])


def test_the_invitation_has_the_series_subject_as_written(every_kind):
    assert subject(every_kind, "morgenmote@2026-11-24", "ase@example.org").startswith("Morgenmøte ")


def test_a_reminder_says_paminnelse_and_paminning_in_nynorsk(every_kind):
    assert subject(every_kind, "morgenmote@2026-11-24/reminder", "ase@example.org").startswith(
        "Påminnelse: Morgenmøte "
    )
    assert subject(every_kind, "morgenmote@2026-11-24/reminder", "bjorn@example.org").startswith(
        "Påminning: Morgenmøte "
    )


def test_an_update_says_endret_and_endra_in_nynorsk(every_kind):
    assert subject(every_kind, "morgenmote@2026-11-24/update-1", "ase@example.org").startswith(
        "Endret: Morgenmøte "
    )
    assert subject(every_kind, "morgenmote@2026-11-24/update-1", "bjorn@example.org").startswith(
        "Endra: Morgenmøte "
    )


def test_a_cancellation_says_avlyst(every_kind):
    for address in ("ase@example.org", "bjorn@example.org"):
        assert subject(every_kind, "morgenmote@2026-11-24/cancel", address).startswith("Avlyst: Morgenmøte ")


def test_a_subject_that_handles_change_itself_gets_no_prefix(tmp_path, smtp):
    own = SERIES.replace(
        'subject: "Morgenmøte',
        "subject: \"{% if change == 'reminder' %}I dag: {% elif change == 'update' %}Flyttet: "
        "{% endif %}Morgenmøte",
    )
    sent = send_every_kind(meeting_project(tmp_path / "fylke", series=own), smtp)
    assert subject(sent, "morgenmote@2026-11-24/reminder", "ase@example.org").startswith("I dag: Morgenmøte")
    assert subject(sent, "morgenmote@2026-11-24/update-1", "bjorn@example.org").startswith("Flyttet: ")
    assert subject(sent, "morgenmote@2026-11-24/cancel", "ase@example.org").startswith("Morgenmøte ")
