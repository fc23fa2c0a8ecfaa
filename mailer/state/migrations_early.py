"""The schema's first four steps, as they shipped (see `migrations`): never edited, only read.

They are kept apart so that `migrations` stays short as steps are added.
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
