"""What a member asks for from their page: a copy of their data, and a correction of the register.

The copy ("Last ned mine data") is a JSON file mailed to the address on record, never shown
in the browser: a link that was forwarded or leaked then shows nobody else what the
organisation holds. It goes at most once in 24 hours. "Noe feil?" sends the secretary one mail
naming what the member says is wrong; mailer never changes the register (the export is the
source of truth), and the member's words only ever reach the body of that mail.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from mailer.answers.choices import Refused
from mailer.delivery import notices
from mailer.delivery.runner import Runner
from mailer.project.members import Member
from mailer.state import requests
from mailer.state.database import transaction
from mailer.state.suppressions import address_digest

CATEGORY = "preferences"
REPORTS_PER_DAY = 3
MAX_REPORT = 1000
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
DATA_SUBJECT = (
    "{% if language == 'nn' %}Dataa dine frå {{ organisation.name }}"
    "{% else %}Dataene dine fra {{ organisation.name }}{% endif %}"
)
REPORT_SUBJECT = "Noe feil i medlemsregisteret? Melding fra {{ who.name }} (medlem {{ member_id }})"


def collect(runner: Runner, member: Member) -> dict[str, Any]:
    """What mailer holds about this member and their address, as one JSON document."""
    state = runner.state
    held = state.personal_data
    address = member.address_key
    choice = state.preferences.of(address)
    digest_entries = state.consent.of(address, address_digest(state.secret, address))
    return {
        "generated_at": runner.now.isoformat(timespec="seconds"),
        "organisation": runner.project.config.organisation.name,
        "about": "What the e-mail system of the organisation holds about you. The member register "
        "itself is kept by the secretary; this is the copy of it from the last import.",
        "member": member.to_record(),
        "preferences": {
            "language": choice.language if choice else None,
            "paused_until": choice.paused_until.isoformat() if choice and choice.paused_until else None,
        },
        "suppressions": [
            {"category": h.category, "since": h.since, "source": h.source}
            for h in state.suppressions.of(address)
        ],
        "consent_log": [e.as_json() for e in digest_entries],
        "deliveries": held.deliveries(member.id, address),
        "rsvps": held.rsvps(member.id),
        "attendance": held.attendance(member.id),
        "registrations": held.registrations(member.id),
        "consultation_answers": held.consultation_answers(member.id),
        "bounces": held.bounces(member.id, address),
    }


def send_my_data(runner: Runner, member: Member) -> dt.datetime | None:
    """Mail the member their data now; returns None, or when the next copy may be asked for."""
    state, now = runner.state, runner.now
    with transaction(state.db):
        taken, wait = state.requests.take(member.address_key, requests.EXPORT, 1, now)
        if not taken:
            return wait
        data = json.dumps(collect(runner, member), ensure_ascii=False, indent=2, default=str)
        notice = notices.Notice(
            key=f"{CATEGORY}/data-{taken}",
            category=CATEGORY,
            to=member,
            template="my-data",
            subject=DATA_SUBJECT,
            context={"asked_at": now},
            attachments=(("mine-data.json", "application/json", data),),
        )
        delivery_id = notices.record(state, notice, now)
    notices.send(runner, [delivery_id])
    return None


def clean_report(text: str) -> str:
    """The member's words, as they may reach the secretary: one to MAX_REPORT characters of text."""
    text = _CONTROLS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise Refused("report_empty")
    if len(text) > MAX_REPORT:
        raise Refused("report_long")
    return text


def report_error(runner: Runner, member: Member, text: str) -> dt.datetime | None:
    """One mail to the secretary (the reply-to address); None, or when the next may be sent."""
    words = clean_report(text)
    state, now = runner.state, runner.now
    org = runner.project.config.organisation
    box = org.reply_to or org.sender
    secretary = Member("secretary", box.name, "", box.email, "", "", "", frozenset(), None, "nb")
    with transaction(state.db):
        taken, wait = state.requests.take(member.address_key, requests.REPORT, REPORTS_PER_DAY, now)
        if not taken:
            return wait
        notice = notices.Notice(
            key=f"{CATEGORY}/report-{taken}",
            category=CATEGORY,
            to=secretary,
            template="register-error",
            subject=REPORT_SUBJECT,
            context={
                "internal": True,
                "member_id": member.id,
                "who": {
                    "name": member.name,
                    "email": member.email,
                    "municipality": member.municipality,
                    "chapter": member.chapter,
                    "roles": ", ".join(sorted(member.roles)),
                },
                "lines": words.split("\n"),
                "asked_at": now,
            },
        )
        delivery_id = notices.record(state, notice, now)
    notices.send(runner, [delivery_id])
    return None
