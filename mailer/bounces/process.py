"""What a returned message changes: bounce records, the delivery's status, and suppressions.

The bounce address is public, so a report changes something only when it proves that it
answers a message we sent:
- a valid VERP token (MAILER_BOUNCE_ADDRESS set) decides the delivery, and so the member and
  address, even when the report names another address (a forwarding target);
- without one, a Message-ID of ours that the report quotes (the returned headers, In-Reply-To,
  References) must belong to a delivery to the very address the report says failed.
Anything else is recorded as *unverified* with the address it claims (`state/unverified.py`),
listed by `mailer bounces`, and suppresses nobody.

A report of a delivery no longer in the ledger (erased by `mailer forget`, or past retention)
changes nothing and keeps no address: by its token, or by a Message-ID in the form of ours.

A hard bounce suppresses the address for all mail at once; soft ones add to a score, one per
delivery, and `soft_limit` of them within `soft_days` suppress it too. A bounce is dated by the
report's Date, within the delivery's send time and now, so a mailbox read late counts what
happened when it happened. A complaint unsubscribes the member from every category except the
meetings of the bodies they hold office in (invitations whose audience is chosen by role): those
they cannot do without; also from those added later.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser

from mailer.bounces import parse
from mailer.bounces.mailbox import Skipped
from mailer.delivery.verp import Verp
from mailer.project import categories
from mailer.project.config import Config
from mailer.state import State
from mailer.state.bounces import Event
from mailer.state.database import transaction
from mailer.state.suppressions import OPTIONAL
from mailer.state.unverified import Claim

Row = tuple[int, str, str, str]  # delivery id, member id, address, mailing id
NO_PROOF = "no VERP token and no Message-ID of ours in it"
FORGED = "its VERP token does not verify (forged or damaged)"
OTHER_ADDRESS = "the Message-ID of ours it quotes was sent to another address"
OUR_MESSAGE_ID = re.compile(r"<[0-9a-f]{20}\.([^@<>\s]{1,200})@[^<>\s]{1,200}>")
"""The Message-ID each message gets (`render/messages.py`): 20 hex digits, the series, our domain."""
_HEADER_END = re.compile(rb"\r?\n\r?\n")


@dataclass
class ImportReport:
    """Counts of one import, printed as one line."""

    read: int = 0
    hard: int = 0
    soft: int = 0
    repeated: int = 0
    complaints: int = 0
    suppressed: int = 0
    auto_replies: int = 0
    unrecognised: int = 0
    unverified: int = 0
    unknown: int = 0
    already_read: int = 0
    broken: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.read} messages read"]
        names = {
            "hard": "hard bounces",
            "soft": "soft bounces",
            "repeated": "soft bounces for a delivery already counted",
            "complaints": "complaints",
            "suppressed": "addresses suppressed",
            "auto_replies": "automatic replies ignored",
            "unrecognised": "not bounces (left alone)",
            "unverified": "unverified (nobody suppressed; listed by `mailer bounces`)",
            "unknown": "for deliveries no longer in the ledger (ignored)",
            "already_read": "read before",
            "broken": "unreadable",
        }
        parts += [f"{getattr(self, k)} {v}" for k, v in names.items() if getattr(self, k)]
        return ", ".join(parts)


@dataclass(frozen=True)
class Policy:
    """When soft bounces suppress an address, and what a complaint unsubscribes from."""

    soft_limit: int
    soft_days: int
    complaint_categories: frozenset[str]


def complaint_categories(config: Config) -> frozenset[str]:
    """Every category but what an office requires (invitations chosen by role; see `categories`)."""
    return categories.optional(config)


@dataclass
class Processor:
    state: State
    verp: Verp | None
    policy: Policy
    now: dt.datetime
    source: str = "import"
    report: ImportReport = field(default_factory=ImportReport)
    _written: dt.datetime | None = field(default=None, init=False, repr=False)
    """The Date of the message being read."""

    def __post_init__(self) -> None:
        self.store = self.state.bounces
        self.state.unverified.expire(self.now)

    def handle(self, label: str, data: bytes | Skipped) -> str:
        """Read one message and record what it says; returns its verdict (or "broken" if skipped).

        A message read before changes nothing and returns what was found then. A skipped one
        adds one warning line in the secretary's words (never an exception's name). An unverified
        message is remembered by a digest of its bytes, not by its Message-ID, so a forgery
        sent ahead of a real bounce cannot make the real one look read already.
        """
        self.report.read += 1
        if isinstance(data, Skipped):
            return self._skip(label, data.why)
        try:
            finding = parse.read(data)
        except parse.NotAMessage as exc:
            return self._skip(label, str(exc))
        except parse.Unreadable as exc:
            return self._skip(label, f"not read: {exc}")
        except Exception:  # untrusted input: one broken message must not stop the rest
            return self._skip(label, "not a readable message")
        self._written = written(data)
        with transaction(self.state.db):
            self.state.db.lock("bounces")  # two readers of one mailbox count a message once
            before = self.store.outcome(finding.key) or self.store.outcome(finding.digest)
            if before is not None:
                self.report.already_read += 1
                return before
            outcome = self._apply(finding)
            key = finding.digest if outcome == "unverified" else finding.key
            self.store.mark_read(key, outcome, self.now)
        return outcome

    def _skip(self, label: str, why: str) -> str:
        self.report.broken += 1
        self.report.warnings.append(f"{label}: {why}; skipped")
        return "broken"

    def _apply(self, finding: parse.Finding) -> str:
        if finding.verdict == "auto_reply":
            self.report.auto_replies += 1
            return "auto_reply"
        if finding.verdict == "unrecognised":
            self.report.unrecognised += 1
            return "unrecognised"
        why = NO_PROOF
        tokens = self.verp.tokens(finding.text) if self.verp else []
        if tokens:
            rows = [(t, self.state.deliveries.sent_row(n)) for t in tokens if (n := self.verp.number(t))]  # type: ignore[union-attr]
            proved = [r for t, r in rows if r is not None and self.verp.proves(t, r[0], r[2])]  # type: ignore[union-attr]
            if proved:
                return self._by_token(finding, proved[0])
            if any(r is None for _, r in rows):  # a delivery erased since (`mailer forget`, retention)
                self.report.unknown += 1
                return "unknown"
            why = FORGED
        ours = self.state.deliveries.by_message_ids(finding.references)
        if not ours and self.store.forgotten(_ours_in_form(finding.references)):
            self.report.unknown += 1  # a delivery erased since: its address is not to come back
            return "unknown"
        verified = 0
        claims = finding.failures or (parse.Failure("", "complaint", None, "complaint without an address"),)
        for failure in claims:
            row = next((r for r in ours if r[2] == failure.address), None)
            if row is None:
                self._unverified(failure, OTHER_ADDRESS if ours and why == NO_PROOF else why, finding.key)
                continue
            verified += 1
            self._record(row, failure.kind, failure.status, failure.reason, finding.key)
        return finding.verdict if verified else "unverified"

    def _by_token(self, finding: parse.Finding, row: Row) -> str:
        failure = finding.failures[0] if finding.failures else None
        kind = "complaint" if finding.verdict == "complaint" else finding.verdict
        status = failure.status if failure else None
        reason = failure.reason if failure else "complaint"
        self._record(row, kind, status, reason, finding.key)
        return kind

    def _unverified(self, failure: parse.Failure, why: str, key: str) -> None:
        self.report.unverified += 1
        claim = Claim(failure.address, failure.kind, failure.status, failure.reason, why, self.source, key)
        self.state.unverified.add(claim, self.now)

    def _record(self, row: Row, kind: str, status: str | None, reason: str, key: str) -> None:
        delivery_id, member_id, address, mailing_id = row
        event = Event(address, kind, status, reason, self.source, member_id, mailing_id, delivery_id, key)  # type: ignore[arg-type]
        at = self._dated(delivery_id)
        if not self.store.add(event, at):
            self.report.repeated += 1
            return
        if kind == "complaint":
            self.report.complaints += 1
            scopes = [*sorted(self.policy.complaint_categories), OPTIONAL]
            new = [self.state.suppressions.add(address, c, self.now, "complaint") for c in scopes]
            self.report.suppressed += any(new)
            return
        setattr(self.report, kind, getattr(self.report, kind) + 1)
        self.state.deliveries.mark_bounced(delivery_id, f"bounced: {status + ' ' if status else ''}{reason}")
        if (
            kind == "hard"
            or self.store.soft_score(address, at, self.policy.soft_days) >= self.policy.soft_limit
        ):
            self.report.suppressed += self.state.suppressions.add(address, "*", self.now, "bounce")

    def _dated(self, delivery_id: int) -> dt.datetime:
        """When the bounce happened: the report's Date, no earlier than the delivery was tried and
        no later than now (a sender's clock may be wrong); without a Date, now."""
        if self._written is None:
            return self.now
        sent = self.store.first_tried(delivery_id)
        return min(max(self._written, sent) if sent else self._written, self.now)


def written(data: bytes) -> dt.datetime | None:
    """The Date header of a message (its own, not a returned one's), or None when none reads as a time."""
    head = _HEADER_END.split(data[:65536], maxsplit=1)[0]
    try:
        value = BytesHeaderParser().parsebytes(head).get("Date")
        when = email.utils.parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _ours_in_form(references: tuple[str, ...]) -> list[tuple[str, str]]:
    """(Message-ID, series) of each quoted Message-ID that has the form of ours."""
    return [(ref, m[1]) for ref in references if (m := OUR_MESSAGE_ID.fullmatch(ref))]
