-- Version 4: the request journal (mock_server/store/request_log.py), as SQLite's schema 4 has it.
CREATE TABLE requests (
    id BIGSERIAL PRIMARY KEY,
    received_at DOUBLE PRECISION NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    operation TEXT,
    outcome TEXT NOT NULL,
    code TEXT,
    reason TEXT,
    field TEXT,
    http_status INTEGER NOT NULL,
    smsid TEXT,
    request_id TEXT,
    recipient TEXT,
    recipient_key TEXT,
    scope TEXT,
    forced TEXT,
    body TEXT NOT NULL,
    did_you_mean TEXT
);
CREATE TABLE journal_pruning (id INTEGER PRIMARY KEY CHECK (id = 1), pruned_at DOUBLE PRECISION NOT NULL);
INSERT INTO journal_pruning (id, pruned_at) VALUES (1, 0);
-- The pruning finds the oldest RequestIds by SQLite's implicit rowid; here a column of that name,
-- so that request_log.prune's SQL reads the same on both engines.
ALTER TABLE request_ids ADD COLUMN rowid BIGSERIAL;
