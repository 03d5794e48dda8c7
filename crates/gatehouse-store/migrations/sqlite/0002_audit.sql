-- The audit trail (PRODUCT.md AU-1, AU-2, AU-5). `seq` is the chain position and
-- the rowid; `hash` = SHA-256 over the previous hash, seq and the canonical
-- encoding of every other column (gatehouse-audit). Each filterable column has a
-- (column, seq) index so a filtered page is an index range scan in seq order.
CREATE TABLE audit_records (
    seq           INTEGER PRIMARY KEY NOT NULL,
    hash          BLOB    NOT NULL,
    time_us       INTEGER NOT NULL,
    event_id      TEXT,
    actor_kind    TEXT    NOT NULL,
    actor_id      TEXT    NOT NULL,
    actor_name    TEXT    NOT NULL,
    on_behalf_of  TEXT,
    action        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    resource_id   TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    status        INTEGER NOT NULL,
    source_ip     TEXT    NOT NULL,
    user_agent    TEXT    NOT NULL,
    request_id    TEXT    NOT NULL,
    before_json   TEXT,
    after_json    TEXT,
    details_json  TEXT
);
CREATE INDEX audit_records_time     ON audit_records (time_us);
CREATE INDEX audit_records_actor    ON audit_records (actor_id, seq);
CREATE INDEX audit_records_action   ON audit_records (action, seq);
CREATE INDEX audit_records_resource ON audit_records (resource_type, resource_id, seq);
CREATE INDEX audit_records_outcome  ON audit_records (outcome, seq);
CREATE INDEX audit_records_source   ON audit_records (source_ip, seq);
CREATE INDEX audit_records_request  ON audit_records (request_id);
-- Idempotent ingestion: one event id per actor (event id first: a batch's ids are
-- looked up in one probe whatever the actors).
CREATE UNIQUE INDEX audit_records_event ON audit_records (event_id, actor_id)
    WHERE event_id IS NOT NULL;

-- Append-only in the database too. Someone with write access to the file can drop
-- these; the hash chain and the signed checkpoints are what catch that.
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;

-- Signed checkpoints: the head at `seq`, signed with a key kept outside the database.
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY NOT NULL,
    head      BLOB    NOT NULL,
    time_us   INTEGER NOT NULL,
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;

-- Requests the pipeline refused (GW-6).
CREATE TABLE blocked_requests (
    id         INTEGER PRIMARY KEY NOT NULL,
    time_us    INTEGER NOT NULL,
    reason     TEXT    NOT NULL,
    source_ip  TEXT    NOT NULL,
    identity   TEXT,
    method     TEXT    NOT NULL,
    route      TEXT    NOT NULL,
    status     INTEGER NOT NULL,
    request_id TEXT    NOT NULL
);
CREATE INDEX blocked_requests_time     ON blocked_requests (time_us);
CREATE INDEX blocked_requests_reason   ON blocked_requests (reason, id);
CREATE INDEX blocked_requests_source   ON blocked_requests (source_ip, id);
CREATE INDEX blocked_requests_identity ON blocked_requests (identity, id);
CREATE INDEX blocked_requests_route    ON blocked_requests (route, id);
