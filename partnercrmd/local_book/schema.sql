CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    job_title TEXT NOT NULL DEFAULT '',
    emails TEXT NOT NULL DEFAULT '[]',
    address TEXT NOT NULL DEFAULT '',
    notes TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    picture_mime TEXT,
    picture BLOB,
    custom TEXT NOT NULL DEFAULT '{}',
    search_text TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    -- Schema 3 (an older book gains these by ALTER TABLE, then their indexes: see store.py):
    -- the identity the imported file gave the contact (vCard UID, CSV id column), NULL if none;
    source_uid TEXT,
    -- a digest of its normalised content, to skip exact duplicates on import.
    content_key TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS contacts_sort ON contacts (display_name COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS phones (
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    tail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS phones_tail ON phones (tail);
CREATE INDEX IF NOT EXISTS phones_contact ON phones (contact_id);
CREATE TABLE IF NOT EXISTS activities (
    id TEXT PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    direction TEXT NOT NULL,
    start_utc TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_contact ON activities (contact_id, start_utc DESC);
