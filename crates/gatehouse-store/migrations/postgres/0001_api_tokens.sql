-- API tokens (PRODUCT.md ID-10). The secret is never stored: only its SHA-256.
-- Times are unix microseconds (UTC) on both backends, so ordering and arithmetic
-- are identical on SQLite and PostgreSQL.
CREATE TABLE api_tokens (
    id            UUID    PRIMARY KEY NOT NULL,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    secret_hash   BYTEA   NOT NULL UNIQUE,
    created_at_us BIGINT  NOT NULL,
    expires_at_us BIGINT  NOT NULL,
    revoked_at_us BIGINT,
    created_by    UUID    REFERENCES api_tokens (id)
);
CREATE INDEX api_tokens_created ON api_tokens (created_at_us, id);
