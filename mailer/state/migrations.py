"""The schema, one numbered step at a time; `database.connect` applies what a file lacks.

Never edit a step that has shipped: add the next one. Step 1 is the schema of the first
release, whose files carry no version number: it only creates what is missing, so it runs
on them as on an empty file.
"""

V1 = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    mailing_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    address TEXT,
    member TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_attempt_at TEXT,
    next_attempt_at TEXT,
    last_reply TEXT,
    message_id TEXT,
    UNIQUE (mailing_id, member_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_address ON deliveries (mailing_id, address);
-- Partial indexes: a delivery enters the first while it is open and the second once, when sent,
-- so the two writes per message touch few index entries. Queries repeat the WHERE to use them.
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries (mailing_id)
    WHERE status IN ('pending', 'sending', 'deferred');
CREATE INDEX IF NOT EXISTS deliveries_sent_at ON deliveries (updated_at) WHERE status = 'sent';
CREATE INDEX IF NOT EXISTS deliveries_member ON deliveries (member_id);
CREATE TABLE IF NOT EXISTS mailings (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    series TEXT NOT NULL,
    first_planned_at TEXT NOT NULL,
    planned_inputs TEXT,
    closes_at TEXT,
    expires_at TEXT
);
CREATE TABLE IF NOT EXISTS previews (
    mailing_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    previewed_at TEXT NOT NULL,
    PRIMARY KEY (mailing_id, fingerprint)
);
CREATE TABLE IF NOT EXISTS approvals (
    id INTEGER PRIMARY KEY,
    mailing_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    UNIQUE (mailing_id, fingerprint, approved_by)
);
CREATE TABLE IF NOT EXISTS suppressions (
    address TEXT NOT NULL,
    category TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (address, category)
);
CREATE TABLE IF NOT EXISTS events (
    uid TEXT PRIMARY KEY,
    series TEXT NOT NULL,
    occurrence TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    digest TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    cancelled INTEGER NOT NULL DEFAULT 0,
    announced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS member_register (
    member_id TEXT PRIMARY KEY,
    address TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    gone_since TEXT
);
CREATE TABLE IF NOT EXISTS erased_counts (
    mailing_id TEXT NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (mailing_id, status)
);
CREATE TABLE IF NOT EXISTS rsvps (
    occurrence TEXT NOT NULL,
    member_id TEXT NOT NULL,
    answer TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    PRIMARY KEY (occurrence, member_id)
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

V2_MEMBER_STORE = """
-- The member export as last imported (see state/members.py): one row a valid member, in
-- export order, and the row problems the import found, so nothing re-reads the files.
CREATE TABLE members (
    position INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX members_address ON members (address);
CREATE TABLE member_problems (
    position INTEGER PRIMARY KEY,
    place TEXT NOT NULL,
    message TEXT NOT NULL,
    skipped INTEGER NOT NULL
);
-- Unsubscribes of people who were erased: a keyed hash of the address, never the address.
CREATE TABLE suppression_hashes (
    digest TEXT NOT NULL,
    category TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (digest, category)
);
"""

V3_WHAT_COMES_BACK = """
-- Who came to a meeting (a Teams report or a secretary's list), and who could not be matched.
CREATE TABLE IF NOT EXISTS attendance (
    occurrence TEXT NOT NULL,
    member_id TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (occurrence, member_id)
);
CREATE TABLE IF NOT EXISTS attendance_unmatched (
    occurrence TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (occurrence, name, email)
);
-- The chapter leader's daily notice of new members: once per new member.
CREATE TABLE IF NOT EXISTS chapter_notices (
    member_id TEXT PRIMARY KEY,
    notice_id TEXT NOT NULL,
    noted_at TEXT NOT NULL
);
-- Consultation answers, every version kept; `stands` marks the one that counts.
CREATE TABLE IF NOT EXISTS consultation_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    consultation TEXT NOT NULL,
    unit TEXT NOT NULL,
    based_on INTEGER NOT NULL,
    member_id TEXT NOT NULL,
    member_name TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    answers TEXT NOT NULL,
    stands INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS consultation_answers_unit
    ON consultation_answers (consultation, unit, stands, id);
-- The public copy of each sent newsletter (no personal data) for /arkiv.
CREATE TABLE IF NOT EXISTS archive (
    mailing_id TEXT NOT NULL,
    language TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    PRIMARY KEY (mailing_id, language)
);
-- Bounces and complaints, and the messages already read (never counted twice).
CREATE TABLE IF NOT EXISTS bounce_events (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    member_id TEXT,
    mailing_id TEXT,
    delivery_id INTEGER,
    kind TEXT NOT NULL,
    status TEXT,
    reason TEXT NOT NULL,
    source TEXT NOT NULL,
    message_key TEXT,
    received_at TEXT NOT NULL,
    cleared_at TEXT
);
CREATE INDEX IF NOT EXISTS bounce_events_address ON bounce_events (address, received_at);
CREATE UNIQUE INDEX IF NOT EXISTS bounce_events_refused ON bounce_events (delivery_id)
    WHERE source = 'smtp';
CREATE TABLE IF NOT EXISTS bounce_messages (
    message_key TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    read_at TEXT NOT NULL
);
"""

V4_VERIFIED_AND_PUBLIC = """
-- A bounce without a valid VERP token proves itself by a Message-ID of ours: found by this index.
CREATE INDEX deliveries_message_id ON deliveries (message_id) WHERE message_id IS NOT NULL;
-- Bounces and complaints that prove nothing (no token of ours, no Message-ID of ours for the
-- address they name): kept for the secretary to look at, never suppressing anyone.
CREATE TABLE unverified_bounces (
    id INTEGER PRIMARY KEY,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT,
    reason TEXT NOT NULL,
    why TEXT NOT NULL,
    source TEXT NOT NULL,
    message_key TEXT,
    received_at TEXT NOT NULL
);
CREATE INDEX unverified_bounces_address ON unverified_bounces (address);
-- Whether an archived issue is published: 1 meant for everyone, 0 withdrawn. Issues archived
-- before this step are NULL, hidden until their draft is judged again (state/archive.py).
ALTER TABLE archive ADD COLUMN public INTEGER;
-- The receipt a leader gets when an answer is saved through their link (one per version).
-- NULL: not yet handled; then the receipt's mailing id, or '-' when none is due. Answers saved
-- before this step get none.
ALTER TABLE consultation_answers ADD COLUMN receipt TEXT;
UPDATE consultation_answers SET receipt = '-';
"""

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
