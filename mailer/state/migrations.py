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

MIGRATIONS: list[str] = [V1, V2_MEMBER_STORE]
