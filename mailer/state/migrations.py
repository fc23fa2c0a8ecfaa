"""The schema, one numbered step at a time; `database.connect` applies what a file lacks.

Never edit a step that has shipped: add the next one. Step 1 is the schema of the first
release, whose files carry no version number: it only creates what is missing, so it runs
on them as on an empty file. Steps 1 to 4 are in `migrations_early`.
"""

from mailer.state.migrations_early import V1, V2_MEMBER_STORE, V3_WHAT_COMES_BACK, V4_VERIFIED_AND_PUBLIC

V5_NOTICES = """
-- Messages to one person, now (see state/notices.py): what each pending delivery of kind
-- `notice` says, kept until it is sent or given up, so any process can send it after a crash.
CREATE TABLE IF NOT EXISTS notices (
    delivery_id INTEGER PRIMARY KEY,
    category TEXT NOT NULL,
    template TEXT NOT NULL,
    subject TEXT NOT NULL,
    context TEXT NOT NULL,
    calendar TEXT,
    expires_at TEXT
);
"""

V5_REGISTRATIONS = """
-- Who signed up for an event (see state/registrations.py). `person` is a member's id or a
-- guest's made-up one, never an address; `answers` (JSON) is emptied when they are erased.
CREATE TABLE IF NOT EXISTS registrations (
    id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    person TEXT NOT NULL,
    guest INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    answers TEXT,
    created_at TEXT NOT NULL,
    placed_at TEXT,
    updated_at TEXT NOT NULL,
    confirm_by TEXT
);
-- One standing registration per person and event: a second submit cannot add a second one.
CREATE UNIQUE INDEX IF NOT EXISTS registrations_standing ON registrations (event, person)
    WHERE status IN ('unconfirmed', 'placed', 'waiting', 'offered');
CREATE INDEX IF NOT EXISTS registrations_event ON registrations (event, status);
-- The waiting list (state/waitlist.py): the order people joined it, and the offer each had.
CREATE TABLE IF NOT EXISTS waitlist (
    registration_id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    joined_at TEXT NOT NULL,
    offered_at TEXT,
    offer_expires_at TEXT,
    left_at TEXT,
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS waitlist_order ON waitlist (event, joined_at, registration_id);
-- Who was checked in at the door (state/checkins.py), by which board member.
CREATE TABLE IF NOT EXISTS checkins (
    registration_id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    checked_in_at TEXT NOT NULL,
    checked_in_by TEXT NOT NULL
);
"""

V5_EVENTS = V5_NOTICES + V5_REGISTRATIONS
"""Step 5 (issue 20): notices, then the events' registrations, waiting list and check-ins."""

V6_PREFERENCES = """
-- Step 6 (issue 21): members' own choices. Categories turned off are suppressions as before;
-- this adds the consent log, a language and a pause per address, re-subscriptions waiting for
-- their confirmation by mail, and the requests that send a member a message (rate-limited).
CREATE TABLE consent_log (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    category TEXT NOT NULL,
    action TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consent_log_address ON consent_log (address, id);
-- the log starts with the suppressions that exist (those of erased people under their hash)
INSERT INTO consent_log (address, category, action, source, at)
    SELECT address, category, 'unsubscribed', source, created_at FROM suppressions ORDER BY created_at;
INSERT INTO consent_log (address, category, action, source, at)
    SELECT 'hash:' || digest, category, 'unsubscribed', 'erased', created_at FROM suppression_hashes
    ORDER BY created_at;
CREATE TABLE member_preferences (
    address TEXT PRIMARY KEY,
    language TEXT,
    paused_until TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE resubscriptions (
    id INTEGER PRIMARY KEY,
    nonce TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    member_id TEXT NOT NULL,
    categories TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    confirmed_at TEXT
);
CREATE INDEX resubscriptions_address ON resubscriptions (address);
CREATE TABLE member_requests (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    requested_at TEXT NOT NULL
);
CREATE INDEX member_requests_address ON member_requests (address, kind, requested_at);
"""

V7_CLAIMS = """
-- Several senders on one database (PostgreSQL): which sender holds an open delivery, and until
-- when (a wall-clock UTC stamp). A sender that dies lets its claims run out; see state/claims.py.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE deliveries ADD COLUMN claimed_until TEXT;
"""

V8_EVENT_CHANGES = """
-- What each registrant was last told of their event's time and place (start, end, location,
-- join link, as JSON) and their calendar entry's SEQUENCE, so a change in schedules.yaml is
-- announced once (state/event_changes.py); and the events called off as a whole, with why.
CREATE TABLE IF NOT EXISTS registration_told (
    registration_id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    fields TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    told_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS registration_told_event ON registration_told (event);
CREATE TABLE IF NOT EXISTS event_calloffs (
    event TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    called_off_at TEXT NOT NULL
);
"""

V9_OPEN_IN_ORDER = """
-- The open deliveries by mailing, in the order they were planned: a sender claims the first
-- page of them (state/claims.py). PostgreSQL found them all and sorted them at every claim
-- (13 ms for a page of 100 at 10,000 members, 0.3 ms with the order in the index); SQLite's
-- index held the order already (its rowid), so for it nothing changes.
DROP INDEX IF EXISTS deliveries_open;
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (mailing_id, id)
    WHERE status IN ('pending', 'sending', 'deferred');
"""

V10_WAITING_LIST_ORDER = """
-- The waiting list's order is the order people joined it, counted inside the transaction that
-- adds them (state/waitlist.py). A time taken before that transaction, in whole seconds, put two
-- people registering at once both first in line, and nobody fourth.
ALTER TABLE waitlist ADD COLUMN place_in_line INTEGER;
UPDATE waitlist SET place_in_line = (
    SELECT count(*) FROM waitlist AS earlier WHERE earlier.event = waitlist.event
    AND (earlier.joined_at < waitlist.joined_at
         OR (earlier.joined_at = waitlist.joined_at AND earlier.registration_id <= waitlist.registration_id))
);
CREATE INDEX IF NOT EXISTS waitlist_line ON waitlist (event, place_in_line);
DROP INDEX IF EXISTS waitlist_order;
"""

V11_WITHDRAWN_BY_HAND = """
-- An issue the board took off the public archive by hand (`mailer archive withdraw`): when, and
-- the board member's name. Every language row of the issue carries it, and a later run of the
-- same issue keeps it (state/archive.py): only `mailer archive publish` clears it, and records
-- when and by whom it was published again.
ALTER TABLE archive ADD COLUMN withdrawn_at TEXT;
ALTER TABLE archive ADD COLUMN withdrawn_by TEXT;
ALTER TABLE archive ADD COLUMN published_again_at TEXT;
ALTER TABLE archive ADD COLUMN published_again_by TEXT;
"""


# Steps being written in parallel (keep these numbers when merging): 4 what comes back is
# verified and what is published is meant for everyone (issue 23), 5 events with places and a
# waiting list (issue 20), 6 members' own preferences and the consent log (issue 21), 7 the
# senders' claims (issue 22). No file has shipped with any of 4-7 yet, so they stand in their
# numbered order.
#
# Every step is one SQL text that runs on SQLite and on PostgreSQL, in one transaction with the
# others a database lacks (see the README, "New migration steps"): CREATE TABLE / CREATE INDEX
# (IF NOT EXISTS), DROP INDEX IF EXISTS, ALTER TABLE … ADD COLUMN, columns TEXT, INTEGER
# (booleans 0/1) and REAL; an auto-numbered key is `id INTEGER PRIMARY KEY` (PostgreSQL: an
# identity column). Never AUTOINCREMENT, PRAGMA, WITHOUT ROWID, functions or triggers; never
# edit a step that shipped.
MIGRATIONS: list[str] = [
    V1,
    V2_MEMBER_STORE,
    V3_WHAT_COMES_BACK,
    V4_VERIFIED_AND_PUBLIC,
    V5_EVENTS,
    V6_PREFERENCES,
    V7_CLAIMS,
    V8_EVENT_CHANGES,  # an event changed or called off after people registered (branch eventchange)
    V9_OPEN_IN_ORDER,
    V10_WAITING_LIST_ORDER,
    V11_WITHDRAWN_BY_HAND,
]
