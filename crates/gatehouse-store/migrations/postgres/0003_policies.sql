-- Versions of the Cedar policy set (AZ-5). Append-only: a change, and a rollback,
-- is a new version; the active set is the newest.
CREATE TABLE policy_versions (
    version          BIGINT  PRIMARY KEY,
    text             TEXT    NOT NULL,
    sha256           BYTEA   NOT NULL,
    author           TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    created_at_us    BIGINT  NOT NULL,
    rolled_back_from BIGINT
);

CREATE FUNCTION policy_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'policy versions are append-only';
END
$$;
CREATE TRIGGER policy_versions_append_only BEFORE UPDATE OR DELETE ON policy_versions
    FOR EACH ROW EXECUTE FUNCTION policy_versions_append_only();
CREATE TRIGGER policy_versions_no_truncate BEFORE TRUNCATE ON policy_versions
    FOR EACH STATEMENT EXECUTE FUNCTION policy_versions_append_only();
