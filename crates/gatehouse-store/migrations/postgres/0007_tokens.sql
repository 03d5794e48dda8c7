-- Signing keys (TK-2): the public half as a JWK, the private half sealed under a
-- key-encryption key that is never in the database. A retired key's sealed half
-- is wiped. At most one key is `current` and one `next`.
CREATE TABLE signing_keys (
    kid               TEXT    PRIMARY KEY NOT NULL,
    algorithm         TEXT    NOT NULL CHECK (algorithm IN ('EdDSA', 'ES256', 'RS256')),
    state             TEXT    NOT NULL CHECK (state IN ('next', 'current', 'previous', 'retired')),
    public_jwk        TEXT    NOT NULL,
    sealed_private    BYTEA   NOT NULL,
    created_at_us     BIGINT  NOT NULL,
    activated_at_us   BIGINT,
    verifies_until_us BIGINT,
    retired_at_us     BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next';

-- OAuth 2.0 clients (ID-10). Secrets are stored as SHA-256 only; the one a
-- rotation replaced is accepted until previous_secret_until_us. Tokens issued
-- before tokens_valid_after_us are refused (revoking all of a client's tokens).
CREATE TABLE oauth_clients (
    id                       TEXT    PRIMARY KEY NOT NULL,
    name                     TEXT    NOT NULL,
    is_confidential          BOOLEAN NOT NULL,
    role                     TEXT    NOT NULL,
    grants                   TEXT    NOT NULL,
    scopes                   TEXT    NOT NULL,
    redirect_uris            TEXT    NOT NULL,
    status                   TEXT    NOT NULL CHECK (status IN ('active', 'disabled')),
    secret_hash              BYTEA,
    previous_secret_hash     BYTEA,
    previous_secret_until_us BIGINT,
    tokens_valid_after_us    BIGINT  NOT NULL,
    created_at_us            BIGINT  NOT NULL,
    created_by               TEXT    NOT NULL,
    updated_at_us            BIGINT  NOT NULL
);
CREATE INDEX oauth_clients_created ON oauth_clients (created_at_us, id);

-- What every replica must learn within a second (TK-5): a revoked token (its
-- jti), a client whose tokens were all revoked, a changed key set. Replicas poll
-- it; an entry is only needed until not_after_us (the longest a token it
-- concerns can live), then it may be pruned.
CREATE TABLE token_events (
    seq          BIGSERIAL PRIMARY KEY,
    kind         TEXT    NOT NULL CHECK (kind IN ('token', 'client', 'keys')),
    subject      TEXT    NOT NULL,
    not_after_us BIGINT  NOT NULL,
    at_us        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX token_events_token ON token_events (subject) WHERE kind = 'token';
CREATE INDEX token_events_at ON token_events (at_us);
