-- The blocked-request log is append-only like the audit trail (AU-2): nothing in
-- Gatehouse updates or deletes a refused request, and the database refuses it too.
-- Its hourly counts and totals are kept by the AFTER INSERT trigger, which these
-- leave alone. Someone with write access to the file can drop these triggers;
-- every refusal is also a record in the hash chain, which catches that.
CREATE TRIGGER blocked_requests_no_update BEFORE UPDATE ON blocked_requests
BEGIN SELECT RAISE(ABORT, 'blocked requests are append-only'); END;
CREATE TRIGGER blocked_requests_no_delete BEFORE DELETE ON blocked_requests
BEGIN SELECT RAISE(ABORT, 'blocked requests are append-only'); END;
