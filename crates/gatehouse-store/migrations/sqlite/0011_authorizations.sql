-- Authorization requests (TK-6): a client sent a person to /oauth2/authorize.
-- Only the SHA-256 of the request id (in the hosted page's form) and of the
-- browser's cookie are kept. The row then records who signed in and how, the
-- code issued (its SHA-256, good until code_expires_at_us) with the session
-- it will open, and the exchange: once only, and a second try ends that
-- session (RFC 6749 §4.1.2).
CREATE TABLE authorizations (
    id_hash            BLOB   PRIMARY KEY NOT NULL,
    browser_hash       BLOB   NOT NULL,
    client_id          TEXT    NOT NULL,
    redirect_uri       TEXT    NOT NULL,
    scope              TEXT    NOT NULL,
    state              TEXT,
    nonce              TEXT,
    code_challenge     TEXT    NOT NULL,
    source_ip          TEXT    NOT NULL,
    user_agent         TEXT    NOT NULL,
    created_at_us      INTEGER NOT NULL,
    expires_at_us      INTEGER NOT NULL,
    user_id            TEXT    REFERENCES users (id),
    amr                TEXT,
    auth_time_us       INTEGER,
    code_hash          BLOB   UNIQUE,
    code_expires_at_us INTEGER,
    session_id         TEXT,
    exchanged_at_us    INTEGER
);
CREATE INDEX authorizations_expiry ON authorizations (expires_at_us);

-- A sign-in challenge started on the hosted page belongs to its request, and
-- only that page may finish it (and the API only challenges of its own).
ALTER TABLE challenges ADD COLUMN authorization_hash BLOB;

-- The client a session's tokens are issued to ('gatehouse': signed in
-- through /v1/auth directly) and the scopes they are limited to.
ALTER TABLE sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT 'gatehouse';
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT '';
