-- Credentials (ID-4, ID-6): a password's Argon2id PHC string, a TOTP secret
-- (sealed by the server before it gets here), the recovery codes' HMACs (a
-- JSON array). At most one of each kind per user.
CREATE TABLE user_credentials (
    user_id       TEXT    NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('password', 'totp', 'recovery')),
    secret        BLOB    NOT NULL,
    last_step     INTEGER,
    is_confirmed  BOOLEAN NOT NULL,
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Sessions (ID-9): one per sign-in; `amr` names the factors used (a JSON
-- array). An ended session keeps its row and its reason.
CREATE TABLE sessions (
    id              TEXT    PRIMARY KEY NOT NULL,
    user_id         TEXT    NOT NULL REFERENCES users (id),
    amr             TEXT    NOT NULL,
    source_ip       TEXT    NOT NULL,
    user_agent      TEXT    NOT NULL,
    created_at_us   INTEGER NOT NULL,
    last_seen_at_us INTEGER NOT NULL,
    ended_at_us     INTEGER,
    end_reason      TEXT
);
CREATE INDEX sessions_user ON sessions (user_id, created_at_us);

-- Refresh tokens (TK-4): only their SHA-256, one family per session; a spent
-- one presented again ends the session.
CREATE TABLE refresh_tokens (
    hash          BLOB    PRIMARY KEY NOT NULL,
    session_id    TEXT    NOT NULL REFERENCES sessions (id),
    issued_at_us  INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL,
    spent_at_us   INTEGER
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Replicas also learn of ended sessions (every token of the session refused)
-- and of users cut off (locked, disabled, password changed: every token issued
-- to them until then refused). SQLite cannot change a CHECK: the table is
-- rebuilt with its rows.
CREATE TABLE token_events_next (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT    NOT NULL CHECK (kind IN ('token', 'client', 'keys', 'session', 'user')),
    subject      TEXT    NOT NULL,
    not_after_us INTEGER NOT NULL,
    at_us        INTEGER NOT NULL
);
INSERT INTO token_events_next (seq, kind, subject, not_after_us, at_us)
    SELECT seq, kind, subject, not_after_us, at_us FROM token_events;
-- Keep the high-water mark: replicas poll after the last seq they read, so the
-- numbers of pruned events must never be given out again.
DELETE FROM sqlite_sequence WHERE name = 'token_events_next';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'token_events_next', seq FROM sqlite_sequence WHERE name = 'token_events';
DROP TABLE token_events;
ALTER TABLE token_events_next RENAME TO token_events;
CREATE UNIQUE INDEX token_events_token ON token_events (subject) WHERE kind = 'token';
CREATE INDEX token_events_at ON token_events (at_us);
