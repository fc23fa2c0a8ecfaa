"""What a member chose on their preference page besides categories: a language, a pause.

Keyed by address, as suppressions are: the choices belong to the mailbox the mail goes to. The
language overrides the export's `målform` for what is sent to the address; the export stays
the source of truth for everything else. A pause holds back everything optional until a
moment it names, and ends by the clock: nothing has to run for it to end.

Each change writes the choice and its consent-log entry: call them inside a transaction (a
change that reads first takes the `member_preferences` lock there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailer.state import consent
from mailer.state.connection import Connection
from mailer.state.consent import ConsentLog
from mailer.state.database import stamp, unstamp

LANGUAGES = ("nb", "nn")


@dataclass(frozen=True)
class Choice:
    language: str | None
    paused_until: dt.datetime | None
    updated_at: str

    def paused_at(self, now: dt.datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until


class Preferences:
    def __init__(self, db: Connection):
        self.db = db
        self.log = ConsentLog(db)

    def of(self, address: str) -> Choice | None:
        row = self.db.execute(
            "SELECT language, paused_until, updated_at FROM member_preferences WHERE address = ?",
            (address.casefold(),),
        ).fetchone()
        return Choice(row[0], unstamp(row[1]), row[2]) if row else None

    def choose_language(self, address: str, language: str, now: dt.datetime, source: str) -> bool:
        """Returns whether it changed anything."""
        if language not in LANGUAGES:
            raise ValueError(f"not a language: {language}")
        self.db.lock("member_preferences")  # two saves at once: one log entry for one change
        current = self.of(address)
        if current is not None and current.language == language:
            return False
        self._upsert(address, "language", language, now)
        self.log.add(address, "", consent.LANGUAGE, now, source, language)
        return True

    def pause(self, address: str, until: dt.datetime, now: dt.datetime, source: str) -> None:
        self._upsert(address, "paused_until", stamp(until), now)
        self.log.add(address, "", consent.PAUSED, now, source, stamp(until))

    def resume(self, address: str, now: dt.datetime, source: str) -> bool:
        """End a pause now; returns whether one was running."""
        self.db.lock("member_preferences")
        current = self.of(address)
        if current is None or not current.paused_at(now):
            return False
        self._upsert(address, "paused_until", None, now)
        self.log.add(address, "", consent.RESUMED, now, source)
        return True

    def carry(self, old: str, new: str, now: dt.datetime) -> None:
        """A member's address changed in the export: their language and pause go with them,
        unless the new address has choices of its own."""
        chosen, mine = self.of(old), self.of(new)
        if chosen is None or mine is not None:
            return
        if chosen.language:
            self._upsert(new, "language", chosen.language, now)
            self.log.add(new, "", consent.LANGUAGE, now, "export", chosen.language)
        if chosen.paused_until is not None and chosen.paused_until > now:
            self._upsert(new, "paused_until", stamp(chosen.paused_until), now)
            self.log.add(new, "", consent.PAUSED, now, "export", stamp(chosen.paused_until))

    def _upsert(self, address: str, column: str, value: str | None, now: dt.datetime) -> None:
        assert column in ("language", "paused_until")
        self.db.execute(
            f"INSERT INTO member_preferences (address, {column}, updated_at) VALUES (?, ?, ?) "
            f"ON CONFLICT (address) DO UPDATE SET {column} = excluded.{column}, "
            "updated_at = excluded.updated_at",
            (address.casefold(), value, stamp(now)),
        )

    def paused(self, now: dt.datetime) -> frozenset[str]:
        """Addresses whose pause is running at `now`."""
        rows = self.db.execute(
            "SELECT address FROM member_preferences WHERE paused_until > ?", (stamp(now),)
        ).fetchall()
        return frozenset(r[0] for r in rows)

    def languages(self) -> dict[str, str]:
        """Address → the language its owner chose (only those who chose one)."""
        rows = self.db.execute(
            "SELECT address, language FROM member_preferences WHERE language IS NOT NULL"
        ).fetchall()
        return {a: lang for a, lang in rows}

    def all(self) -> dict[str, Choice]:
        rows = self.db.execute(
            "SELECT address, language, paused_until, updated_at FROM member_preferences ORDER BY address"
        ).fetchall()
        return {a: Choice(lang, unstamp(p), u) for a, lang, p, u in rows}

    def forget(self, address: str) -> None:
        self.db.execute("DELETE FROM member_preferences WHERE address = ?", (address.casefold(),))
