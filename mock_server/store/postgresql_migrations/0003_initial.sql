-- The PostgreSQL schema at version 3 (the version of the SQLite schema it mirrors, see
-- mock_server/store/sqlite.py). A later version is a new file NNNN_what.sql, applied in order
-- once by whichever instance starts first (mock_server/store/postgresql.py).
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    clock_offset DOUBLE PRECISION NOT NULL DEFAULT 0,
    fixtures_version INTEGER NOT NULL DEFAULT 0,
    fixtures_json TEXT NOT NULL DEFAULT '{}',  -- every secret_key as its digest (store.secret_digest)
    scenarios_version INTEGER NOT NULL DEFAULT 0,
    secret_digest_key TEXT NOT NULL DEFAULT ''
);
INSERT INTO meta (id) VALUES (1);
CREATE TABLE balances (api_key TEXT PRIMARY KEY, balance DOUBLE PRECISION NOT NULL);
CREATE TABLE quota_use (oaid TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (oaid, day));
CREATE TABLE request_ids (api_key TEXT NOT NULL, request_id TEXT NOT NULL,
    accepted_at DOUBLE PRECISION NOT NULL, smsid TEXT, PRIMARY KEY (api_key, request_id));
CREATE TABLE messages (
    seq BIGSERIAL PRIMARY KEY,
    smsid TEXT NOT NULL UNIQUE,
    api_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    type_id INTEGER NOT NULL,
    oaid TEXT,
    template_id TEXT,
    campaign TEXT,
    request_id TEXT,
    callback_url TEXT,
    sandbox INTEGER NOT NULL,
    accepted_at DOUBLE PRECISION NOT NULL,
    send_at DOUBLE PRECISION NOT NULL,
    final_at DOUBLE PRECISION NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    body_json TEXT NOT NULL,
    extra_json TEXT NOT NULL DEFAULT '{}',
    recipient TEXT NOT NULL,
    recipient_key TEXT NOT NULL,
    outcome_json TEXT NOT NULL,
    price DOUBLE PRECISION NOT NULL,
    telcoid INTEGER NOT NULL,
    network TEXT NOT NULL,
    zalo_msg_id TEXT NOT NULL
);
CREATE INDEX messages_by_time ON messages (api_key, type_id, accepted_at);
CREATE INDEX messages_by_recipient ON messages (recipient_key);
CREATE INDEX messages_by_zalo_id ON messages (zalo_msg_id);
CREATE TABLE callbacks (
    id BIGSERIAL PRIMARY KEY,  -- never reused: an attempt in flight during a reset must not land on a new row
    smsid TEXT NOT NULL,
    url TEXT NOT NULL,
    query TEXT NOT NULL,
    due_at DOUBLE PRECISION NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX callbacks_due ON callbacks (state, next_attempt_at);
CREATE INDEX callbacks_by_smsid ON callbacks (smsid);
CREATE TABLE callback_attempts (
    id BIGSERIAL PRIMARY KEY,
    callback_id BIGINT NOT NULL,
    attempt INTEGER NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms DOUBLE PRECISION NOT NULL
);
CREATE INDEX callback_attempts_by_callback ON callback_attempts (callback_id);
CREATE TABLE otps (id BIGSERIAL PRIMARY KEY, api_key TEXT NOT NULL, phone TEXT NOT NULL, code TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL, used INTEGER NOT NULL DEFAULT 0, smsid TEXT NOT NULL);
CREATE TABLE registrations (id BIGSERIAL PRIMARY KEY, api_key TEXT NOT NULL, kind TEXT NOT NULL,
    fingerprint TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, UNIQUE (api_key, kind, fingerprint));
CREATE TABLE scenarios (id BIGSERIAL PRIMARY KEY, spec_json TEXT NOT NULL, remaining INTEGER,
    created_at DOUBLE PRECISION NOT NULL, hits INTEGER NOT NULL DEFAULT 0);
