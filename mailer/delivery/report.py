"""What one run did for one mailing: the counts and the line the command prints for it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Report:
    """What one run did for one mailing."""

    mailing_id: str
    planned: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    dropped: int = 0
    expired: int = 0
    still_open: int = 0
    slowed: int = 0
    note: str = ""
    server_lost: bool = False

    @property
    def anything(self) -> bool:
        return any((self.planned, self.sent, self.deferred, self.failed, self.dropped, self.expired))

    def line(self) -> str:
        parts = [f"{self.sent} sent"]
        for name in ("deferred", "failed", "dropped", "expired"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name}")
        if self.still_open:
            parts.append(f"{self.still_open} still to send")
        text = f"{self.mailing_id}: " + ", ".join(parts)
        notes = [self.note] if self.note else []
        if self.slowed:
            notes.append(f"slowed down {self.slowed} time(s) at the server's request")
        return text + (f" ({'; '.join(notes)})" if notes else "")

    def as_json(self) -> dict[str, object]:
        """The run's own counts (`accounting.Accounting.as_json` adds why the rest got nothing)."""
        return {
            "mailing": self.mailing_id,
            "sent": self.sent,
            "deferred": self.deferred,
            "failed_in_run": self.failed,
            "dropped_in_run": self.dropped,
            "expired_in_run": self.expired,
            "still_to_send": self.still_open,
            "note": self.note or None,
        }
