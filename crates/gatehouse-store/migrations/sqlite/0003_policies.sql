-- Versions of the Cedar policy set (AZ-5). Append-only: a change, and a rollback,
-- is a new version; the active set is the newest.
CREATE TABLE policy_versions (
    version          INTEGER PRIMARY KEY,
    text             TEXT    NOT NULL,
    sha256           BLOB    NOT NULL,
    author           TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    created_at_us    INTEGER NOT NULL,
    rolled_back_from INTEGER
);

CREATE TRIGGER policy_versions_no_update BEFORE UPDATE ON policy_versions
BEGIN SELECT RAISE(ABORT, 'policy versions are append-only'); END;
CREATE TRIGGER policy_versions_no_delete BEFORE DELETE ON policy_versions
BEGIN SELECT RAISE(ABORT, 'policy versions are append-only'); END;
