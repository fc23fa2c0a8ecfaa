"""A receipt to the leader whose link saved a consultation answer.

A consultation link answers for a chapter until the deadline, whoever holds it: a leader may
forward the mail, and a forwarded link works. No confirmation is asked before an answer
counts (volunteers would not do it); instead the leader whose link was used hears of every
answer saved through it, at the next run (`run-due`, cron every minute), in one short mail:
"Svaret for Ås Senterparti ble lagret …", with the link to see and correct it. A forwarded or
misused link thus shows up in its owner's own inbox.

Each saved version is marked before its receipt is planned (`consultation_answers.receipt`),
so a rerun rebuilds the same receipt and the ledger sends it once. Versions saved by the same
leader before a run share one receipt, naming the latest.

Only an address that bounced hard holds a receipt back, as it holds back a notice: whoever holds
a forwarded mail can press its one-click unsubscribe (or untick consultations on the page its
footer links to) before answering, and a receipt that honoured it would hide the misuse it is
there to show. A pause does not hold it back either.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailer.delivery.plan import Recipients
from mailer.delivery.report import Report
from mailer.errors import UserError
from mailer.project import consultations
from mailer.project.audiences import Audience, Rule
from mailer.project.mailing_config import ConsultationConfig
from mailer.project.mailings import Mailing
from mailer.project.members import Member
from mailer.state.consultations import Answer
from mailer.state.notices import Notices
from mailer.state.suppressions import SuppressionList

if TYPE_CHECKING:
    from mailer.delivery.runner import Runner

_EVERYONE = Rule(frozenset(), frozenset(), frozenset(), frozenset(), None)
RECEIPT_ID = re.compile(r"(?P<consultation>[a-z0-9][a-z0-9._-]*)/kvittering-(?P<answer>\d{1,18})")
NONE_DUE = "-"


def owns(mailing_id: str) -> bool:
    """Mailing ids this module builds (the generic rebuild in `due` leaves them to it)."""
    return RECEIPT_ID.fullmatch(mailing_id) is not None


def receipt_id(consultation: str, answer: Answer) -> str:
    return f"{consultation}/kvittering-{answer.id}"


def run(runner: Runner) -> list[Report]:
    """Receipts for the versions saved since the last run, and any unfinished earlier ones."""
    store = runner.state.consultations
    latest: dict[tuple[str, str], list[tuple[str, Answer]]] = defaultdict(list)
    for consultation, answer in store.awaiting_receipt():
        latest[(consultation, answer.member_id)].append((consultation, answer))
    wanted = []
    for versions in latest.values():
        consultation, newest = versions[-1]
        due = receipt_id(consultation, newest) if newest.member_id else NONE_DUE
        store.decide_receipt([a.id for _, a in versions], due)
        if due != NONE_DUE:
            wanted.append(due)
    wanted += [m for m in runner.state.deliveries.mailings_with_work(runner.now) if owns(m)]
    reports = []
    for mailing_id in dict.fromkeys(wanted):
        report = _send(runner, mailing_id)
        if report is not None:
            reports.append(report)
    return reports


def _send(runner: Runner, mailing_id: str) -> Report | None:
    m = RECEIPT_ID.fullmatch(mailing_id)
    found = runner.state.consultations.by_id(int(m["answer"])) if m else None
    if found is None:
        return None
    consultation_id, answer = found
    try:
        first = consultations.by_id(runner.project, consultation_id, runner.now)[0]
    except UserError as exc:
        runner.warn(f"{mailing_id}: no receipt is sent: {exc}")
        return None
    cfg = runner.project.config.mailings.get(first.series)
    leader = runner.find_member(answer.member_id)
    if not isinstance(cfg, ConsultationConfig) or cfg.receipt is None or leader is None:
        return None
    mailing = receipt(runner, first, cfg, mailing_id, answer, leader)
    key = repr((leader.id, runner.state.suppressions.version()))
    bounced = _Bounced(notices=runner.state.notices)
    recipients = Recipients(members=lambda: [leader], suppressed=lambda: bounced, inputs=key)
    return runner.send(mailing, recipients=recipients)


@dataclass
class _Bounced(SuppressionList):
    """Blocks an address only where it bounced hard, whatever the category (`Notices.undeliverable`)."""

    notices: Notices | None = None

    def blocks(self, category: str, address: str) -> bool:
        return self.notices is not None and self.notices.undeliverable(address)


def receipt(
    runner: Runner, first: Mailing, cfg: ConsultationConfig, mailing_id: str, answer: Answer, leader: Member
) -> Mailing:
    """The receipt for one saved version, to the leader whose link saved it."""
    assert cfg.receipt is not None and first.consultation is not None
    tz = runner.project.tz
    send_at = min(answer.answered_at, runner.now)  # fixed, so a rerun plans the same mailing
    per_chapter = answer.unit != leader.id
    context = {
        **first.context,
        "unit_label": answer.unit if per_chapter else leader.name,
        "per_chapter": per_chapter,
        "saved_at": answer.answered_at.astimezone(tz),
        "title": first.context["draft"].title or first.context["draft"].subject,
        "stands": answer.stands,
    }
    return Mailing(
        id=mailing_id,
        kind="consultation",
        series=first.series,
        audience=Audience(f"{mailing_id} leader", _EVERYONE, None),
        template=cfg.receipt.template,
        subject=cfg.receipt.subject,
        send_at=send_at,
        closes_at=send_at + dt.timedelta(days=3),
        expires_at=None,
        retry_lifetime=dt.timedelta(days=3),
        context=context,
    )
