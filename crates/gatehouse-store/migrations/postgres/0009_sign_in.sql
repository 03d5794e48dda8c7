-- Credentials (ID-4, ID-6): a password's Argon2id PHC string, a TOTP secret
-- (sealed by the server before it gets here), the recovery codes' HMACs (a
-- JSON array). At most one of each kind per user.
CREATE TABLE user_credentials (
    user_id       TEXT    NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('password', 'totp', 'recovery')),
    secret        BYTEA   NOT NULL,
    last_step     BIGINT,
    is_confirmed  BOOLEAN NOT NULL,
    created_at_us BIGINT  NOT NULL,
    updated_at_us BIGINT  NOT NULL,
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
    created_at_us   BIGINT  NOT NULL,
    last_seen_at_us BIGINT  NOT NULL,
    ended_at_us     BIGINT,
    end_reason      TEXT
);
CREATE INDEX sessions_user ON sessions (user_id, created_at_us);

-- Refresh tokens (TK-4): only their SHA-256, one family per session; a spent
-- one presented again ends the session.
CREATE TABLE refresh_tokens (
    hash          BYTEA   PRIMARY KEY NOT NULL,
    session_id    TEXT    NOT NULL REFERENCES sessions (id),
    issued_at_us  BIGINT  NOT NULL,
    expires_at_us BIGINT  NOT NULL,
    spent_at_us   BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Replicas also learn of ended sessions (every token of the session refused)
-- and of users cut off (locked, disabled, password changed: every token issued
-- to them until then refused).
ALTER TABLE token_events DROP CONSTRAINT token_events_kind_check;
ALTER TABLE token_events ADD CONSTRAINT token_events_kind_check
    CHECK (kind IN ('token', 'client', 'keys', 'session', 'user'));
