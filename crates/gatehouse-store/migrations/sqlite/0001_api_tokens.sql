-- API tokens (PRODUCT.md ID-10). The secret is never stored: only its SHA-256.
-- Times are unix microseconds (UTC) on both backends, so ordering and arithmetic
-- are identical on SQLite and PostgreSQL.
CREATE TABLE api_tokens (
    id            BLOB    PRIMARY KEY NOT NULL,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    secret_hash   BLOB    NOT NULL UNIQUE,
    created_at_us INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL,
    revoked_at_us INTEGER,
    created_by    BLOB    REFERENCES api_tokens (id)
);
CREATE INDEX api_tokens_created ON api_tokens (created_at_us, id);
