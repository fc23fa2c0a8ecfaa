"""What a returned message changes: bounce records, the delivery's status, and suppressions.

A valid VERP token decides the delivery, and so the member and address, even when the bounce
names another address (a forwarding target). Without a token, the address the report names
must be one we sent to. A hard bounce suppresses the address for all mail at once; soft ones
add to a score, and `soft_limit` of them within `soft_days` suppress it too. A complaint
unsubscribes the member from every category except the meetings of the bodies they hold
office in (invitations whose audience is chosen by role): those they cannot do without.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mailer.bounces import parse
from mailer.bounces.mailbox import TooLarge
from mailer.bounces.verp import Verp
from mailer.project import categories
from mailer.project.config import Config
from mailer.state import State
from mailer.state.bounces import Event


@dataclass
class ImportReport:
    """Counts of one import, printed as one line."""

    read: int = 0
    hard: int = 0
    soft: int = 0
    complaints: int = 0
    suppressed: int = 0
    auto_replies: int = 0
    unrecognised: int = 0
    unknown: int = 0
    forged: int = 0
    already_read: int = 0
    broken: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.read} messages read"]
        names = {
            "hard": "hard bounces",
            "soft": "soft bounces",
            "complaints": "complaints",
            "suppressed": "addresses suppressed",
            "auto_replies": "automatic replies ignored",
            "unrecognised": "not bounces (left alone)",
            "unknown": "for addresses never mailed (ignored)",
            "forged": "with a forged token (ignored)",
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

    def __post_init__(self) -> None:
        self.store = self.state.bounces

    def handle(self, label: str, data: bytes | TooLarge) -> str:
        """Read one message and record what it says; returns its verdict (or why it was skipped).

        A message read before changes nothing and returns what was found then.
        """
        self.report.read += 1
        if isinstance(data, TooLarge):
            self.report.broken += 1
            self.report.warnings.append(f"{label}: larger than a bounce can be; skipped")
            return "broken"
        try:
            finding = parse.read(data)
        except Exception as exc:  # untrusted input: one broken message must not stop the rest
            self.report.broken += 1
            self.report.warnings.append(f"{label}: not a readable message ({type(exc).__name__}); skipped")
            return "broken"
        db = self.state.db
        db.execute("BEGIN IMMEDIATE")
        try:
            before = self.store.outcome(finding.key)
            if before is not None:
                self.report.already_read += 1
                outcome = before
            else:
                outcome = self._apply(finding)
                self.store.mark_read(finding.key, outcome, self.now)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return outcome

    def _apply(self, finding: parse.Finding) -> str:
        if finding.verdict == "auto_reply":
            self.report.auto_replies += 1
            return "auto_reply"
        if finding.verdict == "unrecognised":
            self.report.unrecognised += 1
            return "unrecognised"
        tokens = self.verp.tokens(finding.text) if self.verp else []
        if tokens:
            valid = [d for d in (self.verp.delivery(t) for t in tokens) if d is not None]  # type: ignore[union-attr]
            if not valid:
                self.report.forged += 1
                return "forged"
            row = _delivery(self.state, valid[0])
            if row is None:
                self.report.unknown += 1
                return "unknown"
            failure = finding.failures[0] if finding.failures else None
            kind = "complaint" if finding.verdict == "complaint" else finding.verdict
            status = failure.status if failure else None
            reason = failure.reason if failure else "complaint"
            self._record(row, kind, status, reason, finding.key)
            return kind
        matched = 0
        for failure in finding.failures:
            row = _last_delivery_to(self.state, failure.address)
            if row is None:
                continue
            matched += 1
            self._record(row, failure.kind, failure.status, failure.reason, finding.key)
        if not matched:
            self.report.unknown += 1
            return "unknown"
        return finding.verdict

    def _record(
        self, row: tuple[int, str, str, str], kind: str, status: str | None, reason: str, key: str
    ) -> None:
        delivery_id, member_id, address, mailing_id = row
        event = Event(address, kind, status, reason, self.source, member_id, mailing_id, delivery_id, key)  # type: ignore[arg-type]
        self.store.add(event, self.now)
        if kind == "complaint":
            self.report.complaints += 1
            new = [
                self.state.suppressions.add(address, c, self.now, "complaint")
                for c in self.policy.complaint_categories
            ]
            self.report.suppressed += any(new)
            return
        setattr(self.report, kind, getattr(self.report, kind) + 1)
        self.state.db.execute(
            "UPDATE deliveries SET status = 'bounced', last_reply = ? WHERE id = ? AND status = 'sent'",
            (f"bounced: {status + ' ' if status else ''}{reason}"[:500], delivery_id),
        )
        since = self.now - dt.timedelta(days=self.policy.soft_days)
        if kind == "hard" or self.store.soft_score(address, since) >= self.policy.soft_limit:
            self.report.suppressed += self.state.suppressions.add(address, "*", self.now, "bounce")


def _delivery(state: State, delivery_id: int) -> tuple[int, str, str, str] | None:
    return state.db.execute(
        "SELECT id, member_id, address, mailing_id FROM deliveries WHERE id = ? AND address IS NOT NULL",
        (delivery_id,),
    ).fetchone()


def _last_delivery_to(state: State, address: str) -> tuple[int, str, str, str] | None:
    """The latest message that went to an address (a bounce for one we never mailed is ignored)."""
    return state.db.execute(
        "SELECT id, member_id, address, mailing_id FROM deliveries WHERE address = ? "
        "AND status IN ('sent', 'bounced') ORDER BY id DESC LIMIT 1",
        (address.casefold(),),
    ).fetchone()
